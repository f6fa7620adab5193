#include "banks/iso20022/camt.h"

#include <algorithm>
#include <iterator>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "banks/iso20022/xml_tree.h"
#include "domain/digest.h"
#include "domain/identifiers.h"

namespace varelay::iso20022 {
namespace {

using detail::ExactText;
using detail::TrimmedText;
using detail::XmlTree;
using Node = pugi::xml_node;

constexpr std::string_view kNamespaceStem = "urn:iso:std:iso:20022:tech:xsd:";
constexpr int kFirstVersion = 2;
constexpr int kLastVersion = 8;

struct Message {
  XmlTree tree;
  int version = 0;
  Node body;          // BkToCstmrDbtCdtNtfctn or BkToCstmrStmt
  std::string where;  // its name, the start of every error path
  std::string message_id;
  BankTime created;
};

// What every transaction of one entry shares, and where the entry sits.
struct EntryScope {
  const XmlTree& tree;
  const ReadOptions& options;
  std::string notification_id;
  std::string notified_account;
  int entry_number = 0;
  std::string where;
};

std::string Indexed(const std::string& where, std::string_view name, int n) {
  return where + "/" + std::string(name) + "[" + std::to_string(n) + "]";
}

std::string Child(const std::string& where, std::string_view name) {
  return where + "/" + std::string(name);
}

// --- leaf values ---------------------------------------------------------------------------

// The trimmed text of the only child `name`, or "" when there is none.
Result<std::string> OptionalText(const XmlTree& tree, Node parent, std::string_view name,
                                 const std::string& where) {
  auto node = tree.Optional(parent, name, where);
  if (!node) return std::unexpected(node.error());
  if (!*node) return std::string();
  return TrimmedText(*node, Child(where, name));
}

Result<std::string> RequiredText(const XmlTree& tree, Node parent, std::string_view name,
                                 const std::string& where) {
  auto node = tree.Required(parent, name, where);
  if (!node) return std::unexpected(node.error());
  auto text = TrimmedText(*node, Child(where, name));
  if (text && text->empty()) return Fail(ErrorCode::kMissingField, "is empty", Child(where, name));
  return text;
}

// An ActiveOrHistoricCurrencyAndAmount element: exact minor units, refused rather than rounded.
Result<Money> ReadAmount(Node amount, const std::string& where) {
  int currencies = 0;
  for (pugi::xml_attribute a = amount.first_attribute(); a; a = a.next_attribute()) {
    if (std::string_view(a.name()) == "Ccy") ++currencies;
  }
  if (currencies != 1) {
    return Fail(currencies == 0 ? ErrorCode::kMissingField : ErrorCode::kInvalidField,
                "an amount needs exactly one Ccy attribute", where + "/@Ccy");
  }
  std::string_view code = amount.attribute("Ccy").value();
  auto currency = Currency::FromCode(code);
  if (!currency) {
    std::string shown = code.size() <= 8 ? std::string(code) : std::string(code.substr(0, 8)) + "...";
    return Fail(ErrorCode::kUnknownCurrency, "unknown currency \"" + shown + "\"", where + "/@Ccy");
  }
  auto text = ExactText(amount, where);
  if (!text) return std::unexpected(text.error());
  auto minor = ParseDecimalAmount(*text, *currency);
  if (!minor) {
    std::string shown = text->size() <= 32 ? "\"" + *text + "\": " : std::string();
    return Fail(ErrorCode::kInvalidAmount, shown + minor.error().detail, where);
  }
  return Money(*minor, *currency);
}

Result<CreditDebit> ReadCreditDebit(const XmlTree& tree, Node parent, const std::string& where) {
  auto text = RequiredText(tree, parent, "CdtDbtInd", where);
  if (!text) return std::unexpected(text.error());
  if (*text == "CRDT") return CreditDebit::kCredit;
  if (*text == "DBIT") return CreditDebit::kDebit;
  return Fail(ErrorCode::kInvalidField, "must be CRDT or DBIT", Child(where, "CdtDbtInd"));
}

// An optional xs:boolean: false when absent.
Result<bool> ReadBoolean(const XmlTree& tree, Node parent, std::string_view name,
                         const std::string& where) {
  auto node = tree.Optional(parent, name, where);
  if (!node) return std::unexpected(node.error());
  if (!*node) return false;
  auto text = TrimmedText(*node, Child(where, name));
  if (!text) return std::unexpected(text.error());
  if (*text == "false" || *text == "0") return false;
  if (*text == "true" || *text == "1") return true;
  return Fail(ErrorCode::kInvalidField, "must be true or false", Child(where, name));
}

// Sts is a bare code up to version 06 and a choice (Cd or Prtry) from 07; either form is read.
Result<void> ReadStatus(const XmlTree& tree, Node entry, const std::string& where, Transaction& t) {
  auto status = tree.Required(entry, "Sts", where);
  if (!status) return std::unexpected(status.error());
  const std::string at = Child(where, "Sts");
  Node code = tree.First(*status, "Cd");
  if (!code) code = tree.First(*status, "Prtry");
  auto text = TrimmedText(code ? code : *status, at);
  if (!text) return std::unexpected(text.error());
  if (text->empty()) return Fail(ErrorCode::kMissingField, "is empty", at);
  t.status_code = *text;
  t.status = *text == "BOOK"   ? EntryStatus::kBooked
             : *text == "PDNG" ? EntryStatus::kPending
             : *text == "INFO" ? EntryStatus::kInformation
                               : EntryStatus::kOther;
  return {};
}

bool ReadDigits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
  if (pos + count > text.size()) return false;
  int value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  out = value;
  return true;
}

// ISODate "2019-04-24" (a zone suffix, allowed by xs:date, is ignored) or ISODateTime
// "2019-04-24T21:28:58[.fff][Z|+hh:mm]" (the zone is optional in ISO 20022).
Result<BankTime> ParseBankTime(std::string_view text, bool with_time, const ReadOptions& options,
                               const std::string& where) {
  auto bad = [&] {
    return Fail(ErrorCode::kInvalidField,
                with_time ? "must be an ISO date-time (2026-11-25T19:00:00+09:00)"
                          : "must be an ISO date (2026-11-25)",
                where);
  };
  int y, m, d;
  if (!ReadDigits(text, 0, 4, y) || text.size() < 10 || text[4] != '-' || !ReadDigits(text, 5, 2, m) ||
      text[7] != '-' || !ReadDigits(text, 8, 2, d)) {
    return bad();
  }
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(m)),
                                  std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return bad();
  BankTime time{std::string(text), std::chrono::sys_days(ymd), with_time, std::nullopt};
  if (!with_time) {
    std::string_view zone = text.substr(10);
    int hours, minutes;
    bool offset = zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') &&
                  ReadDigits(zone, 1, 2, hours) && zone[3] == ':' && ReadDigits(zone, 4, 2, minutes);
    if (!zone.empty() && zone != "Z" && !offset) return bad();
    return time;
  }
  bool has_zone = text.size() > 19 && (text.back() == 'Z' || text.back() == 'z' ||
                                       text.find_first_of("+-", 19) != std::string_view::npos);
  if (has_zone) {
    time.instant = ParseRfc3339(text);
    if (!time.instant) return bad();
    return time;
  }
  auto as_utc = ParseRfc3339(std::string(text) + "Z");
  if (!as_utc) return bad();
  if (options.local_utc_offset) time.instant = *as_utc - *options.local_utc_offset;
  return time;
}

// A DateAndDateTimeChoice (BookgDt, ValDt, Bal/Dt): Dt or DtTm, exactly one.
Result<std::optional<BankTime>> ReadDateChoice(const XmlTree& tree, Node parent,
                                               std::string_view name, const ReadOptions& options,
                                               const std::string& where) {
  auto choice = tree.Optional(parent, name, where);
  if (!choice) return std::unexpected(choice.error());
  if (!*choice) return std::optional<BankTime>();
  const std::string at = Child(where, name);
  auto date = tree.Optional(*choice, "Dt", at);
  if (!date) return std::unexpected(date.error());
  auto date_time = tree.Optional(*choice, "DtTm", at);
  if (!date_time) return std::unexpected(date_time.error());
  if (bool(*date) == bool(*date_time)) {
    return Fail(ErrorCode::kInvalidField, "must hold exactly one of Dt and DtTm", at);
  }
  Node value = *date ? *date : *date_time;
  const std::string value_at = Child(at, *date ? "Dt" : "DtTm");
  auto text = TrimmedText(value, value_at);
  if (!text) return std::unexpected(text.error());
  auto time = ParseBankTime(*text, bool(*date_time), options, value_at);
  if (!time) return std::unexpected(time.error());
  return std::optional<BankTime>(std::move(*time));
}

// CashAccount: Id/IBAN or Id/Othr/Id.
Result<std::string> ReadAccountId(const XmlTree& tree, Node account, const std::string& where) {
  auto id = tree.Required(account, "Id", where);
  if (!id) return std::unexpected(id.error());
  const std::string at = Child(where, "Id");
  auto iban = OptionalText(tree, *id, "IBAN", at);
  if (!iban) return iban;
  if (!iban->empty()) return iban;
  auto other = tree.Optional(*id, "Othr", at);
  if (!other) return std::unexpected(other.error());
  if (!*other) return Fail(ErrorCode::kMissingField, "needs IBAN or Othr/Id", at);
  return RequiredText(tree, *other, "Id", Child(at, "Othr"));
}

Result<void> ReadGroupHeader(const ReadOptions& options, Message& message) {
  auto header = message.tree.Required(message.body, "GrpHdr", message.where);
  if (!header) return std::unexpected(header.error());
  const std::string at = Child(message.where, "GrpHdr");
  auto id = RequiredText(message.tree, *header, "MsgId", at);
  if (!id) return std::unexpected(id.error());
  auto created = RequiredText(message.tree, *header, "CreDtTm", at);
  if (!created) return std::unexpected(created.error());
  auto time = ParseBankTime(*created, true, options, Child(at, "CreDtTm"));
  if (!time) return std::unexpected(time.error());
  message.message_id = std::move(*id);
  message.created = std::move(*time);
  return {};
}

// Parses, checks the root and namespace (camt.<kind>.001.02 to .08), and reads the group header.
Result<Message> OpenMessage(std::string_view xml, const ReadOptions& options, std::string_view kind,
                            std::string_view body_name) {
  auto tree = XmlTree::Parse(xml, std::min(options.max_message_bytes, kMaxMessageBytes),
                             kMaxElementDepth);
  if (!tree) return std::unexpected(tree.error());
  const std::string expected = std::string(kNamespaceStem) + std::string(kind) + ".001.";
  auto refuse = [&](std::string found) {
    return Fail(ErrorCode::kInvalidField,
                "expected a Document in namespace " + expected + "02 to " + expected + "08; " + found,
                "Document");
  };
  if (tree->root_local_name() != "Document") {
    return refuse("the root element is " + std::string(tree->root().name()).substr(0, 64));
  }
  std::string_view ns = tree->root_namespace();
  int version = 0;
  if (ns.size() != expected.size() + 2 || !ns.starts_with(expected) ||
      !ReadDigits(ns, expected.size(), 2, version) || version < kFirstVersion ||
      version > kLastVersion) {
    return refuse(ns.empty() ? "it has no namespace"
                             : "its namespace is " + std::string(ns.substr(0, 80)));
  }
  Message message{std::move(*tree), version, {}, std::string(body_name), {}, {}};
  auto body = message.tree.Required(message.tree.root(), body_name, "Document");
  if (!body) return std::unexpected(body.error());
  message.body = *body;
  if (auto header = ReadGroupHeader(options, message); !header) {
    return std::unexpected(header.error());
  }
  return message;
}

// --- entries and transactions --------------------------------------------------------------

Result<void> ReadBankTransactionCode(const XmlTree& tree, Node parent, const std::string& where,
                                     BankTransactionCode& code) {
  Node bank_code = tree.First(parent, "BkTxCd");
  if (!bank_code) return {};
  const std::string at = Child(where, "BkTxCd");
  Node domain = tree.First(bank_code, "Domn");
  Node family = tree.First(domain, "Fmly");
  std::pair<Node, std::string*> fields[] = {{tree.First(domain, "Cd"), &code.domain},
                                            {tree.First(family, "Cd"), &code.family},
                                            {tree.First(family, "SubFmlyCd"), &code.sub_family},
                                            {tree.First(tree.First(bank_code, "Prtry"), "Cd"),
                                             &code.proprietary}};
  for (auto& [node, out] : fields) {
    if (!node) continue;
    auto text = TrimmedText(node, at);
    if (!text) return std::unexpected(text.error());
    *out = std::move(*text);
  }
  return {};
}

// The entry's own fields, shared by every transaction it holds.
Result<Transaction> ReadEntryFields(Node entry, const EntryScope& scope) {
  const XmlTree& tree = scope.tree;
  const std::string& at = scope.where;
  Transaction t;
  t.entry_number = scope.entry_number;
  t.notification_id = scope.notification_id;
  t.notified_account = scope.notified_account;
  auto amount_node = tree.Required(entry, "Amt", at);
  if (!amount_node) return std::unexpected(amount_node.error());
  auto amount = ReadAmount(*amount_node, Child(at, "Amt"));
  if (!amount) return std::unexpected(amount.error());
  t.amount = *amount;
  auto indicator = ReadCreditDebit(tree, entry, at);
  if (!indicator) return std::unexpected(indicator.error());
  t.credit_debit = *indicator;
  auto reversal = ReadBoolean(tree, entry, "RvslInd", at);
  if (!reversal) return std::unexpected(reversal.error());
  t.reversal = *reversal;
  if (auto status = ReadStatus(tree, entry, at, t); !status) return std::unexpected(status.error());
  auto booked = ReadDateChoice(tree, entry, "BookgDt", scope.options, at);
  if (!booked) return std::unexpected(booked.error());
  t.booking_date = std::move(*booked);
  auto value = ReadDateChoice(tree, entry, "ValDt", scope.options, at);
  if (!value) return std::unexpected(value.error());
  t.value_date = std::move(*value);
  auto reference = OptionalText(tree, entry, "AcctSvcrRef", at);
  if (!reference) return std::unexpected(reference.error());
  t.entry_reference = std::move(*reference);
  if (auto code = ReadBankTransactionCode(tree, entry, at, t.bank_transaction_code); !code) {
    return std::unexpected(code.error());
  }
  return t;
}

// TxDtls/Amt (04 and later), else TxDtls/AmtDtls/TxAmt/Amt (all versions); an empty node if none.
Result<Node> TransactionAmountNode(const XmlTree& tree, Node details, const std::string& at,
                                   std::string& amount_at) {
  auto own = tree.Optional(details, "Amt", at);
  if (!own || *own) {
    amount_at = Child(at, "Amt");
    return own;
  }
  amount_at = at + "/AmtDtls/TxAmt/Amt";
  Node amount_details = tree.First(details, "AmtDtls");
  Node transaction_amount = tree.First(amount_details, "TxAmt");
  return tree.Optional(transaction_amount, "Amt", at + "/AmtDtls/TxAmt");
}

Result<void> ReadAmountAndIndicator(const XmlTree& tree, Node details, const std::string& at,
                                    bool batched, Transaction& t) {
  std::string amount_at;
  auto amount_node = TransactionAmountNode(tree, details, at, amount_at);
  if (!amount_node) return std::unexpected(amount_node.error());
  if (*amount_node) {
    auto amount = ReadAmount(*amount_node, amount_at);
    if (!amount) return std::unexpected(amount.error());
    if (amount->currency() != t.amount.currency()) {
      return Fail(ErrorCode::kInvalidAmount, "is in another currency than its entry", amount_at);
    }
    t.amount = *amount;
  } else if (batched) {
    return Fail(ErrorCode::kMissingField,
                "an entry batching several transactions must give each its own amount", amount_at);
  }
  auto indicator_node = tree.Optional(details, "CdtDbtInd", at);
  if (!indicator_node) return std::unexpected(indicator_node.error());
  if (*indicator_node) {
    auto indicator = ReadCreditDebit(tree, details, at);
    if (!indicator) return std::unexpected(indicator.error());
    t.credit_debit_conflict = *indicator != t.credit_debit;
  }
  return {};
}

Result<void> ReadReferences(const XmlTree& tree, Node details, const std::string& at,
                            Transaction& t) {
  auto refs = tree.Optional(details, "Refs", at);
  if (!refs) return std::unexpected(refs.error());
  if (!*refs) return {};
  const std::string refs_at = Child(at, "Refs");
  std::pair<std::string_view, std::string*> fields[] = {{"AcctSvcrRef", &t.transaction_reference},
                                                        {"TxId", &t.transaction_id},
                                                        {"EndToEndId", &t.end_to_end_id}};
  for (auto& [name, out] : fields) {
    auto text = OptionalText(tree, *refs, name, refs_at);
    if (!text) return std::unexpected(text.error());
    *out = std::move(*text);
  }
  return {};
}

// RltdPties: the payer's name (Dbtr/Nm up to 06, Dbtr/Pty/Nm from 08) and the creditor account.
Result<void> ReadParties(const XmlTree& tree, Node details, const std::string& at,
                         Transaction& t) {
  auto parties = tree.Optional(details, "RltdPties", at);
  if (!parties) return std::unexpected(parties.error());
  if (!*parties) return {};
  const std::string parties_at = Child(at, "RltdPties");
  auto debtor = tree.Optional(*parties, "Dbtr", parties_at);
  if (!debtor) return std::unexpected(debtor.error());
  if (*debtor) {
    const std::string debtor_at = Child(parties_at, "Dbtr");
    Node party = tree.First(*debtor, "Pty");
    auto name = OptionalText(tree, party ? party : *debtor, "Nm",
                             party ? Child(debtor_at, "Pty") : debtor_at);
    if (!name) return std::unexpected(name.error());
    t.payer_name = std::move(*name);
  }
  auto creditor_account = tree.Optional(*parties, "CdtrAcct", parties_at);
  if (!creditor_account) return std::unexpected(creditor_account.error());
  if (*creditor_account) {
    auto id = ReadAccountId(tree, *creditor_account, Child(parties_at, "CdtrAcct"));
    if (!id) return std::unexpected(id.error());
    t.creditor_account = std::move(*id);
  }
  return {};
}

// RmtInf: every Ustrd line, and the first structured creditor reference.
Result<void> ReadRemittance(const XmlTree& tree, Node details, const std::string& at,
                            Transaction& t) {
  Node remittance = tree.First(details, "RmtInf");
  if (!remittance) return {};
  const std::string remittance_at = Child(at, "RmtInf");
  auto lines = tree.Each(remittance, "Ustrd", [&](Node line, int n) -> Result<void> {
    auto text = TrimmedText(line, Indexed(remittance_at, "Ustrd", n));
    if (!text) return std::unexpected(text.error());
    if (!t.remittance.empty()) t.remittance += '\n';
    t.remittance += *text;
    return {};
  });
  if (!lines) return lines;
  return tree.Each(remittance, "Strd", [&](Node structured, int n) -> Result<void> {
    if (!t.creditor_reference.empty()) return {};
    Node reference = tree.First(tree.First(structured, "CdtrRefInf"), "Ref");
    if (!reference) return {};
    auto text = TrimmedText(reference, Indexed(remittance_at, "Strd", n) + "/CdtrRefInf/Ref");
    if (!text) return std::unexpected(text.error());
    t.creditor_reference = std::move(*text);
    return {};
  });
}

Result<void> ReadReturn(const XmlTree& tree, Node details, const std::string& at, Transaction& t) {
  Node return_info = tree.First(details, "RtrInf");
  t.returned = bool(return_info) || t.bank_transaction_code.sub_family == "RRTN";
  if (!return_info) return {};
  Node reason = tree.First(return_info, "Rsn");
  Node code = tree.First(reason, "Cd");
  if (!code) code = tree.First(reason, "Prtry");
  if (!code) return {};
  auto text = TrimmedText(code, at + "/RtrInf/Rsn");
  if (!text) return std::unexpected(text.error());
  t.return_reason = std::move(*text);
  return {};
}

// Fills `t` (a copy of its entry's fields) from one TxDtls.
Result<void> ReadTransactionDetails(const XmlTree& tree, Node details, const std::string& at,
                                    bool batched, Transaction& t) {
  if (auto r = ReadAmountAndIndicator(tree, details, at, batched, t); !r) return r;
  if (auto r = ReadReferences(tree, details, at, t); !r) return r;
  if (auto r = ReadParties(tree, details, at, t); !r) return r;
  if (auto r = ReadRemittance(tree, details, at, t); !r) return r;
  BankTransactionCode own;
  if (auto r = ReadBankTransactionCode(tree, details, at, own); !r) return r;
  if (!own.domain.empty() || !own.proprietary.empty()) t.bank_transaction_code = std::move(own);
  return ReadReturn(tree, details, at, t);
}

// The reference before any disambiguation, as documented on Transaction::dedupe_reference.
std::pair<std::string, ReferenceSource> RawReference(const Transaction& t, bool batched,
                                                     std::string_view message_id) {
  if (!batched && !t.entry_reference.empty()) return {t.entry_reference, ReferenceSource::kEntry};
  if (!t.transaction_reference.empty()) {
    return {t.transaction_reference, ReferenceSource::kTransaction};
  }
  if (!t.transaction_id.empty()) return {t.transaction_id, ReferenceSource::kTransactionId};
  if (!t.end_to_end_id.empty() && t.end_to_end_id != "NOTPROVIDED") {
    return {t.end_to_end_id, ReferenceSource::kEndToEndId};
  }
  if (!t.entry_reference.empty()) {
    return {t.entry_reference + ":" + std::to_string(t.transaction_number),
            ReferenceSource::kEntryPosition};
  }
  return {std::string(message_id) + ":" + std::to_string(t.entry_number) + "." +
              std::to_string(t.transaction_number),
          ReferenceSource::kMessagePosition};
}

void SetVirtualAccount(const ReadOptions& options, Transaction& t) {
  switch (options.virtual_account_source) {
    case VirtualAccountSource::kCreditorAccount: t.virtual_account = t.creditor_account; break;
    case VirtualAccountSource::kNotifiedAccount: t.virtual_account = t.notified_account; break;
    case VirtualAccountSource::kCreditorReference: t.virtual_account = t.creditor_reference; break;
  }
}

std::unexpected<Error> TooMany(const std::string& where) {
  return Fail(ErrorCode::kBodyTooLarge,
              "the message holds more than " + std::to_string(kMaxTransactions) + " transactions",
              where);
}

// Appends the entry's transactions to `out`: one per TxDtls, or one for an entry without any.
Result<void> ReadEntry(Node entry, const EntryScope& scope, std::string_view message_id,
                       std::vector<Transaction>& out) {
  const XmlTree& tree = scope.tree;
  auto base = ReadEntryFields(entry, scope);
  if (!base) return std::unexpected(base.error());
  std::vector<std::pair<Node, std::string>> details;
  auto collected = tree.Each(entry, "NtryDtls", [&](Node entry_details, int i) {
    const std::string at = Indexed(scope.where, "NtryDtls", i);
    return tree.Each(entry_details, "TxDtls", [&](Node tx, int j) -> Result<void> {
      if (out.size() + details.size() >= kMaxTransactions) return TooMany(scope.where);
      details.emplace_back(tx, Indexed(at, "TxDtls", j));
      return {};
    });
  });
  if (!collected) return collected;
  if (out.size() >= kMaxTransactions) return TooMany(scope.where);
  const bool batched = details.size() > 1;
  const std::size_t first = out.size();
  if (details.empty()) {
    out.push_back(*base);
    out.back().transaction_number = 1;
    out.back().returned = base->bank_transaction_code.sub_family == "RRTN";
  }
  std::int64_t sum_minor = 0;
  for (std::size_t i = 0; i < details.size(); ++i) {
    Transaction t = *base;
    t.transaction_number = static_cast<int>(i) + 1;
    if (auto r = ReadTransactionDetails(tree, details[i].first, details[i].second, batched, t); !r) {
      return r;
    }
    sum_minor += t.amount.minor();
    out.push_back(std::move(t));
  }
  if (!details.empty() && sum_minor != base->amount.minor()) {
    return Fail(ErrorCode::kInvalidAmount,
                "the transactions add up to " + FormatDecimalAmount(sum_minor, base->amount.currency()) +
                    " but the entry says " +
                    FormatDecimalAmount(base->amount.minor(), base->amount.currency()),
                Child(scope.where, "Amt"));
  }
  for (std::size_t i = first; i < out.size(); ++i) {
    auto [reference, source] = RawReference(out[i], batched, message_id);
    out[i].dedupe_reference = std::move(reference);
    out[i].reference_source = source;
    SetVirtualAccount(scope.options, out[i]);
  }
  return {};
}

std::string AsExternalId(const std::string& raw) {
  if (IsExternalId(raw)) return raw;
  return "h:" + Sha256Hex(raw).substr(0, 40);
}

// Makes every dedupe reference of the message distinct and shaped like a relay transaction id.
Result<void> FinishReferences(std::vector<Transaction>& transactions) {
  std::unordered_map<std::string, int> uses;
  for (const Transaction& t : transactions) ++uses[t.dedupe_reference];
  std::unordered_set<std::string> seen;
  for (Transaction& t : transactions) {
    if (uses[t.dedupe_reference] > 1) {
      t.dedupe_reference += ":" + std::to_string(t.entry_number) + "." +
                            std::to_string(t.transaction_number);
      t.reference_ambiguous = true;
    }
    t.dedupe_reference = AsExternalId(t.dedupe_reference);
    if (!seen.insert(t.dedupe_reference).second) {
      return Fail(ErrorCode::kInvalidField,
                  "two transactions end up with the reference " + t.dedupe_reference,
                  "Ntry[" + std::to_string(t.entry_number) + "]");
    }
  }
  return {};
}

Result<std::string> ReadAccountOf(const XmlTree& tree, Node parent, const std::string& where) {
  auto account = tree.Required(parent, "Acct", where);
  if (!account) return std::unexpected(account.error());
  return ReadAccountId(tree, *account, Child(where, "Acct"));
}

// Reads every Ntry of a Ntfctn or Stmt into `out`.
Result<void> ReadEntries(const Message& message, Node report, const std::string& where,
                         const std::string& report_id, const std::string& account,
                         const ReadOptions& options, int& entry_number,
                         std::vector<Transaction>& out) {
  EntryScope scope{message.tree, options, report_id, account, 0, {}};
  return message.tree.Each(report, "Ntry", [&](Node entry, int n) {
    scope.entry_number = ++entry_number;
    scope.where = Indexed(where, "Ntry", n);
    return ReadEntry(entry, scope, message.message_id, out);
  });
}

Result<Balance> ReadBalance(const XmlTree& tree, Node balance, const ReadOptions& options,
                            const std::string& at) {
  Balance b;
  Node type = tree.First(tree.First(balance, "Tp"), "CdOrPrtry");
  Node code = tree.First(type, "Cd");
  if (!code) code = tree.First(type, "Prtry");
  if (!code) return Fail(ErrorCode::kMissingField, "is required", at + "/Tp/CdOrPrtry/Cd");
  auto type_text = TrimmedText(code, at + "/Tp/CdOrPrtry");
  if (!type_text) return std::unexpected(type_text.error());
  b.type = std::move(*type_text);
  auto amount_node = tree.Required(balance, "Amt", at);
  if (!amount_node) return std::unexpected(amount_node.error());
  auto amount = ReadAmount(*amount_node, Child(at, "Amt"));
  if (!amount) return std::unexpected(amount.error());
  auto indicator = ReadCreditDebit(tree, balance, at);
  if (!indicator) return std::unexpected(indicator.error());
  b.credit_debit = *indicator;
  const std::int64_t sign = *indicator == CreditDebit::kDebit ? -1 : 1;
  b.amount = Money(sign * amount->minor(), amount->currency());
  auto date = ReadDateChoice(tree, balance, "Dt", options, at);
  if (!date) return std::unexpected(date.error());
  b.date = std::move(*date);
  return b;
}

// Reads one Stmt; its entries are appended to `all`, the whole message's transactions.
Result<AccountStatement> ReadAccountStatement(const Message& message, Node statement,
                                              const std::string& at, const ReadOptions& options,
                                              int& entry_number, std::vector<Transaction>& all) {
  const XmlTree& tree = message.tree;
  AccountStatement s;
  auto id = RequiredText(tree, statement, "Id", at);
  if (!id) return std::unexpected(id.error());
  s.id = std::move(*id);
  auto account = ReadAccountOf(tree, statement, at);
  if (!account) return std::unexpected(account.error());
  s.account = std::move(*account);
  auto balances = tree.Each(statement, "Bal", [&](Node balance, int n) -> Result<void> {
    auto b = ReadBalance(tree, balance, options, Indexed(at, "Bal", n));
    if (!b) return std::unexpected(b.error());
    s.balances.push_back(std::move(*b));
    return {};
  });
  if (!balances) return std::unexpected(balances.error());
  auto entries = ReadEntries(message, statement, at, s.id, s.account, options, entry_number, all);
  if (!entries) return std::unexpected(entries.error());
  return s;
}

}  // namespace

Result<Notification> ReadCamt054(std::string_view xml, const ReadOptions& options) {
  auto message = OpenMessage(xml, options, "camt.054", "BkToCstmrDbtCdtNtfctn");
  if (!message) return std::unexpected(message.error());
  Notification notification{message->version, message->message_id, message->created, {}};
  int entry_number = 0;
  int reports = 0;
  auto read = message->tree.Each(message->body, "Ntfctn", [&](Node report, int n) -> Result<void> {
    ++reports;
    const std::string at = Indexed(message->where, "Ntfctn", n);
    auto id = OptionalText(message->tree, report, "Id", at);
    if (!id) return std::unexpected(id.error());
    auto account = ReadAccountOf(message->tree, report, at);
    if (!account) return std::unexpected(account.error());
    return ReadEntries(*message, report, at, *id, *account, options, entry_number,
                       notification.transactions);
  });
  if (!read) return std::unexpected(read.error());
  if (reports == 0) {
    return Fail(ErrorCode::kMissingField, "is required", Child(message->where, "Ntfctn"));
  }
  if (auto finished = FinishReferences(notification.transactions); !finished) {
    return std::unexpected(finished.error());
  }
  return notification;
}

Result<Statement> ReadCamt053(std::string_view xml, const ReadOptions& options) {
  auto message = OpenMessage(xml, options, "camt.053", "BkToCstmrStmt");
  if (!message) return std::unexpected(message.error());
  Statement statement{message->version, message->message_id, message->created, {}};
  // All entries are read into one list, so that the transaction limit and the distinctness of
  // references hold across the whole message, then handed to their statements.
  std::vector<Transaction> all;
  std::vector<std::size_t> ends;
  int entry_number = 0;
  auto read = message->tree.Each(message->body, "Stmt", [&](Node report, int n) -> Result<void> {
    auto s = ReadAccountStatement(*message, report, Indexed(message->where, "Stmt", n), options,
                                  entry_number, all);
    if (!s) return std::unexpected(s.error());
    statement.statements.push_back(std::move(*s));
    ends.push_back(all.size());
    return {};
  });
  if (!read) return std::unexpected(read.error());
  if (statement.statements.empty()) {
    return Fail(ErrorCode::kMissingField, "is required", Child(message->where, "Stmt"));
  }
  if (auto finished = FinishReferences(all); !finished) return std::unexpected(finished.error());
  std::size_t begin = 0;
  for (std::size_t i = 0; i < ends.size(); ++i) {
    auto first = all.begin() + static_cast<std::ptrdiff_t>(begin);
    auto last = all.begin() + static_cast<std::ptrdiff_t>(ends[i]);
    statement.statements[i].transactions.assign(std::make_move_iterator(first),
                                                std::make_move_iterator(last));
    begin = ends[i];
  }
  return statement;
}

std::string_view CreditDebitCode(CreditDebit value) {
  return value == CreditDebit::kCredit ? "CRDT" : "DBIT";
}

}  // namespace varelay::iso20022
