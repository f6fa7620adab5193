// Division accounts as an engine component (docs/division-accounts.md): masters, their division
// accounts, payments with their state machine and co-approvals, the limits each account's
// payments hold per Asia/Seoul day and month, and the expiries of unpaid payments and unanswered
// approvals. Every check of an authorisation and its reservation happen in one step of the
// single writer, so two payments can never together pass a limit. The rules are
// domain/division; who may send which command is the relay's (relay_division.cpp); the money
// moves by transfers the relay's executor sends (DivisionHost::OpenTransfer). Engine thread only.
//
// Every record is kept in memory (a payment is a few hundred bytes) and written to the store as
// it changes; a start reads them all back (LoadSink) and recounts what the payments hold.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "domain/division/division_model.h"
#include "domain/error.h"
#include "domain/ledger.h"
#include "domain/transfer.h"
#include "domain/webhook.h"
#include "engine/commands.h"
#include "store/store.h"

namespace varelay {

// What the component needs of the rest of the relay (Relay implements it).
class DivisionHost {
 public:
  virtual ~DivisionHost() = default;
  virtual const Merchant* FindMerchant(const std::string& id) const = 0;
  // Where a payment to `merchant` is credited: its contract at `bank`, else its first; null: none.
  virtual const Contract* MotherAccountOf(const std::string& merchant, const std::string& bank) const = 0;
  virtual bool KnowsBank(const std::string& bank) const = 0;
  // Gives `draft` its id, telegram date and sequence and times, stores it, and hands it to the
  // transfer executor once durable. Fails (nothing written) when no sequence is left today.
  virtual Result<Transfer> OpenTransfer(Transfer draft, Instant now) = 0;
  // Writes an event (`event.merchant` is its owner: a merchant, or a master whose endpoint gets
  // it) with the body `render` makes, and its deliveries.
  virtual void PublishEvent(Event event, const std::function<std::string(const Event&)>& render, Instant now) = 0;
  virtual void AppendLedgerEntry(Instant at, EntryKind kind, const std::string& reference,
                                 std::vector<LedgerLine> lines) = 0;
  virtual std::string NewId(std::string_view prefix, Instant now) = 0;
  // A key of role kMaster for `master`; its token starts with `token_prefix`.
  virtual IssuedApiKey IssueMasterKey(const std::string& master, const std::string& label,
                                      std::optional<Instant> expires_at, std::string_view token_prefix, Instant now) = 0;
  virtual void RevokeKey(const std::string& key_id, Instant now) = 0;
  // Creates (empty `endpoint_id`), moves or (empty `url`) deletes the webhook endpoint owned by
  // `owner`; returns its id (empty once deleted) and, when created, its secret.
  virtual std::pair<std::string, std::string> PutOwnEndpoint(const std::string& owner, const std::string& endpoint_id,
                                                             const std::string& url, Instant now) = 0;
};

// Who sends a division command, as the relay established it.
struct DivisionActor {
  enum class Kind { kRelay, kMaster, kMerchant, kAdmin } kind = Kind::kRelay;
  std::string id;      // the master's or the merchant's id
  std::string key_id;  // the key the request came with
};

inline constexpr std::size_t kMaxDivisionAccountsPerMaster = 100;

class DivisionBook {
 public:
  DivisionBook(Store& store, DivisionHost& host) : store_(store), host_(host) {}

  // Recovery, in any order; then FinishLoading recounts the limits held and queues the timers.
  void OnMaster(Master master);
  void OnAccount(DivisionAccount account);
  void OnPayment(DivisionPayment payment);
  void OnApproval(DivisionApproval approval);
  void FinishLoading();

  Result<DivisionOutcome> Apply(const DivisionActor& actor, const DivisionCommand& command, Instant now);
  // A division transfer (Transfer::purpose) completed or was refused: the payment or refund settles.
  void OnTransferSettled(const Transfer& transfer, Instant now);

  // Expires unpaid payments and unanswered approvals whose time has come.
  void RunTimers(Instant now);
  std::optional<Instant> NextTimer() const;

  // What the payments hold equals what the counters say; every payment's state is consistent.
  Result<void> CheckInvariants(Instant now) const;

 private:
  // Masters.
  Result<DivisionOutcome> Do(const DivisionActor&, const EnrolMaster&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const GetMasterLogin&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const CreateMasterSession&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const RevokeMasterSession&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const CreateMasterToken&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const GetMaster&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const SetMasterEndpoint&, Instant);
  // Accounts.
  Result<DivisionOutcome> Do(const DivisionActor&, const IssueDivisionAccount&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const ListDivisionAccounts&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const GetDivisionAccount&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const UpdateDivisionAccount&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const ChangeDivisionAccount&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const ResetDivisionPassword&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const GetDivisionStatement&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const ListDivisionApprovals&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const DecideDivisionApproval&, Instant);
  // Payments.
  Result<DivisionOutcome> Do(const DivisionActor&, const CreateDivisionPayment&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const GetDivisionPayment&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const GetDivisionPaymentPage&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const GetDivisionPaymentForAuthorization&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const AuthorizeDivisionPayment&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const RefundDivisionPayment&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const SetMerchantDivision&, Instant);
  Result<DivisionOutcome> Do(const DivisionActor&, const ListMasterEvents&, Instant);

  Result<Master*> OwnMaster(const DivisionActor& actor);
  Result<DivisionAccount*> OwnAccount(const DivisionActor& actor, const std::string& id);
  // The payment `actor` may act on for an authorisation: by the page token's digest (the relay
  // itself) or as its division_direct merchant.
  Result<DivisionPayment*> PaymentForPage(const DivisionActor& actor, const std::string& id,
                                          const std::string& page_token_digest);
  DivisionAccount* AccountByNumber(const std::string& number);
  DivisionAccountView ViewOf(const DivisionAccount& account, Instant now) const;

  void Save(DivisionPayment& payment, Instant now);
  void Save(DivisionAccount& account, Instant now);
  // Ends a payment declined for `reason`; releases what it held when it held anything.
  void Decline(DivisionPayment& payment, DeclineReason reason, Instant now);
  // Reserves the limits and moves the payment on: to the master's approval or to the debit.
  void Authorise(DivisionPayment& payment, DivisionAccount& account, bool needs_approval, Instant now);
  void StartDebit(DivisionPayment& payment, Instant now);
  void SettleDebit(DivisionPayment& payment, const Transfer& transfer, Instant now);
  void SettleRefund(DivisionPayment& payment, const Transfer& transfer, Instant now);
  // Events: to the merchant, and (when the payment has one) to its master's endpoint.
  void Tell(EventType type, const DivisionPayment& payment, Instant now);
  void TellMaster(EventType type, const std::string& master, const DivisionPayment* payment,
                  const DivisionAccount* account, Instant now);

  Store& store_;
  DivisionHost& host_;
  std::map<std::string, Master> masters_;
  std::map<std::string, std::string> master_by_login_, master_by_account_;  // digest -> id
  std::map<std::string, DivisionAccount> accounts_;
  std::map<std::string, std::string> account_by_number_;  // every number ever issued
  std::map<std::string, std::vector<std::string>> accounts_by_master_;
  std::map<std::string, DivisionSpending> spending_;  // by account id
  std::map<std::string, DivisionPayment> payments_;
  std::map<std::pair<std::string, std::string>, std::string> payment_by_order_;  // (merchant, order id)
  std::map<std::string, std::vector<std::string>> payments_by_account_;
  std::map<std::string, DivisionApproval> approvals_;
  std::map<std::string, std::vector<std::string>> approvals_by_master_;
  std::multimap<Instant, std::string> payment_expiries_;  // awaiting_credentials until
  std::multimap<Instant, std::string> approval_deadlines_;
};

}  // namespace varelay
