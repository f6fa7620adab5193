#include "api/bank_messages.h"

#include "banks/iso20022/camt.h"
#include "domain/identifiers.h"

namespace varelay::api {
namespace {

using iso20022::Action;

constexpr std::size_t kMaxPayerNameChars = 100;

RequestError Refusal(ErrorCode code, std::string detail, std::string field) {
  RequestError e;
  e.error = Error{code, detail, field};
  e.fields.push_back({std::move(field), std::move(detail)});
  return e;
}

// When the bank booked it: the entry's booking time, else its date at midnight Korean time, else
// when the message was created.
Instant BookedAt(const iso20022::Transaction& t, const iso20022::Notification& n) {
  constexpr auto kKst = std::chrono::hours(9);
  if (t.booking_date) {
    if (t.booking_date->instant) return *t.booking_date->instant;
    return std::chrono::time_point_cast<Millis>(std::chrono::sys_time<Millis>(t.booking_date->date) - kKst);
  }
  if (n.created.instant) return *n.created.instant;
  return std::chrono::time_point_cast<Millis>(std::chrono::sys_time<Millis>(n.created.date) - kKst);
}

// A payer name as the JSON protocol would accept it; a bank's odd one is dropped, not refused.
std::string PayerName(const std::string& name) { return IsCleanText(name, kMaxPayerNameChars) ? name : std::string(); }

}  // namespace

Decoded<ImportNotices> DecodeCamt054(const std::vector<std::pair<std::string, std::string>>& query,
                                     std::string_view xml) {
  iso20022::ReadOptions options;
  options.local_utc_offset = std::chrono::hours(9);
  for (const auto& [key, value] : query) {
    if (key != "virtual_account") {
      return std::unexpected(Refusal(ErrorCode::kUnknownField, key + " is not a parameter of this route", key));
    }
    if (value == "creditor_account") {
      options.virtual_account_source = iso20022::VirtualAccountSource::kCreditorAccount;
    } else if (value == "notified_account") {
      options.virtual_account_source = iso20022::VirtualAccountSource::kNotifiedAccount;
    } else if (value == "creditor_reference") {
      options.virtual_account_source = iso20022::VirtualAccountSource::kCreditorReference;
    } else {
      return std::unexpected(Refusal(ErrorCode::kInvalidField,
                                     "must be creditor_account, notified_account or creditor_reference", key));
    }
  }
  auto message = iso20022::ReadCamt054(xml, options);
  if (!message) {
    const Error& e = message.error();
    return std::unexpected(Refusal(e.code, "camt.054: " + e.detail, e.field.empty() ? "body" : e.field));
  }
  ImportNotices import;
  import.source = message->message_id;
  for (const auto& t : message->transactions) {
    auto c = iso20022::Classify(t);
    if (c.action == Action::kDeposit && !IsVirtualAccountNumber(t.virtual_account)) {
      c.action = Action::kReview;
      c.reason = "not_a_virtual_account_number";
    }
    switch (c.action) {
      case Action::kDeposit:
        import.notices.push_back(DepositNotice{t.dedupe_reference, t.virtual_account, t.amount,
                                               PayerName(t.payer_name), BookedAt(t, *message)});
        break;
      case Action::kCancellation:
        import.notices.push_back(CancelDeposit{t.dedupe_reference, c.original_reference, BookedAt(t, *message)});
        break;
      case Action::kIgnore:
      case Action::kReview:
        import.skipped.push_back({t.dedupe_reference, std::string(iso20022::ActionName(c.action)),
                                  std::string(c.reason)});
        break;
    }
  }
  return import;
}

Decoded<StoreStatements> DecodeCamt053(std::string_view xml) {
  iso20022::ReadOptions options;
  options.local_utc_offset = std::chrono::hours(9);
  auto message = iso20022::ReadCamt053(xml, options);
  if (!message) {
    const Error& e = message.error();
    return std::unexpected(Refusal(e.code, "camt.053: " + e.detail, e.field.empty() ? "body" : e.field));
  }
  if (message->statements.size() > kMaxStatementsPerMessage) {
    return std::unexpected(Refusal(ErrorCode::kBodyTooLarge,
                                   "camt.053: at most " + std::to_string(kMaxStatementsPerMessage) +
                                       " account statements (Stmt) per message",
                                   "body"));
  }
  StoreStatements store;
  store.xml = std::string(xml);
  for (const auto& account : message->statements) {
    BankStatement s;
    s.message_id = message->message_id;
    s.statement_id = account.id;
    s.account = account.account;
    s.created = message->created.text;
    for (const auto& balance : account.balances) {
      if (s.currency.empty()) s.currency = std::string(balance.amount.currency().code());
      if (balance.type == "OPBD" && !s.opening_minor) s.opening_minor = balance.amount.minor();
      if (balance.type == "CLBD" && !s.closing_minor) s.closing_minor = balance.amount.minor();
    }
    for (const auto& t : account.transactions) {
      if (t.transaction_number == 1) ++s.entries;  // entries (Ntry), as the statement counts them
      // Sums go by transaction: a batched entry's details carry their own amounts.
      if (t.status != iso20022::EntryStatus::kBooked) continue;
      (t.credit_debit == iso20022::CreditDebit::kCredit ? s.credits_minor : s.debits_minor) += t.amount.minor();
      if (s.currency.empty()) s.currency = std::string(t.amount.currency().code());
    }
    store.statements.push_back(std::move(s));
  }
  return store;
}

}  // namespace varelay::api
