// The camt.054 link: the simulated bank reports deposits and cancellations as ISO 20022
// camt.054.001.08 debit/credit notifications, POSTed to the relay's `/v1/bank/camt054` as
// application/xml with the bank key (signed as the JSON link signs, target /v1/bank/camt054, when
// a signing secret is given). One message per notice, one Ntry per notice:
//
//   deposit       CRDT, BOOK; Ntry/AcctSvcrRef and TxDtls/Refs/AcctSvcrRef = the transaction id;
//                 TxDtls/RltdPties/Dbtr/Pty/Nm = the payer, CdtrAcct/Id/Othr/Id = the virtual
//                 number; Ntfctn/Acct = the mother account
//   cancellation  DBIT with RvslInd true; Ntry/AcctSvcrRef = its own transaction id,
//                 TxDtls/Refs/AcctSvcrRef = the cancelled deposit's
//
// The answer (ImportReport, docs/openapi.yaml) settles the notice: an item `booked` or
// `duplicate` acknowledges it, `refused` fails it with the item's code (except `not_found` for a
// cancellation: the deposit may not have arrived yet, it is sent again as over JSON), a skipped
// entry fails it too. ISO 20022 has no receivability inquiry: the pre-check goes over the JSON
// route POST /v1/bank/precheck.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relay_link.h"

namespace varelay::banksim {

// One Ntry of a notification.
struct CamtNotice {
  bool reversal = false;                // a cancellation: DBIT, RvslInd true
  std::string transaction_id;           // Ntry/AcctSvcrRef
  std::string original_transaction_id;  // a reversal: TxDtls/Refs/AcctSvcrRef
  std::string number;                   // the virtual number: TxDtls/RltdPties/CdtrAcct
  std::string payer_name;               // TxDtls/RltdPties/Dbtr/Pty/Nm; omitted when empty
  std::string mother_account;           // Ntfctn/Acct
  Money amount{0, Currency::Krw()};
  Instant booked_at{};  // BookgDt/DtTm in Korean time, whole seconds
};

CamtNotice CamtNoticeFor(const DepositMessage& message);
CamtNotice CamtNoticeFor(const CancellationMessage& message);

// A camt.054.001.08 Document (UTF-8): GrpHdr with `message_id` (at most 35 characters) and
// `created_at`, one Ntfctn per run of notices to the same mother account, one Ntry per notice.
std::string RenderCamt054(const std::vector<CamtNotice>& notices, std::string_view message_id,
                          Instant created_at);

// What the relay's ImportReport (the body of a 200 answer) says about the notice
// `transaction_id`.
LinkResult<NoticeReceipt> ReceiptFromImportReport(std::string_view report,
                                                  std::string_view transaction_id,
                                                  bool cancellation);

class Camt054RelayLink final : public RelayLink {
 public:
  // Fails (kInvalidField) when the URL is not http://HOST:PORT.
  static Result<std::unique_ptr<Camt054RelayLink>> Create(JsonLinkOptions options);

  // Over JSON: POST /v1/bank/precheck.
  LinkResult<PrecheckVerdict> Precheck(const PrecheckQuery& query) override;
  LinkResult<NoticeReceipt> NotifyDeposit(const DepositMessage& message) override;
  LinkResult<NoticeReceipt> NotifyCancellation(const CancellationMessage& message) override;
  std::string Describe() const override;

 private:
  Camt054RelayLink(std::unique_ptr<RelayHttp> http, std::unique_ptr<RelayLink> json)
      : http_(std::move(http)), json_(std::move(json)) {}
  LinkResult<NoticeReceipt> Notify(const CamtNotice& notice);

  std::unique_ptr<RelayHttp> http_;
  std::unique_ptr<RelayLink> json_;  // for the pre-check
};

}  // namespace varelay::banksim
