#include "store/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <string_view>

#include "store/log_records.h"
#include "store/sqlite_statement.h"
#include "store/wal_checkpointer.h"

namespace varelay {
namespace {

using sqlite::Statement;

// Numbered migrations: index + 1 is the version. Never edit one that has shipped; append.
constexpr std::array<std::string_view, 12> kMigrations = {R"sql(
CREATE TABLE banks (
  code TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE merchants (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, active INTEGER NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE contracts (
  merchant TEXT NOT NULL, bank TEXT NOT NULL, mother_account TEXT NOT NULL,
  holder_name TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (merchant, bank));
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, role TEXT NOT NULL, merchant TEXT NOT NULL,
  bank TEXT NOT NULL, label TEXT NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER);
CREATE TABLE numbers (
  bank TEXT NOT NULL, number TEXT NOT NULL, merchant TEXT NOT NULL, region TEXT NOT NULL,
  state INTEGER NOT NULL, generation INTEGER NOT NULL, assignment_id TEXT NOT NULL,
  release_at INTEGER, PRIMARY KEY (bank, number)) WITHOUT ROWID;
CREATE TABLE assignments (
  id TEXT PRIMARY KEY, merchant TEXT NOT NULL, order_id TEXT NOT NULL, bank TEXT NOT NULL,
  region TEXT NOT NULL, number TEXT NOT NULL, generation INTEGER NOT NULL,
  holder_name TEXT NOT NULL, amount_minor INTEGER NOT NULL, currency TEXT NOT NULL,
  rule_kind TEXT NOT NULL, rule_min INTEGER NOT NULL, rule_max INTEGER NOT NULL,
  overpayment TEXT NOT NULL, paid_minor INTEGER NOT NULL, status TEXT NOT NULL,
  customer_name TEXT NOT NULL, customer_phone TEXT NOT NULL, customer_email TEXT NOT NULL,
  created_at INTEGER NOT NULL, due_at INTEGER NOT NULL, closed_at INTEGER,
  fingerprint TEXT NOT NULL, UNIQUE (merchant, order_id));
CREATE INDEX assignments_by_number ON assignments (bank, number, generation);
CREATE TABLE deposits (
  id TEXT PRIMARY KEY, bank TEXT NOT NULL, transaction_id TEXT NOT NULL, number TEXT NOT NULL,
  generation INTEGER NOT NULL, assignment_id TEXT NOT NULL, order_id TEXT NOT NULL,
  merchant TEXT NOT NULL, amount_minor INTEGER NOT NULL, currency TEXT NOT NULL,
  payer_name TEXT NOT NULL, deposited_at INTEGER NOT NULL, received_at INTEGER NOT NULL,
  outcome TEXT NOT NULL, to_merchant_minor INTEGER NOT NULL, parked_minor INTEGER NOT NULL,
  status TEXT NOT NULL, cancelled_at INTEGER, cancel_transaction_id TEXT NOT NULL,
  fingerprint TEXT NOT NULL, UNIQUE (bank, transaction_id));
CREATE INDEX deposits_by_number ON deposits (number);
CREATE UNIQUE INDEX deposits_by_cancellation ON deposits (bank, cancel_transaction_id)
  WHERE cancel_transaction_id != '';
CREATE INDEX deposits_by_order ON deposits (merchant, order_id);
CREATE INDEX deposits_by_received ON deposits (received_at);
CREATE TABLE ledger_entries (
  seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL, deposit_id TEXT NOT NULL,
  currency TEXT NOT NULL, lines TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX ledger_by_deposit ON ledger_entries (deposit_id);
CREATE TABLE idempotency (
  caller TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, status INTEGER NOT NULL,
  body TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (caller, key)) WITHOUT ROWID;
CREATE INDEX idempotency_by_age ON idempotency (created_at);
)sql",
                                                                  R"sql(
ALTER TABLE numbers ADD COLUMN event_seq INTEGER NOT NULL DEFAULT 0;
CREATE TABLE webhook_endpoints (
  id TEXT PRIMARY KEY, merchant TEXT NOT NULL, url TEXT NOT NULL, event_types TEXT NOT NULL,
  enabled INTEGER NOT NULL, disabled_reason TEXT NOT NULL, description TEXT NOT NULL,
  secret TEXT NOT NULL, previous_secret TEXT NOT NULL, previous_expires_at INTEGER,
  created_at INTEGER NOT NULL, deleted_at INTEGER);
CREATE TABLE events (
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, merchant TEXT NOT NULL, type TEXT NOT NULL,
  bank TEXT NOT NULL, number TEXT NOT NULL, sequence INTEGER NOT NULL, generation INTEGER NOT NULL,
  assignment_id TEXT NOT NULL, order_id TEXT NOT NULL, created_at INTEGER NOT NULL,
  payload TEXT NOT NULL);
CREATE INDEX events_by_merchant ON events (merchant, seq);
CREATE TABLE deliveries (
  event_seq INTEGER NOT NULL, endpoint_id TEXT NOT NULL, merchant TEXT NOT NULL,
  status TEXT NOT NULL, attempts INTEGER NOT NULL, last_attempt_at INTEGER, next_attempt_at INTEGER,
  last_status INTEGER, last_error TEXT NOT NULL, delivered_at INTEGER,
  PRIMARY KEY (event_seq, endpoint_id)) WITHOUT ROWID;
CREATE INDEX deliveries_pending ON deliveries (endpoint_id) WHERE status = 'pending';
)sql",
                                                                  R"sql(
ALTER TABLE banks ADD COLUMN protocol TEXT NOT NULL DEFAULT 'json';
ALTER TABLE banks ADD COLUMN signing_secret TEXT NOT NULL DEFAULT '';
)sql",
                                                                  R"sql(
ALTER TABLE contracts ADD COLUMN issuance TEXT NOT NULL DEFAULT 'pool';
ALTER TABLE contracts ADD COLUMN realtime_url TEXT NOT NULL DEFAULT '';
ALTER TABLE contracts ADD COLUMN realtime_timeout_ms INTEGER NOT NULL DEFAULT 3000;
ALTER TABLE contracts ADD COLUMN fallback_to_pool INTEGER NOT NULL DEFAULT 1;
)sql",
                                                                  R"sql(
CREATE TABLE bank_statement_messages (
  bank TEXT NOT NULL, message_id TEXT NOT NULL, xml TEXT NOT NULL, received_at INTEGER NOT NULL,
  PRIMARY KEY (bank, message_id));
CREATE TABLE bank_statements (
  bank TEXT NOT NULL, message_id TEXT NOT NULL, statement_id TEXT NOT NULL, account TEXT NOT NULL,
  currency TEXT NOT NULL, opening_minor INTEGER, closing_minor INTEGER, entries INTEGER NOT NULL,
  credits_minor INTEGER NOT NULL, debits_minor INTEGER NOT NULL, created TEXT NOT NULL,
  received_at INTEGER NOT NULL, PRIMARY KEY (bank, message_id, statement_id));
CREATE INDEX bank_statements_by_time ON bank_statements (bank, received_at);
)sql",
                                                          R"sql(
ALTER TABLE banks ADD COLUMN endpoint TEXT NOT NULL DEFAULT '';
CREATE TABLE transfers (
  id TEXT PRIMARY KEY, merchant TEXT NOT NULL, bank TEXT NOT NULL, debit_account TEXT NOT NULL,
  amount_minor INTEGER NOT NULL, currency TEXT NOT NULL, recipient_bank TEXT NOT NULL,
  recipient_account TEXT NOT NULL, recipient_name TEXT NOT NULL, memo TEXT NOT NULL,
  status TEXT NOT NULL, request_date INTEGER NOT NULL, request_sequence INTEGER NOT NULL,
  attempts INTEGER NOT NULL, in_doubt INTEGER NOT NULL, response_code TEXT NOT NULL,
  last_error TEXT NOT NULL, bank_reference TEXT NOT NULL, created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL, finished_at INTEGER);
CREATE UNIQUE INDEX transfers_by_request ON transfers (bank, request_date, request_sequence);
CREATE INDEX transfers_by_merchant ON transfers (merchant, created_at);
CREATE INDEX transfers_pending ON transfers (status) WHERE status = 'pending';
)sql",
                                                          R"sql(
-- Idempotency records in arrival order, the client's random key in a small index: a batch appends
-- its responses to one page instead of splitting pages all over a tree keyed by random keys.
CREATE TABLE idempotency_by_arrival (
  caller TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, status INTEGER NOT NULL,
  body TEXT NOT NULL, created_at INTEGER NOT NULL);
INSERT INTO idempotency_by_arrival SELECT caller, key, fingerprint, status, body, created_at FROM idempotency
  ORDER BY created_at;
DROP TABLE idempotency;
ALTER TABLE idempotency_by_arrival RENAME TO idempotency;
CREATE UNIQUE INDEX idempotency_by_key ON idempotency (caller, key);
CREATE INDEX idempotency_by_age ON idempotency (created_at);
)sql",
                                                          R"sql(
-- The token of the snapshot the engine wrote at its last clean stop; cleared at every start.
CREATE TABLE stop_snapshot (token TEXT NOT NULL);
)sql",
                                                          R"sql(
-- The last command-log batch these tables hold (store/log_store.h); 0 when none was applied.
CREATE TABLE log_position (lsn INTEGER NOT NULL);
INSERT INTO log_position VALUES (0);
)sql",
                                                          R"sql(
-- Issue 14, migration 10: whether an endpoint's events carry the customer (personal data).
ALTER TABLE webhook_endpoints ADD COLUMN include_personal_data INTEGER NOT NULL DEFAULT 1;
)sql",
                                                          R"sql(
-- Issue 14, migration 11. Access: channels a bank may also report on, merchants' pay-out limits
-- and allow-lists, and the record of every account-holder inquiry.
ALTER TABLE banks ADD COLUMN extra_channels INTEGER NOT NULL DEFAULT 0;
CREATE TABLE payout_policies (
  merchant TEXT PRIMARY KEY, per_transfer_max_minor INTEGER NOT NULL, daily_max_minor INTEGER NOT NULL,
  recipients TEXT NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE holder_inquiries (
  id TEXT PRIMARY KEY, merchant TEXT NOT NULL, key_id TEXT NOT NULL, bank TEXT NOT NULL,
  account_masked TEXT NOT NULL, outcome TEXT NOT NULL, asked_at INTEGER NOT NULL, answered_at INTEGER);
CREATE INDEX holder_inquiries_by_merchant ON holder_inquiries (merchant, asked_at);
)sql",
                                                          R"sql(
-- Issue 15, migration 13: division accounts (docs/division-accounts.md). Each record's row keeps
-- the columns its look-ups and uniqueness need, and the whole record as its command-log encoding
-- (store/log_records.h) in `body`; personal data in it is sealed by the API layer.
ALTER TABLE merchants ADD COLUMN category TEXT NOT NULL DEFAULT 'general';
ALTER TABLE merchants ADD COLUMN division_direct INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN master TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
ALTER TABLE transfers ADD COLUMN purpose TEXT NOT NULL DEFAULT 'payout';
ALTER TABLE transfers ADD COLUMN division_payment TEXT NOT NULL DEFAULT '';
CREATE TABLE masters (
  id TEXT PRIMARY KEY, login_digest TEXT NOT NULL UNIQUE, account_digest TEXT NOT NULL UNIQUE, body BLOB NOT NULL);
CREATE TABLE division_accounts (
  id TEXT PRIMARY KEY, master TEXT NOT NULL, number TEXT NOT NULL UNIQUE, body BLOB NOT NULL);
CREATE TABLE division_payments (
  id TEXT PRIMARY KEY, merchant TEXT NOT NULL, order_id TEXT NOT NULL, master TEXT NOT NULL,
  account TEXT NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL, body BLOB NOT NULL);
CREATE UNIQUE INDEX division_payments_by_order ON division_payments (merchant, order_id);
CREATE INDEX division_payments_by_account ON division_payments (account, created_at);
CREATE TABLE division_approvals (id TEXT PRIMARY KEY, master TEXT NOT NULL, body BLOB NOT NULL);
)sql"};

std::int64_t NumberStateCode(NumberState s) { return static_cast<std::int64_t>(s); }
NumberState NumberStateFromCode(std::int64_t c) {
  return c == 1 ? NumberState::kAssigned : c == 2 ? NumberState::kCooling : NumberState::kFree;
}

std::optional<std::int64_t> OptionalMs(const std::optional<Instant>& t) {
  if (!t) return std::nullopt;
  return ToUnixMs(*t);
}
std::optional<Instant> OptionalInstant(std::optional<std::int64_t> ms) {
  if (!ms) return std::nullopt;
  return FromUnixMs(*ms);
}

// A pay-out allow-list as one column: "bank:account" pairs, one a line (neither holds either).
std::string EncodeRecipients(const std::vector<PayoutRecipient>& recipients) {
  std::string out;
  for (const auto& r : recipients) out += r.bank + ':' + r.account + '\n';
  return out;
}
std::vector<PayoutRecipient> DecodeRecipients(std::string_view text) {
  std::vector<PayoutRecipient> out;
  while (!text.empty()) {
    auto line = text.substr(0, text.find('\n'));
    text.remove_prefix(std::min(text.size(), line.size() + 1));
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    out.push_back({std::string(line.substr(0, colon)), std::string(line.substr(colon + 1))});
  }
  return out;
}

constexpr std::string_view kHolderInquiryColumns =
    "id, merchant, key_id, bank, account_masked, outcome, asked_at, answered_at";
HolderInquiryRecord ReadHolderInquiry(const Statement& s) {
  HolderInquiryRecord h;
  h.id = s.Text(0);
  h.merchant = s.Text(1);
  h.key_id = s.Text(2);
  h.bank = s.Text(3);
  h.account_masked = s.Text(4);
  h.outcome = ParseHolderInquiryOutcome(s.Text(5)).value_or(HolderInquiryOutcome::kAsked);
  h.asked_at = FromUnixMs(s.Int(6));
  h.answered_at = OptionalInstant(s.OptionalInt(7));
  return h;
}

AssignmentStatus AssignmentStatusFrom(std::string_view s) {
  if (s == "paid") return AssignmentStatus::kPaid;
  if (s == "expired") return AssignmentStatus::kExpired;
  if (s == "cancelled") return AssignmentStatus::kCancelled;
  return AssignmentStatus::kOpen;
}

DepositOutcome DepositOutcomeFrom(std::string_view s) {
  for (auto o : {DepositOutcome::kMatched, DepositOutcome::kPartial, DepositOutcome::kOverpaid,
                 DepositOutcome::kAmountMismatch, DepositOutcome::kUnknownNumber,
                 DepositOutcome::kNotAssigned, DepositOutcome::kLate}) {
    if (DepositOutcomeName(o) == s) return o;
  }
  return DepositOutcome::kUnknownNumber;
}

Currency CurrencyFrom(std::string_view code) {
  return Currency::FromCode(code).value_or(Currency::Krw());
}

// Ledger lines are stored as "account:debit:credit;..." (account names contain neither ':'
// nor ';', being built from validated ids).
std::string EncodeLines(const std::vector<LedgerLine>& lines) {
  std::string text;
  for (const auto& line : lines) {
    if (!text.empty()) text += ';';
    text += line.account + ':' + std::to_string(line.debit_minor) + ':' +
            std::to_string(line.credit_minor);
  }
  return text;
}

std::vector<LedgerLine> DecodeLines(std::string_view text) {
  std::vector<LedgerLine> lines;
  while (!text.empty()) {
    auto end = text.find(';');
    std::string_view part = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    auto c2 = part.rfind(':');
    auto c1 = part.rfind(':', c2 == 0 ? 0 : c2 - 1);
    if (c1 == std::string_view::npos || c2 == std::string_view::npos || c1 == c2) continue;
    LedgerLine line;
    line.account = std::string(part.substr(0, c1));
    auto debit = part.substr(c1 + 1, c2 - c1 - 1);
    auto credit = part.substr(c2 + 1);
    std::from_chars(debit.data(), debit.data() + debit.size(), line.debit_minor);
    std::from_chars(credit.data(), credit.data() + credit.size(), line.credit_minor);
    lines.push_back(std::move(line));
  }
  return lines;
}

constexpr std::string_view kAssignmentColumns =
    "id, merchant, order_id, bank, region, number, generation, holder_name, amount_minor, "
    "currency, rule_kind, rule_min, rule_max, overpayment, paid_minor, status, customer_name, "
    "customer_phone, customer_email, created_at, due_at, closed_at, fingerprint";

Assignment ReadAssignment(const Statement& s) {
  Assignment a;
  a.id = s.Text(0);
  a.merchant = s.Text(1);
  a.order_id = s.Text(2);
  a.bank = s.Text(3);
  a.region = s.Text(4);
  a.number = s.Text(5);
  a.generation = s.Int(6);
  a.holder_name = s.Text(7);
  a.amount = Money(s.Int(8), CurrencyFrom(s.Text(9)));
  a.rule.kind = ParseAmountRuleKind(s.Text(10)).value_or(AmountRuleKind::kExact);
  a.rule.min_minor = s.Int(11);
  a.rule.max_minor = s.Int(12);
  a.rule.overpayment = ParseOverpayment(s.Text(13)).value_or(Overpayment::kRefuse);
  a.paid_minor = s.Int(14);
  a.status = AssignmentStatusFrom(s.Text(15));
  a.customer = {s.Text(16), s.Text(17), s.Text(18)};
  a.created_at = FromUnixMs(s.Int(19));
  a.due_at = FromUnixMs(s.Int(20));
  a.closed_at = OptionalInstant(s.OptionalInt(21));
  a.request_fingerprint = s.Text(22);
  return a;
}

constexpr std::string_view kDepositColumns =
    "id, bank, transaction_id, number, generation, assignment_id, order_id, merchant, "
    "amount_minor, currency, payer_name, deposited_at, received_at, outcome, to_merchant_minor, "
    "parked_minor, status, cancelled_at, cancel_transaction_id, fingerprint";

Deposit ReadDeposit(const Statement& s) {
  Deposit d;
  d.id = s.Text(0);
  d.bank = s.Text(1);
  d.transaction_id = s.Text(2);
  d.number = s.Text(3);
  d.generation = s.Int(4);
  d.assignment_id = s.Text(5);
  d.order_id = s.Text(6);
  d.merchant = s.Text(7);
  d.amount = Money(s.Int(8), CurrencyFrom(s.Text(9)));
  d.payer_name = s.Text(10);
  d.deposited_at = FromUnixMs(s.Int(11));
  d.received_at = FromUnixMs(s.Int(12));
  d.outcome = DepositOutcomeFrom(s.Text(13));
  d.to_merchant_minor = s.Int(14);
  d.parked_minor = s.Int(15);
  d.status = s.Text(16) == "cancelled" ? DepositStatus::kCancelled : DepositStatus::kBooked;
  d.cancelled_at = OptionalInstant(s.OptionalInt(17));
  d.cancel_transaction_id = s.Text(18);
  d.notice_fingerprint = s.Text(19);
  return d;
}

constexpr std::string_view kLedgerColumns =
    "e.seq, e.at, e.kind, e.deposit_id, e.currency, e.lines, e.prev_hash, e.hash";

LedgerEntry ReadLedgerEntry(const Statement& s) {
  LedgerEntry e;
  e.seq = s.Int(0);
  e.at = FromUnixMs(s.Int(1));
  e.kind = ParseEntryKind(s.Text(2));
  e.deposit_id = s.Text(3);
  e.currency = CurrencyFrom(s.Text(4));
  e.lines = DecodeLines(s.Text(5));
  e.prev_hash = s.Text(6);
  e.hash = s.Text(7);
  return e;
}

// Event types are stored as a comma-separated list of their names ("" for every type).
std::string EncodeEventTypes(const std::vector<EventType>& types) {
  std::string text;
  for (auto t : types) {
    if (!text.empty()) text += ',';
    text += EventTypeName(t);
  }
  return text;
}

std::vector<EventType> DecodeEventTypes(std::string_view text) {
  std::vector<EventType> types;
  while (!text.empty()) {
    auto end = text.find(',');
    if (auto t = ParseEventType(text.substr(0, end))) types.push_back(*t);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
  return types;
}

constexpr std::string_view kEndpointColumns =
    "id, merchant, url, event_types, enabled, disabled_reason, description, secret, previous_secret, "
    "previous_expires_at, created_at, deleted_at, include_personal_data";

WebhookEndpoint ReadEndpoint(const Statement& s) {
  WebhookEndpoint e;
  e.id = s.Text(0);
  e.merchant = s.Text(1);
  e.url = s.Text(2);
  e.event_types = DecodeEventTypes(s.Text(3));
  e.enabled = s.Int(4) != 0;
  e.disabled_reason = s.Text(5);
  e.description = s.Text(6);
  e.secret = s.Text(7);
  e.previous_secret = s.Text(8);
  e.previous_secret_expires_at = OptionalInstant(s.OptionalInt(9));
  e.created_at = FromUnixMs(s.Int(10));
  e.deleted_at = OptionalInstant(s.OptionalInt(11));
  e.include_personal_data = s.Int(12) != 0;
  return e;
}

// Read with a column offset so a join can put the event's columns after the delivery's.
constexpr std::string_view kEventColumns =
    "v.seq, v.id, v.merchant, v.type, v.bank, v.number, v.sequence, v.generation, v.assignment_id, "
    "v.order_id, v.created_at, v.payload";

Event ReadEvent(const Statement& s, int at = 0) {
  Event e;
  e.seq = s.Int(at + 0);
  e.id = s.Text(at + 1);
  e.merchant = s.Text(at + 2);
  e.type = ParseEventType(s.Text(at + 3)).value_or(EventType::kAssignmentCreated);
  e.bank = s.Text(at + 4);
  e.number = s.Text(at + 5);
  e.sequence = s.Int(at + 6);
  e.generation = s.Int(at + 7);
  e.assignment_id = s.Text(at + 8);
  e.order_id = s.Text(at + 9);
  e.created_at = FromUnixMs(s.Int(at + 10));
  e.payload = s.Text(at + 11);
  return e;
}

constexpr std::string_view kDeliveryColumns =
    "d.event_seq, d.endpoint_id, d.merchant, d.status, d.attempts, d.last_attempt_at, "
    "d.next_attempt_at, d.last_status, d.last_error, d.delivered_at";
constexpr int kDeliveryColumnCount = 10;

Delivery ReadDelivery(const Statement& s) {
  Delivery d;
  d.event_seq = s.Int(0);
  d.endpoint_id = s.Text(1);
  d.merchant = s.Text(2);
  d.status = ParseDeliveryStatus(s.Text(3)).value_or(DeliveryStatus::kFailed);
  d.attempts = static_cast<int>(s.Int(4));
  d.last_attempt_at = OptionalInstant(s.OptionalInt(5));
  d.next_attempt_at = OptionalInstant(s.OptionalInt(6));
  if (auto status = s.OptionalInt(7)) d.last_status = static_cast<int>(*status);
  d.last_error = s.Text(8);
  d.delivered_at = OptionalInstant(s.OptionalInt(9));
  return d;
}

constexpr std::string_view kStatementColumns =
    "bank, message_id, statement_id, account, currency, opening_minor, closing_minor, entries, credits_minor, "
    "debits_minor, created, received_at";

BankStatement ReadStatement(const Statement& s) {
  BankStatement b;
  b.bank = s.Text(0);
  b.message_id = s.Text(1);
  b.statement_id = s.Text(2);
  b.account = s.Text(3);
  b.currency = s.Text(4);
  b.opening_minor = s.OptionalInt(5);
  b.closing_minor = s.OptionalInt(6);
  b.entries = s.Int(7);
  b.credits_minor = s.Int(8);
  b.debits_minor = s.Int(9);
  b.created = s.Text(10);
  b.received_at = FromUnixMs(s.Int(11));
  return b;
}

constexpr std::string_view kTransferColumns =
    "id, merchant, bank, debit_account, amount_minor, currency, recipient_bank, recipient_account, recipient_name, "
    "memo, status, request_date, request_sequence, attempts, in_doubt, response_code, last_error, bank_reference, "
    "created_at, updated_at, next_attempt_at, finished_at, purpose, division_payment";

std::int64_t DateCode(std::chrono::year_month_day d) {
  return int(d.year()) * 10'000 + std::int64_t{unsigned(d.month())} * 100 + unsigned(d.day());
}
std::chrono::year_month_day DateFromCode(std::int64_t c) {
  return std::chrono::year{int(c / 10'000)} / std::chrono::month{unsigned(c / 100 % 100)} /
         std::chrono::day{unsigned(c % 100)};
}

Transfer ReadTransfer(const Statement& s) {
  Transfer t;
  t.id = s.Text(0);
  t.merchant = s.Text(1);
  t.bank = s.Text(2);
  t.debit_account = s.Text(3);
  t.amount = Money(s.Int(4), CurrencyFrom(s.Text(5)));
  t.recipient_bank = s.Text(6);
  t.recipient_account = s.Text(7);
  t.recipient_name = s.Text(8);
  t.memo = s.Text(9);
  t.status = ParseTransferStatus(s.Text(10)).value_or(TransferStatus::kPending);
  t.request_date = DateFromCode(s.Int(11));
  t.request_sequence = static_cast<std::uint32_t>(s.Int(12));
  t.attempts = static_cast<int>(s.Int(13));
  t.in_doubt = s.Int(14) != 0;
  t.response_code = s.Text(15);
  t.last_error = s.Text(16);
  t.bank_reference = s.Text(17);
  t.created_at = FromUnixMs(s.Int(18));
  t.updated_at = FromUnixMs(s.Int(19));
  t.next_attempt_at = FromUnixMs(s.Int(20));
  t.finished_at = OptionalInstant(s.OptionalInt(21));
  t.purpose = ParseTransferPurpose(s.Text(22)).value_or(TransferPurpose::kPayout);
  t.division_payment = s.Text(23);
  return t;
}

// Reads the assignments behind live numbers on a read connection and thread of its own while
// the numbers are still being scanned, so a start from the store uses both cores: the scan hands
// over ids in chunks, and this thread passes each assignment read to the sink itself (see
// LoadSink::OnLiveAssignment). Finish waits for the last.
class LiveAssignmentReader {
 public:
  LiveAssignmentReader(const std::string& path, LoadSink& sink)
      : sink_(sink), thread_([this, path] { Run(path); }) {}
  ~LiveAssignmentReader() {
    if (thread_.joinable()) (void)Finish();
  }

  void Add(std::string_view id) {
    pending_.emplace_back(id);
    if (pending_.size() >= kChunk) Hand();
  }

  // No more ids: waits until the last assignment has reached the sink.
  Result<void> Finish() {
    Hand();
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_one();
    thread_.join();
    if (!error_.empty()) return Fail(ErrorCode::kInternal, error_);
    return {};
  }

 private:
  static constexpr std::size_t kChunk = 8192;
  static constexpr int kIdsPerQuery = 64;

  void Hand() {
    if (pending_.empty()) return;
    {
      std::lock_guard lock(mutex_);
      chunks_.push_back(std::move(pending_));
    }
    pending_ = {};
    wake_.notify_one();
  }

  void Run(const std::string& path) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
      error_ = "cannot open " + path + " to read live assignments: " + (db ? sqlite3_errmsg(db) : "out of memory");
      sqlite3_close_v2(db);
      Drain();
      return;
    }
    sqlite3_busy_timeout(db, 5000);
    ReadAll(db);
    sqlite3_close_v2(db);
    Drain();
  }

  // Reads every chunk handed over until Finish; one read transaction, so one consistent view.
  void ReadAll(sqlite3* db) {
    if (sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
      error_ = std::string("beginning the live assignment read: ") + sqlite3_errmsg(db);
      return;
    }
    std::string sql = "SELECT " + std::string(kAssignmentColumns) + " FROM assignments WHERE id IN (?1";
    for (int i = 2; i <= kIdsPerQuery; ++i) sql += ", ?" + std::to_string(i);
    Statement find(db, sql + ")");
    if (!find.ok()) {
      error_ = std::string("preparing the live assignment query: ") + sqlite3_errmsg(db);
      return;
    }
    for (;;) {
      std::vector<std::string> chunk;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return done_ || !chunks_.empty(); });
        if (chunks_.empty()) break;
        chunk = std::move(chunks_.front());
        chunks_.pop_front();
      }
      // In id order within a chunk: ids sort by creation time, so the reads move forward through
      // the table's pages.
      std::sort(chunk.begin(), chunk.end());
      for (std::size_t first = 0; first < chunk.size(); first += kIdsPerQuery) {
        for (int i = 0; i < kIdsPerQuery; ++i) {
          std::size_t n = first + static_cast<std::size_t>(i);
          if (n < chunk.size()) {
            find.Bind(i + 1, chunk[n]);
          } else {
            find.BindNull(i + 1);  // matches nothing
          }
        }
        int rc;
        while ((rc = find.Step()) == SQLITE_ROW) sink_.OnLiveAssignment(ReadAssignment(find));
        find.Reset();
        if (rc != SQLITE_DONE) {
          error_ = std::string("loading live assignments: ") + sqlite3_errmsg(db);
          return;
        }
      }
    }
    find = Statement();
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }

  // After a failure: takes the chunks still coming until Finish, so the scan never waits on it.
  void Drain() {
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [&] {
      chunks_.clear();
      return done_;
    });
  }

  std::vector<std::string> pending_;  // the scan's side: ids not yet handed over
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::vector<std::string>> chunks_;
  bool done_ = false;
  LoadSink& sink_;  // OnLiveAssignment only, on this thread
  std::string error_;
  std::thread thread_;  // last: starts once everything above exists
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  ~SqliteStore() override {
    if (wal_fd_ >= 0) ::close(wal_fd_);
    checkpointer_.reset();
    statements_ = {};
    sqlite3_close_v2(db_);
  }

  Result<void> Prepare(OpenMode mode, const std::string& path, const SqliteOptions& options) {
    db_path_ = path;
    if (mode == OpenMode::kReadWrite) {
      // WAL with synchronous=NORMAL: a commit writes its frames to the log and returns; Sync
      // flushes the log (what synchronous=FULL would do inside every commit), on whichever thread
      // the engine calls it from. Checkpoints still flush the log before copying it and the
      // database file after.
      for (const char* pragma :
           {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=OFF",
            // 16 MiB of page cache. SQLite walks its page cache's hash table at the end of every
            // transaction, so a cache filled with the number table's pages (256 MiB, the old
            // setting, at 10^7 numbers) cost the engine about a fifth of its time; the pages
            // themselves stay in the operating system's cache anyway.
            "PRAGMA cache_size=-16384"}) {
        if (auto r = Exec(pragma); !r) return r;
      }
      if (auto r = Migrate(); !r) return r;
      if (auto r = CountIdempotency(); !r) return r;
      // Sync's own descriptor of the log, opened once: SQLite keeps the log's file while this
      // connection is open (restarting the log rewrites it from the front; only the last
      // connection's close removes it), so every commit goes to this file.
      const std::string wal_path = path + "-wal";
      wal_fd_ = ::open(wal_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (wal_fd_ < 0) {
        return Fail(ErrorCode::kInternal, "cannot open the write-ahead log " + wal_path + ": " + std::strerror(errno));
      }
      // Pages are copied from the log into the database file on another thread, off the
      // acknowledgement path (store/wal_checkpointer.h).
      WalCheckpointerOptions checkpoints;
      checkpoints.wake_pages = options.checkpoint_pages;
      checkpoints.idle = options.idle_checkpoints;
      checkpoints.hard_pages = std::max(checkpoints.hard_pages, 16 * options.checkpoint_pages);
      auto checkpointer = WalCheckpointer::Start(db_, path, checkpoints);
      if (!checkpointer) return std::unexpected(checkpointer.error());
      checkpointer_ = std::move(*checkpointer);
    }
    sqlite3_busy_timeout(db_, 5000);
    return PrepareStatements();
  }

  StoreStats Stats() const override {
    StoreStats stats;
    if (checkpointer_) {
      stats.checkpoints_background = checkpointer_->background_runs();
      stats.checkpoints_by_writer = checkpointer_->writer_runs();
    }
    stats.idempotency_records = idempotency_records_.load(std::memory_order_relaxed);
    return stats;
  }

  Result<void> Load(LoadSink& sink, LoadParts parts) override;
  Result<void> LoadAll(LoadSink& sink, LoadParts parts);
  // The numbers and the live assignments behind them.
  Result<void> LoadNumbers(LoadSink& sink);
  Result<std::string> SnapshotToken() override;
  Result<void> SetSnapshotToken(const std::string& token) override;
  Result<std::uint64_t> LogPosition() override {
    Statement s(db_, "SELECT lsn FROM log_position");
    if (!s.ok()) return SqlError("preparing the log position query");
    auto lsn = FindOne(s, [](const Statement& r) { return r.Int(0); }, "reading the log position");
    if (!lsn) return std::unexpected(lsn.error());
    return static_cast<std::uint64_t>(lsn->value_or(0));
  }
  void SetLogPosition(std::uint64_t lsn) override {
    Statement s(db_, "UPDATE log_position SET lsn = ?1");
    if (s.ok()) Write(s.Bind(1, static_cast<std::int64_t>(lsn)));
    else if (batch_error_.empty()) batch_error_ = sqlite3_errmsg(db_);
  }
  void Begin() override;
  Result<void> Commit() override;
  Result<void> Sync() override;
  void Rollback() override;

  void PutBank(const Bank& bank) override {
    Write(statements_.insert_bank.Bind(1, bank.code).Bind(2, bank.name).Bind(3, ToUnixMs(bank.created_at))
              .Bind(4, BankProtocolName(bank.protocol)).Bind(5, bank.signing_secret).Bind(6, bank.endpoint));
  }
  void InsertMerchant(const Merchant& m) override {
    Write(statements_.insert_merchant.Bind(1, m.id).Bind(2, m.name)
              .Bind(3, std::int64_t{m.active ? 1 : 0}).Bind(4, ToUnixMs(m.created_at)));
  }
  void UpdateMerchant(const Merchant& m) override {
    Write(statements_.update_merchant.Bind(1, m.id).Bind(2, m.name).Bind(3, std::int64_t{m.active ? 1 : 0}));
  }
  void InsertContract(const Contract& c) override {
    Write(statements_.insert_contract.Bind(1, c.merchant).Bind(2, c.bank).Bind(3, c.mother_account)
              .Bind(4, c.holder_name).Bind(5, ToUnixMs(c.created_at)).Bind(6, IssuanceName(c.issuance))
              .Bind(7, c.realtime_url).Bind(8, c.realtime_timeout_ms).Bind(9, std::int64_t{c.fallback_to_pool ? 1 : 0}));
  }
  void PutApiKey(const ApiKey& k) override {
    Write(statements_.put_api_key.Bind(1, k.id).Bind(2, k.secret_hash).Bind(3, RoleName(k.role))
              .Bind(4, k.merchant).Bind(5, k.bank).Bind(6, k.label).Bind(7, ToUnixMs(k.created_at))
              .Bind(8, OptionalMs(k.revoked_at)).Bind(9, k.master).Bind(10, OptionalMs(k.expires_at)));
  }
  void PutNumber(const NumberRecord& n) override {
    Write(statements_.put_number.Bind(1, n.bank).Bind(2, n.number).Bind(3, n.merchant)
              .Bind(4, n.region).Bind(5, NumberStateCode(n.state)).Bind(6, n.generation)
              .Bind(7, n.assignment_id).Bind(8, OptionalMs(n.release_at)).Bind(9, n.event_seq));
  }
  void PutAssignment(const Assignment& a) override;
  void PutDeposit(const Deposit& d) override;
  void AppendLedgerEntry(const LedgerEntry& e) override {
    Write(statements_.append_ledger.Bind(1, e.seq).Bind(2, ToUnixMs(e.at)).Bind(3, EntryKindName(e.kind))
              .Bind(4, e.deposit_id).Bind(5, e.currency.code()).Bind(6, EncodeLines(e.lines))
              .Bind(7, e.prev_hash).Bind(8, e.hash));
  }
  void PutIdempotency(const IdempotencyRecord& r) override {
    if (batch_error_.empty()) ++idempotency_delta_;  // counted at the commit
    Write(statements_.put_idempotency.Bind(1, r.caller).Bind(2, r.key).Bind(3, r.fingerprint)
              .Bind(4, std::int64_t{r.status}).Bind(5, r.body).Bind(6, ToUnixMs(r.created_at)));
  }
  void DeleteIdempotencyBefore(Instant cutoff, int limit) override {
    Write(statements_.delete_idempotency.Bind(1, ToUnixMs(cutoff)).Bind(2, std::int64_t{limit}));
    idempotency_delta_ -= sqlite3_changes(db_);
  }

  void PutWebhookEndpoint(const WebhookEndpoint& e) override {
    Write(statements_.put_endpoint.Bind(1, e.id).Bind(2, e.merchant).Bind(3, e.url)
              .Bind(4, EncodeEventTypes(e.event_types)).Bind(5, std::int64_t{e.enabled ? 1 : 0})
              .Bind(6, e.disabled_reason).Bind(7, e.description).Bind(8, e.secret).Bind(9, e.previous_secret)
              .Bind(10, OptionalMs(e.previous_secret_expires_at)).Bind(11, ToUnixMs(e.created_at))
              .Bind(12, OptionalMs(e.deleted_at)).Bind(13, std::int64_t{e.include_personal_data ? 1 : 0}));
  }
  void AppendEvent(const Event& e) override {
    Write(statements_.append_event.Bind(1, e.seq).Bind(2, e.id).Bind(3, e.merchant).Bind(4, EventTypeName(e.type))
              .Bind(5, e.bank).Bind(6, e.number).Bind(7, e.sequence).Bind(8, e.generation)
              .Bind(9, e.assignment_id).Bind(10, e.order_id).Bind(11, ToUnixMs(e.created_at)).Bind(12, e.payload));
  }
  void PutDelivery(const Delivery& d) override {
    std::optional<std::int64_t> last_status;
    if (d.last_status) last_status = *d.last_status;
    Write(statements_.put_delivery.Bind(1, d.event_seq).Bind(2, d.endpoint_id).Bind(3, d.merchant)
              .Bind(4, DeliveryStatusName(d.status)).Bind(5, std::int64_t{d.attempts})
              .Bind(6, OptionalMs(d.last_attempt_at)).Bind(7, OptionalMs(d.next_attempt_at)).Bind(8, last_status)
              .Bind(9, d.last_error).Bind(10, OptionalMs(d.delivered_at)));
  }
  void FailPendingDeliveries(const std::string& endpoint_id, const std::string& reason) override {
    Write(statements_.fail_pending.Bind(1, endpoint_id).Bind(2, reason));
  }

  void PutStatementMessage(const StatementMessage& m) override {
    // The message's XML once per (bank, message): a message kept before keeps its first.
    Write(statements_.put_statement_message.Bind(1, m.bank).Bind(2, m.message_id).Bind(3, m.xml)
              .Bind(4, ToUnixMs(m.received_at)));
    for (const BankStatement& s : m.statements) InsertStatement(s);
  }
  void PutStatement(const BankStatement& s, const std::string& xml) override {
    Write(statements_.put_statement_message.Bind(1, s.bank).Bind(2, s.message_id).Bind(3, xml)
              .Bind(4, ToUnixMs(s.received_at)));
    InsertStatement(s);
  }
  void InsertStatement(const BankStatement& s) {
    Write(statements_.put_statement.Bind(1, s.bank).Bind(2, s.message_id).Bind(3, s.statement_id).Bind(4, s.account)
              .Bind(5, s.currency).Bind(6, s.opening_minor).Bind(7, s.closing_minor).Bind(8, s.entries)
              .Bind(9, s.credits_minor).Bind(10, s.debits_minor).Bind(11, s.created)
              .Bind(12, ToUnixMs(s.received_at)));
  }
  Result<std::optional<BankStatement>> FindStatement(const std::string& bank, const std::string& message_id,
                                                    const std::string& statement_id) override {
    return FindOne(statements_.find_statement.Bind(1, bank).Bind(2, message_id).Bind(3, statement_id), ReadStatement,
                   "reading statement");
  }
  Result<std::vector<BankStatement>> QueryStatements(const std::string& bank, int limit) override {
    Statement s(db_, "SELECT " + std::string(kStatementColumns) + " FROM bank_statements WHERE (?1 = '' OR bank = ?1) "
                     "ORDER BY received_at DESC, message_id, statement_id LIMIT ?2");
    if (!s.ok()) return SqlError("preparing statement query");
    s.Bind(1, bank).Bind(2, std::int64_t{limit});
    return ReadAll(s, [](const Statement& r) { return ReadStatement(r); }, "querying statements");
  }

  void PutBankChannels(const std::string& bank, std::uint32_t extra_channels) override {
    Statement s(db_, "UPDATE banks SET extra_channels = ?2 WHERE code = ?1");
    if (s.ok()) Write(s.Bind(1, bank).Bind(2, std::int64_t{extra_channels}));
    else if (batch_error_.empty()) batch_error_ = sqlite3_errmsg(db_);
  }
  void PutPayoutPolicy(const PayoutPolicy& p) override {
    Statement s(db_, "INSERT OR REPLACE INTO payout_policies VALUES (?1, ?2, ?3, ?4, ?5)");
    if (s.ok()) {
      Write(s.Bind(1, p.merchant).Bind(2, p.per_transfer_max_minor).Bind(3, p.daily_max_minor)
                .Bind(4, EncodeRecipients(p.recipients)).Bind(5, ToUnixMs(p.updated_at)));
    } else if (batch_error_.empty()) {
      batch_error_ = sqlite3_errmsg(db_);
    }
  }
  void PutMerchantDivision(const Merchant& m) override {
    Statement s(db_, "UPDATE merchants SET category = ?2, division_direct = ?3 WHERE id = ?1");
    WriteOnce(s.Bind(1, m.id).Bind(2, MerchantCategoryName(m.category)).Bind(3, std::int64_t{m.division_direct ? 1 : 0}));
  }
  void PutMaster(const Master& m) override {
    Statement s(db_, "INSERT OR REPLACE INTO masters VALUES (?1, ?2, ?3, ?4)");
    WriteOnce(s.Bind(1, m.id).Bind(2, m.login_digest).Bind(3, m.account_digest).Bind(4, RecordBody(&StoreWrites::PutMaster, m)));
  }
  void PutDivisionAccount(const DivisionAccount& a) override {
    Statement s(db_, "INSERT OR REPLACE INTO division_accounts VALUES (?1, ?2, ?3, ?4)");
    WriteOnce(s.Bind(1, a.id).Bind(2, a.master).Bind(3, a.number).Bind(4, RecordBody(&StoreWrites::PutDivisionAccount, a)));
  }
  void PutDivisionPayment(const DivisionPayment& p) override {
    Statement s(db_, "INSERT OR REPLACE INTO division_payments VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    WriteOnce(s.Bind(1, p.id).Bind(2, p.merchant).Bind(3, p.order_id).Bind(4, p.master).Bind(5, p.account)
                  .Bind(6, DivisionPaymentStatusName(p.status)).Bind(7, ToUnixMs(p.created_at))
                  .Bind(8, RecordBody(&StoreWrites::PutDivisionPayment, p)));
  }
  void PutDivisionApproval(const DivisionApproval& a) override {
    Statement s(db_, "INSERT OR REPLACE INTO division_approvals VALUES (?1, ?2, ?3)");
    WriteOnce(s.Bind(1, a.id).Bind(2, a.master).Bind(3, RecordBody(&StoreWrites::PutDivisionApproval, a)));
  }
  // Runs a statement prepared for this one write (rare writes: no cached statement).
  void WriteOnce(Statement& s) {
    if (s.ok()) {
      Write(s);
    } else if (batch_error_.empty()) {
      batch_error_ = sqlite3_errmsg(db_);
    }
  }
  // A record's command-log encoding without its tag byte (division tables keep it as `body`).
  template <typename T>
  static std::string RecordBody(void (StoreWrites::*write)(const T&), const T& value) {
    LogBatchEncoder encoder;
    (encoder.*write)(value);
    return encoder.bytes().substr(1);
  }
  Result<void> LoadDivision(LoadSink& sink);

  void PutHolderInquiry(const HolderInquiryRecord& h) override {
    // An update keeps the row (and its rowid, the order inquiries are listed in).
    Statement s(db_, "INSERT INTO holder_inquiries VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) "
                     "DO UPDATE SET outcome = excluded.outcome, answered_at = excluded.answered_at");
    if (s.ok()) {
      Write(s.Bind(1, h.id).Bind(2, h.merchant).Bind(3, h.key_id).Bind(4, h.bank).Bind(5, h.account_masked)
                .Bind(6, HolderInquiryOutcomeName(h.outcome)).Bind(7, ToUnixMs(h.asked_at))
                .Bind(8, OptionalMs(h.answered_at)));
    } else if (batch_error_.empty()) {
      batch_error_ = sqlite3_errmsg(db_);
    }
  }
  Result<std::vector<HolderInquiryRecord>> QueryHolderInquiries(const HolderInquiryQuery& q) override {
    Statement s(db_, "SELECT " + std::string(kHolderInquiryColumns) + " FROM holder_inquiries WHERE (?1 = '' OR "
                     "merchant = ?1) AND (?2 = '' OR rowid < (SELECT rowid FROM holder_inquiries WHERE id = ?2)) "
                     "ORDER BY rowid DESC LIMIT ?3");  // rowid: the order they were asked in
    if (!s.ok()) return SqlError("preparing holder inquiry query");
    s.Bind(1, q.merchant).Bind(2, q.before_id).Bind(3, std::int64_t{q.limit});
    return ReadAll(s, [](const Statement& r) { return ReadHolderInquiry(r); }, "querying holder inquiries");
  }

  void PutTransfer(const Transfer& t) override {
    Write(statements_.put_transfer.Bind(1, t.id).Bind(2, t.merchant).Bind(3, t.bank).Bind(4, t.debit_account)
              .Bind(5, t.amount.minor()).Bind(6, t.amount.currency().code()).Bind(7, t.recipient_bank)
              .Bind(8, t.recipient_account).Bind(9, t.recipient_name).Bind(10, t.memo)
              .Bind(11, TransferStatusName(t.status)).Bind(12, DateCode(t.request_date))
              .Bind(13, std::int64_t{t.request_sequence}).Bind(14, std::int64_t{t.attempts})
              .Bind(15, std::int64_t{t.in_doubt ? 1 : 0}).Bind(16, t.response_code).Bind(17, t.last_error)
              .Bind(18, t.bank_reference).Bind(19, ToUnixMs(t.created_at)).Bind(20, ToUnixMs(t.updated_at))
              .Bind(21, ToUnixMs(t.next_attempt_at)).Bind(22, OptionalMs(t.finished_at))
              .Bind(23, TransferPurposeName(t.purpose)).Bind(24, t.division_payment));
  }
  Result<std::optional<Transfer>> FindTransfer(const std::string& id) override {
    return FindOne(statements_.find_transfer.Bind(1, id), ReadTransfer, "reading transfer");
  }
  Result<std::vector<Transfer>> QueryTransfers(const TransferQuery& query) override {
    Statement s(db_, "SELECT " + std::string(kTransferColumns) + " FROM transfers WHERE (?1 = '' OR merchant = ?1) "
                     "AND (?2 = '' OR status = ?2) AND (?3 = '' OR rowid < (SELECT rowid FROM transfers WHERE id = ?3)) "
                     "ORDER BY rowid DESC LIMIT ?4");  // rowid: the order they were recorded in
    if (!s.ok()) return SqlError("preparing transfer query");
    std::string_view status = query.status ? TransferStatusName(*query.status) : std::string_view{};
    s.Bind(1, query.merchant).Bind(2, status).Bind(3, query.before_id).Bind(4, std::int64_t{query.limit});
    return ReadAll(s, [](const Statement& r) { return ReadTransfer(r); }, "querying transfers");
  }
  Result<std::uint32_t> LastTransferSequence(const std::string& bank, std::chrono::year_month_day day) override {
    auto& s = statements_.last_transfer_sequence;
    s.Bind(1, bank).Bind(2, DateCode(day));
    std::uint32_t last = 0;
    bool ok = s.Step() == SQLITE_ROW;
    if (ok) last = static_cast<std::uint32_t>(s.Int(0));
    s.Reset();
    if (!ok) return SqlError("reading the last transfer sequence");
    return last;
  }

  Result<std::vector<Event>> QueryEvents(const EventQuery& query) override;
  Result<std::vector<std::pair<Delivery, Event>>> QueryPendingDeliveries(std::int64_t after_event_seq,
                                                                         int limit) override {
    Statement s(db_, "SELECT " + std::string(kDeliveryColumns) + ", " + std::string(kEventColumns) +
                         " FROM deliveries d JOIN events v ON v.seq = d.event_seq "
                         "WHERE d.status = 'pending' AND d.event_seq > ?1 ORDER BY d.event_seq, d.endpoint_id LIMIT ?2");
    if (!s.ok()) return SqlError("preparing pending delivery query");
    s.Bind(1, after_event_seq).Bind(2, std::int64_t{limit});
    auto read = [](const Statement& r) { return std::pair(ReadDelivery(r), ReadEvent(r, kDeliveryColumnCount)); };
    return ReadAll(s, read, "querying pending deliveries");
  }
  Result<std::optional<Event>> FindEvent(const std::string& id) override;
  Result<std::vector<Delivery>> FindDeliveries(const std::vector<std::int64_t>& event_seqs) override;

  Result<std::optional<IdempotencyRecord>> FindIdempotency(const std::string& caller,
                                                           const std::string& key) override;
  Result<std::optional<Instant>> OldestIdempotency() override;
  Result<std::optional<Deposit>> FindDeposit(const std::string& bank,
                                             const std::string& transaction_id) override;
  Result<std::optional<Deposit>> FindDepositByCancellation(const std::string& bank,
                                                           const std::string& cancel_transaction_id) override;
  Result<std::optional<Assignment>> FindAssignment(const std::string& id) override;
  Result<std::optional<Assignment>> FindAssignmentByOrder(const std::string& merchant,
                                                          const std::string& order_id) override;
  Result<std::vector<Deposit>> QueryDeposits(const DepositQuery& query) override;
  Result<std::vector<LedgerEntry>> QueryLedger(const LedgerQuery& query) override;
  Result<std::vector<LedgerEntry>> ReadLedger(std::int64_t after_seq, int limit) override;
  Result<PostingRange> CheckPostings(PostingCursor from, int count) override;
  Result<std::int64_t> CountDeposits() override;

 private:
  struct Statements {
    Statement insert_bank, insert_merchant, update_merchant, insert_contract, put_api_key, put_number,
        put_assignment, put_deposit, append_ledger, put_idempotency, delete_idempotency, oldest_idempotency,
        find_idempotency, find_deposit, find_deposit_by_cancellation, find_assignment, find_assignment_by_order, read_ledger,
        put_endpoint, append_event, put_delivery, fail_pending, find_event, put_statement, put_statement_message, find_statement;
    Statement put_transfer, find_transfer, last_transfer_sequence;
  };

  std::unexpected<Error> SqlError(std::string_view what) const {
    return Fail(ErrorCode::kInternal, std::string(what) + ": " + sqlite3_errmsg(db_));
  }

  Result<void> Exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      std::string text = message ? message : "unknown error";
      sqlite3_free(message);
      return Fail(ErrorCode::kInternal, std::string("sqlite: ") + text);
    }
    return {};
  }

  Result<void> Migrate();
  Result<void> PrepareStatements();

  // Steps a bound point look-up once: its row read by `read`, nullopt when there is none.
  template <typename Read>
  auto FindOne(Statement& statement, Read read, std::string_view what)
      -> Result<std::optional<decltype(read(statement))>> {
    std::optional<decltype(read(statement))> found;
    int rc = statement.Step();
    if (rc == SQLITE_ROW) found = read(statement);
    statement.Reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqlError(what);
    return found;
  }

  // Steps a bound query to the end: every row read by `read`.
  template <typename Read>
  auto ReadAll(Statement& statement, Read read, std::string_view what)
      -> Result<std::vector<decltype(read(statement))>> {
    std::vector<decltype(read(statement))> rows;
    int rc;
    while ((rc = statement.Step()) == SQLITE_ROW) rows.push_back(read(statement));
    statement.Reset();
    if (rc != SQLITE_DONE) return SqlError(what);
    return rows;
  }

  // Runs a bound write statement; the first failure poisons the batch until Rollback.
  // The records in the table, counted once at open and kept up to date by every commit.
  Result<void> CountIdempotency() {
    Statement s(db_, "SELECT COUNT(*) FROM idempotency");
    auto count = FindOne(s, [](const Statement& r) { return r.Int(0); }, "counting idempotency records");
    if (!count) return std::unexpected(count.error());
    idempotency_records_.store(count->value_or(0), std::memory_order_relaxed);
    return {};
  }

  void Write(Statement& statement) {
    int rc = statement.Run();
    statement.Reset();
    if (rc != SQLITE_DONE && batch_error_.empty()) batch_error_ = sqlite3_errmsg(db_);
  }

  sqlite3* db_;
  Statements statements_;
  std::string batch_error_;
  std::unique_ptr<WalCheckpointer> checkpointer_;  // read-write stores only
  std::string db_path_;
  std::atomic<std::int64_t> idempotency_records_{0};  // Stats: in the table as last committed
  std::int64_t idempotency_delta_ = 0;                // ... and the batch in progress's change
  int wal_fd_ = -1;  // Sync's own descriptor of the write-ahead log (never SQLite's); -1 read-only
};

Result<void> SqliteStore::Migrate() {
  if (auto r = Exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                    "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
      !r) {
    return r;
  }
  Statement current(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!current.ok() || current.Step() != SQLITE_ROW) return SqlError("reading schema version");
  const auto version = current.Int(0);
  current = Statement();
  if (version > static_cast<std::int64_t>(kMigrations.size())) {
    return Fail(ErrorCode::kInternal, "the database was written by a newer varelay (schema " +
                                          std::to_string(version) + ")");
  }
  for (auto v = version; v < static_cast<std::int64_t>(kMigrations.size()); ++v) {
    if (auto r = Exec("BEGIN IMMEDIATE"); !r) return r;
    std::string sql(kMigrations[static_cast<std::size_t>(v)]);
    sql += "INSERT INTO schema_migrations VALUES (" + std::to_string(v + 1) +
           ", CAST(strftime('%s','now') AS INTEGER) * 1000);";
    if (auto r = Exec(sql.c_str()); !r) {
      (void)Exec("ROLLBACK");
      return r;
    }
    if (auto r = Exec("COMMIT"); !r) return r;
  }
  return {};
}

Result<void> SqliteStore::PrepareStatements() {
  auto prepare = [&](Statement& target, std::string sql) -> bool {
    target = Statement(db_, sql);
    return target.ok();
  };
  const std::string a_cols(kAssignmentColumns), d_cols(kDepositColumns), l_cols(kLedgerColumns);
  bool ok =
      prepare(statements_.insert_bank,
              "INSERT INTO banks (code, name, created_at, protocol, signing_secret, endpoint) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (code) DO UPDATE SET "
              "name = excluded.name, protocol = excluded.protocol, signing_secret = excluded.signing_secret, "
              "endpoint = excluded.endpoint") &&
      prepare(statements_.put_transfer,
              "INSERT INTO transfers (" + std::string(kTransferColumns) +
                  ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                  "?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24) ON CONFLICT (id) DO UPDATE SET status = excluded.status, "
              "attempts = excluded.attempts, in_doubt = excluded.in_doubt, response_code = excluded.response_code, "
              "last_error = excluded.last_error, bank_reference = excluded.bank_reference, "
              "updated_at = excluded.updated_at, next_attempt_at = excluded.next_attempt_at, "
              "finished_at = excluded.finished_at") &&
      prepare(statements_.find_transfer, "SELECT " + std::string(kTransferColumns) + " FROM transfers WHERE id = ?1") &&
      prepare(statements_.last_transfer_sequence,
              "SELECT COALESCE(MAX(request_sequence), 0) FROM transfers WHERE bank = ?1 AND request_date = ?2") &&
      prepare(statements_.insert_merchant,
              "INSERT INTO merchants (id, name, active, created_at) VALUES (?1, ?2, ?3, ?4)") &&
      prepare(statements_.update_merchant, "UPDATE merchants SET name = ?2, active = ?3 WHERE id = ?1") &&
      prepare(statements_.insert_contract, "INSERT INTO contracts VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)") &&
      prepare(statements_.put_api_key,
              "INSERT INTO api_keys (id, secret_hash, role, merchant, bank, label, created_at, revoked_at, master, "
              "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (id) DO "
              "UPDATE SET revoked_at = excluded.revoked_at, label = excluded.label") &&
      prepare(statements_.put_number,
              "INSERT INTO numbers VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (bank, number) "
              "DO UPDATE SET state = excluded.state, generation = excluded.generation, "
              "assignment_id = excluded.assignment_id, release_at = excluded.release_at, "
              "event_seq = excluded.event_seq") &&
      prepare(statements_.put_assignment,
              "INSERT INTO assignments (" + a_cols +
                  ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
                  "?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23) ON CONFLICT (id) DO UPDATE SET "
                  "paid_minor = excluded.paid_minor, status = excluded.status, "
                  "closed_at = excluded.closed_at") &&
      prepare(statements_.put_deposit,
              "INSERT INTO deposits (" + d_cols +
                  ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
                  "?16, ?17, ?18, ?19, ?20) ON CONFLICT (id) DO UPDATE SET "
                  "status = excluded.status, cancelled_at = excluded.cancelled_at, "
                  "cancel_transaction_id = excluded.cancel_transaction_id") &&
      prepare(statements_.append_ledger,
              "INSERT INTO ledger_entries VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)") &&
      prepare(statements_.put_idempotency,
              "INSERT INTO idempotency VALUES (?1, ?2, ?3, ?4, ?5, ?6)") &&
      prepare(statements_.delete_idempotency,
              "DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency WHERE created_at < ?1 "
              "LIMIT ?2)") &&
      prepare(statements_.oldest_idempotency, "SELECT MIN(created_at) FROM idempotency") &&
      prepare(statements_.find_idempotency,
              "SELECT caller, key, fingerprint, status, body, created_at FROM idempotency "
              "WHERE caller = ?1 AND key = ?2") &&
      prepare(statements_.find_deposit,
              "SELECT " + d_cols + " FROM deposits WHERE bank = ?1 AND transaction_id = ?2") &&
      prepare(statements_.find_deposit_by_cancellation,
              "SELECT " + d_cols + " FROM deposits WHERE bank = ?1 AND cancel_transaction_id = ?2 "
              "AND cancel_transaction_id != ''") &&
      prepare(statements_.find_assignment, "SELECT " + a_cols + " FROM assignments WHERE id = ?1") &&
      prepare(statements_.find_assignment_by_order,
              "SELECT " + a_cols + " FROM assignments WHERE merchant = ?1 AND order_id = ?2") &&
      prepare(statements_.read_ledger, "SELECT " + l_cols +
                                           " FROM ledger_entries e WHERE e.seq > ?1 "
                                           "ORDER BY e.seq LIMIT ?2") &&
      prepare(statements_.put_endpoint,
              "INSERT INTO webhook_endpoints (" + std::string(kEndpointColumns) +
                  ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT (id) DO UPDATE SET "
                  "url = excluded.url, event_types = excluded.event_types, enabled = excluded.enabled, "
                  "disabled_reason = excluded.disabled_reason, description = excluded.description, "
                  "secret = excluded.secret, previous_secret = excluded.previous_secret, "
                  "previous_expires_at = excluded.previous_expires_at, deleted_at = excluded.deleted_at, "
                  "include_personal_data = excluded.include_personal_data") &&
      prepare(statements_.append_event,
              "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)") &&
      prepare(statements_.put_delivery,
              "INSERT INTO deliveries VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
              "ON CONFLICT (event_seq, endpoint_id) DO UPDATE SET status = excluded.status, "
              "attempts = excluded.attempts, last_attempt_at = excluded.last_attempt_at, "
              "next_attempt_at = excluded.next_attempt_at, last_status = excluded.last_status, "
              "last_error = excluded.last_error, delivered_at = excluded.delivered_at") &&
      prepare(statements_.fail_pending,
              "UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, last_error = ?2 "
              "WHERE endpoint_id = ?1 AND status = 'pending'") &&
      prepare(statements_.find_event, "SELECT " + std::string(kEventColumns) + " FROM events v WHERE v.id = ?1") &&
      prepare(statements_.put_statement,
              "INSERT INTO bank_statements VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)") &&
      prepare(statements_.put_statement_message,
              "INSERT INTO bank_statement_messages VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING") &&
      prepare(statements_.find_statement, "SELECT " + std::string(kStatementColumns) +
                                              " FROM bank_statements WHERE bank = ?1 AND message_id = ?2 AND "
                                              "statement_id = ?3");
  if (!ok) return SqlError("preparing statements");
  return {};
}

Result<void> SqliteStore::LoadNumbers(LoadSink& sink) {
  // The assignments behind assigned and cooling numbers, read meanwhile.
  LiveAssignmentReader live(db_path_, sink);
  {
    Statement s(db_, "SELECT bank, number, merchant, region, state, generation, assignment_id, "
                     "release_at, event_seq FROM numbers");
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      NumberRow n;
      n.bank = s.View(0);
      n.number = s.View(1);
      n.merchant = s.View(2);
      n.region = s.View(3);
      n.state = NumberStateFromCode(s.Int(4));
      n.generation = s.Int(5);
      n.assignment_id = s.View(6);
      n.release_at = OptionalInstant(s.OptionalInt(7));
      n.event_seq = s.Int(8);
      if (n.state != NumberState::kFree) live.Add(n.assignment_id);
      sink.OnNumber(n);
    }
    if (rc != SQLITE_DONE) return SqlError("loading numbers");
  }
  sink.OnNumbersLoaded();
  return live.Finish();
}

Result<std::string> SqliteStore::SnapshotToken() {
  Statement s(db_, "SELECT token FROM stop_snapshot");
  if (!s.ok()) return SqlError("preparing the snapshot token query");
  auto token = FindOne(s, [](const Statement& r) { return r.Text(0); }, "reading the snapshot token");
  if (!token) return std::unexpected(token.error());
  return token->value_or(std::string());
}

Result<void> SqliteStore::SetSnapshotToken(const std::string& token) {
  if (auto r = Exec("BEGIN IMMEDIATE"); !r) return r;
  Statement clear(db_, "DELETE FROM stop_snapshot");
  Statement insert(db_, "INSERT INTO stop_snapshot VALUES (?1)");
  bool written = clear.ok() && insert.ok() && clear.Run() == SQLITE_DONE &&
                 (token.empty() || insert.Bind(1, token).Run() == SQLITE_DONE);
  if (!written) {
    auto error = SqlError("writing the snapshot token");
    (void)Exec("ROLLBACK");
    return error;
  }
  if (auto r = Exec("COMMIT"); !r) return r;
  return Sync();
}

Result<void> SqliteStore::Load(LoadSink& sink, LoadParts parts) {
  // One read transaction: a consistent snapshot, and one lock instead of one per statement.
  if (auto r = Exec("BEGIN"); !r) return r;
  auto loaded = LoadAll(sink, parts);
  if (auto r = Exec(loaded ? "COMMIT" : "ROLLBACK"); !r && loaded) return r;
  return loaded;
}

Result<void> SqliteStore::LoadAll(LoadSink& sink, LoadParts parts) {
  {
    Statement s(db_, "SELECT code, name, created_at, protocol, signing_secret, endpoint, extra_channels FROM banks");
    while (s.Step() == SQLITE_ROW) {
      sink.OnBank({s.Text(0), s.Text(1), FromUnixMs(s.Int(2)),
                   ParseBankProtocol(s.Text(3)).value_or(BankProtocol::kJson), s.Text(4), s.Text(5),
                   static_cast<std::uint32_t>(s.Int(6))});
    }
  }
  {
    Statement s(db_, "SELECT merchant, per_transfer_max_minor, daily_max_minor, recipients, updated_at "
                     "FROM payout_policies");
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      sink.OnPayoutPolicy({s.Text(0), s.Int(1), s.Int(2), DecodeRecipients(s.Text(3)), FromUnixMs(s.Int(4))});
    }
    if (rc != SQLITE_DONE) return SqlError("loading pay-out policies");
  }
  {
    Statement s(db_, "SELECT id, name, active, created_at, category, division_direct FROM merchants");
    while (s.Step() == SQLITE_ROW) {
      sink.OnMerchant({s.Text(0), s.Text(1), s.Int(2) != 0, FromUnixMs(s.Int(3)),
                       ParseMerchantCategory(s.Text(4)).value_or(MerchantCategory::kGeneral), s.Int(5) != 0});
    }
  }
  {
    Statement s(db_, "SELECT merchant, bank, mother_account, holder_name, created_at, issuance, realtime_url, "
                     "realtime_timeout_ms, fallback_to_pool FROM contracts");
    while (s.Step() == SQLITE_ROW) {
      sink.OnContract({s.Text(0), s.Text(1), s.Text(2), s.Text(3), FromUnixMs(s.Int(4)),
                       ParseIssuance(s.Text(5)).value_or(Issuance::kPool), s.Text(6), s.Int(7), s.Int(8) != 0});
    }
  }
  {
    Statement s(db_, "SELECT id, secret_hash, role, merchant, bank, label, created_at, revoked_at, master, "
                     "expires_at FROM api_keys");
    while (s.Step() == SQLITE_ROW) {
      ApiKey k;
      k.id = s.Text(0);
      k.secret_hash = s.Text(1);
      k.role = ParseRole(s.Text(2)).value_or(Role::kMerchant);
      k.merchant = s.Text(3);
      k.bank = s.Text(4);
      k.label = s.Text(5);
      k.created_at = FromUnixMs(s.Int(6));
      k.revoked_at = OptionalInstant(s.OptionalInt(7));
      k.master = s.Text(8);
      k.expires_at = OptionalInstant(s.OptionalInt(9));
      sink.OnApiKey(std::move(k));
    }
  }
  if (parts == LoadParts::kAll) {
    if (auto r = LoadNumbers(sink); !r) return r;
  }
  {
    Statement s(db_, "SELECT seq, hash FROM ledger_entries ORDER BY seq DESC LIMIT 1");
    if (s.Step() == SQLITE_ROW) {
      sink.OnLedgerHead(s.Int(0), s.Text(1));
    } else {
      sink.OnLedgerHead(0, std::string(kGenesisHash));
    }
  }
  {
    Statement s(db_, "SELECT " + std::string(kEndpointColumns) + " FROM webhook_endpoints WHERE deleted_at IS NULL");
    while (s.Step() == SQLITE_ROW) sink.OnWebhookEndpoint(ReadEndpoint(s));
  }
  {
    Statement s(db_, "SELECT COALESCE(MAX(seq), 0) FROM events");
    if (s.Step() != SQLITE_ROW) return SqlError("reading the newest event");
    sink.OnEventHead(s.Int(0));
  }
  {
    Statement s(db_, "SELECT " + std::string(kDeliveryColumns) + ", " + std::string(kEventColumns) +
                         " FROM deliveries d JOIN events v ON v.seq = d.event_seq "
                         "WHERE d.status = 'pending' ORDER BY d.event_seq, d.endpoint_id");
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) sink.OnPendingDelivery(ReadDelivery(s), ReadEvent(s, kDeliveryColumnCount));
    if (rc != SQLITE_DONE) return SqlError("loading pending deliveries");
  }
  {
    Statement s(db_, "SELECT " + std::string(kTransferColumns) + " FROM transfers WHERE status = 'pending' ORDER BY created_at, id");
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) sink.OnPendingTransfer(ReadTransfer(s));
    if (rc != SQLITE_DONE) return SqlError("loading pending transfers");
  }
  return LoadDivision(sink);
}

namespace {

// Hands the division records a load reads (each a body: its log encoding without the tag) on.
class DivisionLoader final : public IgnoredWrites {
 public:
  explicit DivisionLoader(LoadSink& sink) : sink_(sink) {}
  void PutMaster(const Master& m) override { sink_.OnMaster(m); }
  void PutDivisionAccount(const DivisionAccount& a) override { sink_.OnDivisionAccount(a); }
  void PutDivisionPayment(const DivisionPayment& p) override { sink_.OnDivisionPayment(p); }
  void PutDivisionApproval(const DivisionApproval& a) override { sink_.OnDivisionApproval(a); }

 private:
  LoadSink& sink_;
};

}  // namespace

Result<void> SqliteStore::LoadDivision(LoadSink& sink) {
  DivisionLoader loader(sink);
  const std::pair<LogRecordTag, const char*> tables[] = {
      {LogRecordTag::kPutMaster, "SELECT body FROM masters ORDER BY id"},
      {LogRecordTag::kPutDivisionAccount, "SELECT body FROM division_accounts ORDER BY id"},
      {LogRecordTag::kPutDivisionPayment, "SELECT body FROM division_payments ORDER BY id"},
      {LogRecordTag::kPutDivisionApproval, "SELECT body FROM division_approvals ORDER BY id"}};
  for (const auto& [tag, sql] : tables) {
    Statement s(db_, sql);
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      std::string record(1, static_cast<char>(tag));
      record += s.View(0);
      if (auto r = ReplayLogBatch(record, loader); !r) return r;
    }
    if (rc != SQLITE_DONE) return SqlError("loading division accounts");
  }
  return {};
}

void SqliteStore::Begin() {
  batch_error_.clear();
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    batch_error_ = sqlite3_errmsg(db_);
  }
}

Result<void> SqliteStore::Commit() {
  if (!batch_error_.empty()) {
    std::string why = std::move(batch_error_);
    Rollback();
    return Fail(ErrorCode::kInternal, "sqlite batch failed: " + why);
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    auto error = SqlError("commit");
    Rollback();
    return error;
  }
  idempotency_records_.fetch_add(std::exchange(idempotency_delta_, 0), std::memory_order_relaxed);
  return {};
}

Result<void> SqliteStore::Sync() {
  if (wal_fd_ < 0) return {};  // read-only: nothing to flush
  if (::fdatasync(wal_fd_) != 0) {
    return Fail(ErrorCode::kInternal, std::string("cannot flush the write-ahead log: ") + std::strerror(errno));
  }
  return {};
}

void SqliteStore::Rollback() {
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  idempotency_delta_ = 0;
  batch_error_.clear();
}

void SqliteStore::PutAssignment(const Assignment& a) {
  auto& s = statements_.put_assignment;
  s.Bind(1, a.id).Bind(2, a.merchant).Bind(3, a.order_id).Bind(4, a.bank).Bind(5, a.region)
      .Bind(6, a.number).Bind(7, a.generation).Bind(8, a.holder_name).Bind(9, a.amount.minor())
      .Bind(10, a.amount.currency().code()).Bind(11, AmountRuleKindName(a.rule.kind))
      .Bind(12, a.rule.min_minor).Bind(13, a.rule.max_minor)
      .Bind(14, OverpaymentName(a.rule.overpayment)).Bind(15, a.paid_minor)
      .Bind(16, AssignmentStatusName(a.status)).Bind(17, a.customer.name)
      .Bind(18, a.customer.phone).Bind(19, a.customer.email).Bind(20, ToUnixMs(a.created_at))
      .Bind(21, ToUnixMs(a.due_at)).Bind(22, OptionalMs(a.closed_at))
      .Bind(23, a.request_fingerprint);
  Write(s);
}

void SqliteStore::PutDeposit(const Deposit& d) {
  auto& s = statements_.put_deposit;
  s.Bind(1, d.id).Bind(2, d.bank).Bind(3, d.transaction_id).Bind(4, d.number)
      .Bind(5, d.generation).Bind(6, d.assignment_id).Bind(7, d.order_id).Bind(8, d.merchant)
      .Bind(9, d.amount.minor()).Bind(10, d.amount.currency().code()).Bind(11, d.payer_name)
      .Bind(12, ToUnixMs(d.deposited_at)).Bind(13, ToUnixMs(d.received_at))
      .Bind(14, DepositOutcomeName(d.outcome)).Bind(15, d.to_merchant_minor)
      .Bind(16, d.parked_minor).Bind(17, DepositStatusName(d.status))
      .Bind(18, OptionalMs(d.cancelled_at)).Bind(19, d.cancel_transaction_id)
      .Bind(20, d.notice_fingerprint);
  Write(s);
}

Result<std::optional<IdempotencyRecord>> SqliteStore::FindIdempotency(const std::string& caller,
                                                                      const std::string& key) {
  auto read = [](const Statement& r) {
    return IdempotencyRecord{r.Text(0), r.Text(1), r.Text(2), static_cast<int>(r.Int(3)), r.Text(4),
                             FromUnixMs(r.Int(5))};
  };
  return FindOne(statements_.find_idempotency.Bind(1, caller).Bind(2, key), read, "reading idempotency");
}

Result<std::optional<Instant>> SqliteStore::OldestIdempotency() {
  auto& s = statements_.oldest_idempotency;
  auto oldest = FindOne(s, [](const Statement& r) { return r.OptionalInt(0); }, "reading the oldest idempotency record");
  if (!oldest) return std::unexpected(oldest.error());
  if (!*oldest || !**oldest) return std::optional<Instant>();  // MIN of no rows is NULL
  return std::optional<Instant>(FromUnixMs(***oldest));
}

Result<std::optional<Deposit>> SqliteStore::FindDeposit(const std::string& bank,
                                                        const std::string& transaction_id) {
  return FindOne(statements_.find_deposit.Bind(1, bank).Bind(2, transaction_id), ReadDeposit, "reading deposit");
}

Result<std::optional<Deposit>> SqliteStore::FindDepositByCancellation(const std::string& bank,
                                                                      const std::string& cancel_transaction_id) {
  return FindOne(statements_.find_deposit_by_cancellation.Bind(1, bank).Bind(2, cancel_transaction_id),
                 ReadDeposit, "reading deposit by cancellation");
}

Result<std::optional<Assignment>> SqliteStore::FindAssignment(const std::string& id) {
  return FindOne(statements_.find_assignment.Bind(1, id), ReadAssignment, "reading assignment");
}

Result<std::optional<Assignment>> SqliteStore::FindAssignmentByOrder(const std::string& merchant,
                                                                     const std::string& order_id) {
  return FindOne(statements_.find_assignment_by_order.Bind(1, merchant).Bind(2, order_id), ReadAssignment,
                 "reading assignment");
}

Result<std::vector<Deposit>> SqliteStore::QueryDeposits(const DepositQuery& q) {
  // Placeholders are numbered by purpose so each condition can be added independently.
  std::string sql = "SELECT " + std::string(kDepositColumns) + " FROM deposits WHERE 1";
  if (!q.merchant.empty()) sql += " AND merchant = ?1";
  if (!q.bank.empty()) sql += " AND bank = ?2";
  if (!q.number.empty()) sql += " AND number = ?3";
  if (!q.order_id.empty()) sql += " AND order_id = ?4";
  if (q.from) sql += " AND received_at >= ?5";
  if (q.to) sql += " AND received_at < ?6";
  if (!q.after_id.empty()) sql += " AND rowid > COALESCE((SELECT rowid FROM deposits WHERE id = ?7), 0)";
  sql += " ORDER BY rowid LIMIT ?8";
  Statement s(db_, sql);
  if (!s.ok()) return SqlError("preparing deposit query");
  if (!q.merchant.empty()) s.Bind(1, q.merchant);
  if (!q.bank.empty()) s.Bind(2, q.bank);
  if (!q.number.empty()) s.Bind(3, q.number);
  if (!q.order_id.empty()) s.Bind(4, q.order_id);
  if (q.from) s.Bind(5, ToUnixMs(*q.from));
  if (q.to) s.Bind(6, ToUnixMs(*q.to));
  if (!q.after_id.empty()) s.Bind(7, q.after_id);
  s.Bind(8, std::int64_t{q.limit});
  return ReadAll(s, [](const Statement& r) { return ReadDeposit(r); }, "querying deposits");
}

Result<std::vector<LedgerEntry>> SqliteStore::QueryLedger(const LedgerQuery& q) {
  std::string sql = "SELECT " + std::string(kLedgerColumns) +
                    " FROM ledger_entries e LEFT JOIN deposits d ON d.id = e.deposit_id "
                    "LEFT JOIN division_payments p ON p.id = e.deposit_id "  // a division payment's entries
                    "WHERE e.seq > ?1 AND (d.id IS NOT NULL OR p.id IS NOT NULL)";
  if (!q.merchant.empty()) sql += " AND COALESCE(d.merchant, p.merchant) = ?2";
  if (!q.number.empty()) sql += " AND d.number = ?3";
  if (!q.order_id.empty()) sql += " AND COALESCE(d.order_id, p.order_id) = ?4";
  if (q.from) sql += " AND e.at >= ?5";
  if (q.to) sql += " AND e.at < ?6";
  sql += " ORDER BY e.seq LIMIT ?7";
  Statement s(db_, sql);
  if (!s.ok()) return SqlError("preparing ledger query");
  s.Bind(1, q.after_seq);
  if (!q.merchant.empty()) s.Bind(2, q.merchant);
  if (!q.number.empty()) s.Bind(3, q.number);
  if (!q.order_id.empty()) s.Bind(4, q.order_id);
  if (q.from) s.Bind(5, ToUnixMs(*q.from));
  if (q.to) s.Bind(6, ToUnixMs(*q.to));
  s.Bind(7, std::int64_t{q.limit});
  return ReadAll(s, [](const Statement& r) { return ReadLedgerEntry(r); }, "querying ledger");
}

Result<std::vector<LedgerEntry>> SqliteStore::ReadLedger(std::int64_t after_seq, int limit) {
  auto& s = statements_.read_ledger;
  s.Bind(1, after_seq).Bind(2, std::int64_t{limit});
  return ReadAll(s, [](const Statement& r) { return ReadLedgerEntry(r); }, "reading ledger");
}

Result<PostingRange> SqliteStore::CheckPostings(PostingCursor from, int count) {
  // Each deposit's entries are counted through ledger_by_deposit; each entry's deposit is found
  // through the deposits' primary key: a range costs `count` index look-ups, whatever the size.
  Statement s(db_, from.entries
                       ? "SELECT seq, 'ledger entry ' || seq || ' names no deposit', "
                         "EXISTS (SELECT 1 FROM deposits d WHERE d.id = l.deposit_id) "
                         "FROM ledger_entries l WHERE seq > ?1 AND kind IN ('deposit', 'reversal') "
                         "ORDER BY seq LIMIT ?2"
                       : "SELECT d.rowid, d.id, "
                         "(SELECT COUNT(*) FROM ledger_entries e WHERE e.deposit_id = d.id AND e.kind = 'deposit') = 1 "
                         "AND (SELECT COUNT(*) FROM ledger_entries e WHERE e.deposit_id = d.id "
                         "AND e.kind = 'reversal') = (d.status = 'cancelled') "
                         "FROM deposits d WHERE d.rowid > ?1 ORDER BY d.rowid LIMIT ?2");
  if (!s.ok()) return SqlError("preparing the posting audit");
  s.Bind(1, from.after).Bind(2, std::int64_t{count});
  struct Row {
    std::int64_t at;
    std::string name;
    bool sound;
  };
  auto rows = ReadAll(s, [](const Statement& r) { return Row{r.Int(0), r.Text(1), r.Int(2) != 0}; },
                      "auditing postings");
  if (!rows) return std::unexpected(rows.error());
  PostingRange range;
  for (const auto& row : *rows)
    if (!row.sound) range.misposted.push_back(row.name);
  if (static_cast<int>(rows->size()) == count) range.next = PostingCursor{from.entries, rows->back().at};
  else if (!from.entries) range.next = PostingCursor{true, 0};
  return range;
}

Result<std::vector<Event>> SqliteStore::QueryEvents(const EventQuery& q) {
  std::string sql = "SELECT " + std::string(kEventColumns) + " FROM events v WHERE v.seq > ?1";
  if (!q.merchant.empty()) sql += " AND v.merchant = ?2";
  if (q.type) sql += " AND v.type = ?3";
  sql += " ORDER BY v.seq LIMIT ?4";
  Statement s(db_, sql);
  if (!s.ok()) return SqlError("preparing event query");
  s.Bind(1, q.after_seq);
  if (!q.merchant.empty()) s.Bind(2, q.merchant);
  if (q.type) s.Bind(3, EventTypeName(*q.type));
  s.Bind(4, std::int64_t{q.limit});
  return ReadAll(s, [](const Statement& r) { return ReadEvent(r); }, "querying events");
}

Result<std::optional<Event>> SqliteStore::FindEvent(const std::string& id) {
  return FindOne(statements_.find_event.Bind(1, id), [](const Statement& r) { return ReadEvent(r); },
                 "reading event");
}

Result<std::vector<Delivery>> SqliteStore::FindDeliveries(const std::vector<std::int64_t>& event_seqs) {
  if (event_seqs.empty()) return std::vector<Delivery>();
  // Event seqs are integers from our own rows: safe to inline, and one statement per page.
  std::string sql = "SELECT " + std::string(kDeliveryColumns) + " FROM deliveries d WHERE d.event_seq IN (";
  for (std::size_t i = 0; i < event_seqs.size(); ++i) {
    if (i > 0) sql += ',';
    sql += std::to_string(event_seqs[i]);
  }
  sql += ") ORDER BY d.event_seq, d.endpoint_id";
  Statement s(db_, sql);
  if (!s.ok()) return SqlError("preparing delivery query");
  return ReadAll(s, [](const Statement& r) { return ReadDelivery(r); }, "querying deliveries");
}

Result<std::int64_t> SqliteStore::CountDeposits() {
  Statement s(db_, "SELECT COUNT(*) FROM deposits");
  if (!s.ok() || s.Step() != SQLITE_ROW) return SqlError("counting deposits");
  return s.Int(0);
}

}  // namespace

namespace {

// The database and its -wal and -shm hold merchants' and customers' data: the owner's alone
// (0600). SQLite gives the files it creates beside a database the database's own mode, so the
// database is created 0600 before SQLite opens it, whatever the umask, and files an older build
// left readable are narrowed.
Result<void> KeepDatabasePrivate(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(ErrorCode::kInternal, "cannot create " + path + ": " + std::strerror(errno));
  const int rc = ::fchmod(fd, 0600);
  ::close(fd);
  if (rc != 0) return Fail(ErrorCode::kInternal, "cannot make " + path + " private: " + std::strerror(errno));
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string beside = path + suffix;
    if (::chmod(beside.c_str(), 0600) != 0 && errno != ENOENT) {
      return Fail(ErrorCode::kInternal, "cannot make " + beside + " private: " + std::strerror(errno));
    }
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, OpenMode mode,
                                               SqliteOptions options) {
  if (mode == OpenMode::kReadWrite) {
    if (auto r = KeepDatabasePrivate(path); !r) return std::unexpected(r.error());
  }
  sqlite3* db = nullptr;
  int flags = mode == OpenMode::kReadOnly ? SQLITE_OPEN_READONLY
                                          : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  flags |= SQLITE_OPEN_NOMUTEX;  // one connection, used by one thread at a time
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return Fail(ErrorCode::kInternal, "cannot open " + path + ": " + why);
  }
  auto store = std::make_unique<SqliteStore>(db);
  if (auto r = store->Prepare(mode, path, options); !r) return std::unexpected(r.error());
  return std::unique_ptr<Store>(std::move(store));
}

int SqliteSchemaVersion() { return static_cast<int>(kMigrations.size()); }

}  // namespace varelay
