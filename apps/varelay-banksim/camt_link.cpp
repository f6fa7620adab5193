#include "camt_link.h"

#include <boost/json.hpp>

#include "statement.h"

namespace varelay::banksim {
namespace json = boost::json;
namespace {

constexpr std::string_view kTarget = "/v1/bank/camt054";

Instant WholeSeconds(Instant t) {
  return std::chrono::time_point_cast<Millis>(std::chrono::floor<std::chrono::seconds>(t));
}

// An RFC 3339 notice time as the booking time; `fallback` when it does not parse.
Instant BookedAt(std::string_view text, Instant fallback) {
  auto parsed = ParseRfc3339(text);
  return WholeSeconds(parsed ? *parsed : fallback);
}


void Amount(std::string& out, Money m) {
  out += "<Amt Ccy=\"" + std::string(m.currency().code()) + "\">" +
         FormatDecimalAmount(m.minor(), m.currency()) + "</Amt>";
}

void OtherAccount(std::string& out, std::string_view tag, std::string_view id) {
  out += '<';
  out += tag;
  out += "><Id><Othr>";
  AppendXmlElement(out, "Id", id);
  out += "</Othr></Id></";
  out += tag;
  out += '>';
}

void Entry(std::string& out, const CamtNotice& n) {
  const char* indicator = n.reversal ? "DBIT" : "CRDT";
  out += "<Ntry>";
  Amount(out, n.amount);
  out += std::string("<CdtDbtInd>") + indicator + "</CdtDbtInd>";
  out += n.reversal ? "<RvslInd>true</RvslInd>" : "<RvslInd>false</RvslInd>";
  out += "<Sts><Cd>BOOK</Cd></Sts>";
  out += "<BookgDt><DtTm>" + FormatBusinessTime(n.booked_at) + "</DtTm></BookgDt>";
  out += "<ValDt><Dt>" + FormatDate(BusinessDay(n.booked_at)) + "</Dt></ValDt>";
  AppendXmlElement(out, "AcctSvcrRef", n.transaction_id);
  // A received credit transfer; its reversal keeps the family (the money goes back the same way).
  out +=
      "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn>"
      "</BkTxCd>";
  out += "<NtryDtls><TxDtls><Refs>";
  // A deposit repeats its own reference; a reversal names the deposit it undoes.
  AppendXmlElement(out, "AcctSvcrRef", n.reversal ? n.original_transaction_id : n.transaction_id);
  AppendXmlElement(out, "EndToEndId", "NOTPROVIDED");
  out += "</Refs>";
  Amount(out, n.amount);
  out += std::string("<CdtDbtInd>") + indicator + "</CdtDbtInd>";
  out += "<RltdPties>";
  if (!n.payer_name.empty()) {
    out += "<Dbtr><Pty>";
    AppendXmlElement(out, "Nm", n.payer_name);
    out += "</Pty></Dbtr>";
  }
  OtherAccount(out, "CdtrAcct", n.number);
  out += "</RltdPties></TxDtls></NtryDtls>";
  if (n.reversal) AppendXmlElement(out, "AddtlNtryInf", "cancels deposit " + n.original_transaction_id);
  out += "</Ntry>";
}

std::string StringMember(const json::object& object, std::string_view key) {
  auto* value = object.if_contains(key);
  return value && value->is_string() ? std::string(value->as_string()) : std::string();
}

LinkFailure BadAnswer(std::string detail) {
  return LinkFailure{200, "bad_answer", std::move(detail)};
}

}  // namespace

CamtNotice CamtNoticeFor(const DepositMessage& message) {
  CamtNotice n;
  n.transaction_id = message.transaction_id;
  n.number = message.number;
  n.payer_name = message.payer_name;
  n.mother_account = message.mother_account;
  n.amount = message.amount;
  n.booked_at = BookedAt(message.deposited_at, message.telegram.sent_at);
  return n;
}

CamtNotice CamtNoticeFor(const CancellationMessage& message) {
  CamtNotice n;
  n.reversal = true;
  n.transaction_id = message.transaction_id;
  n.original_transaction_id = message.original_transaction_id;
  n.number = message.number;
  n.payer_name = message.payer_name;
  n.mother_account = message.mother_account;
  n.amount = message.amount;
  n.booked_at = BookedAt(message.cancelled_at, message.telegram.sent_at);
  return n;
}

std::string RenderCamt054(const std::vector<CamtNotice>& notices, std::string_view message_id,
                          Instant created_at) {
  std::string created = FormatBusinessTime(created_at);
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.08\">"
      "<BkToCstmrDbtCdtNtfctn><GrpHdr>";
  AppendXmlElement(out, "MsgId", message_id);
  out += "<CreDtTm>" + created + "</CreDtTm></GrpHdr>";
  std::size_t i = 0;
  int notification = 0;
  while (i < notices.size()) {
    const std::string& account = notices[i].mother_account;
    out += "<Ntfctn>";
    AppendXmlElement(out, "Id", std::string(message_id) + "-" + std::to_string(++notification));
    out += "<CreDtTm>" + created + "</CreDtTm>";
    out += "<Acct><Id><Othr>";
    AppendXmlElement(out, "Id", account);
    out += "</Othr></Id>";
    AppendXmlElement(out, "Ccy", notices[i].amount.currency().code());
    out += "</Acct>";
    for (; i < notices.size() && notices[i].mother_account == account; ++i) Entry(out, notices[i]);
    out += "</Ntfctn>";
  }
  out += "</BkToCstmrDbtCdtNtfctn></Document>\n";
  return out;
}

LinkResult<NoticeReceipt> ReceiptFromImportReport(std::string_view report,
                                                  std::string_view transaction_id,
                                                  bool cancellation) {
  std::error_code ec;
  auto parsed = json::parse(report, ec);
  if (ec || !parsed.is_object())
    return std::unexpected(BadAnswer("the answer is not a JSON object"));
  const auto& o = parsed.as_object();
  auto* items = o.if_contains("items");
  auto* skipped = o.if_contains("skipped");
  if (!items || !items->is_array() || !skipped || !skipped->is_array())
    return std::unexpected(BadAnswer("the answer is not an import report"));
  for (const auto& value : items->as_array()) {
    if (!value.is_object()) continue;
    const auto& item = value.as_object();
    if (StringMember(item, "transaction_id") != transaction_id) continue;
    std::string result = StringMember(item, "result");
    if (result == "booked" || result == "duplicate") {
      NoticeReceipt receipt;
      if (auto* deposit = item.if_contains("deposit"); deposit && deposit->is_object()) {
        receipt.deposit_id = StringMember(deposit->as_object(), "id");
        receipt.outcome = StringMember(deposit->as_object(), "outcome");
        receipt.status = StringMember(deposit->as_object(), "status");
      }
      receipt.duplicate = result == "duplicate";
      receipt.relay_transaction_id = std::string(transaction_id);
      return receipt;
    }
    if (result == "refused") {
      std::string code = StringMember(item, "code");
      // As over JSON: a cancellation that overtook its deposit is answered not_found; send again.
      bool again = cancellation && code == "not_found";
      return std::unexpected(
          LinkFailure{200, code, StringMember(item, "detail"), !again, "200 refused"});
    }
    return std::unexpected(BadAnswer("item result '" + result + "'"));
  }
  for (const auto& value : skipped->as_array()) {
    if (!value.is_object()) continue;
    const auto& item = value.as_object();
    if (StringMember(item, "reference") != transaction_id) continue;
    // The relay read the entry but will not act on it: sending the same again cannot change that.
    return std::unexpected(LinkFailure{
        200, StringMember(item, "reason"),
        "the relay skipped the entry (" + StringMember(item, "action") + ")", true, "200 skipped"});
  }
  return std::unexpected(BadAnswer("the report does not mention " + std::string(transaction_id)));
}

// ---- Camt054RelayLink ---------------------------------------------------------------------------

Result<std::unique_ptr<Camt054RelayLink>> Camt054RelayLink::Create(JsonLinkOptions options) {
  auto json = MakeJsonRelayLink(options);
  if (!json) return std::unexpected(json.error());
  auto http = RelayHttp::Create(std::move(options));
  if (!http) return std::unexpected(http.error());
  return std::unique_ptr<Camt054RelayLink>(
      new Camt054RelayLink(std::move(*http), std::move(*json)));
}

LinkResult<PrecheckVerdict> Camt054RelayLink::Precheck(const PrecheckQuery& query) {
  return json_->Precheck(query);
}

LinkResult<NoticeReceipt> Camt054RelayLink::NotifyDeposit(const DepositMessage& message) {
  return Notify(CamtNoticeFor(message));
}

LinkResult<NoticeReceipt> Camt054RelayLink::NotifyCancellation(const CancellationMessage& message) {
  return Notify(CamtNoticeFor(message));
}

LinkResult<NoticeReceipt> Camt054RelayLink::Notify(const CamtNotice& notice) {
  // The same message on every re-send (message id and creation time from the notice).
  std::string xml = RenderCamt054({notice}, "N" + notice.transaction_id, notice.booked_at);
  auto answer = http_->Post(kTarget, xml, "application/xml");
  if (!answer) return std::unexpected(answer.error());
  return ReceiptFromImportReport(*answer, notice.transaction_id, notice.reversal);
}

std::string Camt054RelayLink::Describe() const {
  return "iso20022 " + http_->options().relay_url + " camt.054 " +
         (http_->options().signing_secret.empty() ? "(unsigned)" : "(signed)") +
         ", pre-check over json";
}

}  // namespace varelay::banksim
