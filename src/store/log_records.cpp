#include "store/log_records.h"

#include <chrono>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "domain/assert.h"

namespace varelay {
namespace {

// The last enumerator of each enum a record carries: decoding refuses any code above it, so these
// must follow the enums when they grow (an enum's codes are its declaration order, from 0).
constexpr BankProtocol LastOf(BankProtocol) { return BankProtocol::kIso20022; }
constexpr Issuance LastOf(Issuance) { return Issuance::kRealtime; }
constexpr Role LastOf(Role) { return Role::kBank; }
constexpr NumberState LastOf(NumberState) { return NumberState::kCooling; }
constexpr AssignmentStatus LastOf(AssignmentStatus) { return AssignmentStatus::kCancelled; }
constexpr AmountRuleKind LastOf(AmountRuleKind) { return AmountRuleKind::kAccumulate; }
constexpr Overpayment LastOf(Overpayment) { return Overpayment::kPark; }
constexpr DepositOutcome LastOf(DepositOutcome) { return DepositOutcome::kLate; }
constexpr DepositStatus LastOf(DepositStatus) { return DepositStatus::kCancelled; }
constexpr EntryKind LastOf(EntryKind) { return EntryKind::kReversal; }
constexpr EventType LastOf(EventType) { return EventType::kTransferRefused; }
constexpr DeliveryStatus LastOf(DeliveryStatus) { return DeliveryStatus::kFailed; }
constexpr TransferStatus LastOf(TransferStatus) { return TransferStatus::kRefused; }
static_assert(static_cast<std::size_t>(LastOf(EventType{})) + 1 == kEventTypeCount);

template <typename E>
constexpr std::uint64_t CodeOf(E value) {
  return static_cast<std::uint64_t>(static_cast<std::underlying_type_t<E>>(value));
}

constexpr LogRecordTag kLastTag = LogRecordTag::kDeleteIdempotencyBefore;

std::string_view TagName(LogRecordTag tag) {
  switch (tag) {
    case LogRecordTag::kPutBank:
      return "PutBank";
    case LogRecordTag::kInsertMerchant:
      return "InsertMerchant";
    case LogRecordTag::kUpdateMerchant:
      return "UpdateMerchant";
    case LogRecordTag::kInsertContract:
      return "InsertContract";
    case LogRecordTag::kPutApiKey:
      return "PutApiKey";
    case LogRecordTag::kPutNumber:
      return "PutNumber";
    case LogRecordTag::kPutAssignment:
      return "PutAssignment";
    case LogRecordTag::kPutDeposit:
      return "PutDeposit";
    case LogRecordTag::kAppendLedgerEntry:
      return "AppendLedgerEntry";
    case LogRecordTag::kPutIdempotency:
      return "PutIdempotency";
    case LogRecordTag::kPutWebhookEndpoint:
      return "PutWebhookEndpoint";
    case LogRecordTag::kAppendEvent:
      return "AppendEvent";
    case LogRecordTag::kPutDelivery:
      return "PutDelivery";
    case LogRecordTag::kPutStatement:
      return "PutStatement";
    case LogRecordTag::kPutTransfer:
      return "PutTransfer";
    case LogRecordTag::kFailPendingDeliveries:
      return "FailPendingDeliveries";
    case LogRecordTag::kDeleteIdempotencyBefore:
      return "DeleteIdempotencyBefore";
  }
  return "unknown";
}

// ---- writing --------------------------------------------------------------------------------

// Appends fields to a record.
class ByteWriter {
 public:
  explicit ByteWriter(std::string& to) : to_(to) {}

  void U64(std::uint64_t value) {
    while (value >= 0x80) {
      to_.push_back(static_cast<char>((value & 0x7f) | 0x80));
      value >>= 7;
    }
    to_.push_back(static_cast<char>(value));
  }
  // Zigzag, so small negatives stay short.
  void I64(std::int64_t value) {
    U64((static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63));
  }
  void Bool(bool value) { U64(value ? 1 : 0); }
  void Bytes(std::string_view bytes) {
    U64(bytes.size());
    to_.append(bytes);
  }
  void Time(Instant t) { I64(ToUnixMs(t)); }
  template <typename E>
  void Enum(E value) {
    VARELAY_ASSERT(CodeOf(value) <= CodeOf(LastOf(value)), "an enum value the log can replay");
    U64(CodeOf(value));
  }
  template <typename T, typename WriteValue>
  void Optional(const std::optional<T>& value, WriteValue write) {
    Bool(value.has_value());
    if (value) write(*value);
  }
  void OptionalTime(const std::optional<Instant>& t) {
    Optional(t, [this](Instant v) { Time(v); });
  }
  // Field by field rather than as days, so that a date that is not ok() (the default {} is
  // 0/0/0) comes back exactly as it was.
  void Date(std::chrono::year_month_day day) {
    I64(static_cast<int>(day.year()));
    U64(static_cast<unsigned>(day.month()));
    U64(static_cast<unsigned>(day.day()));
  }
  // The code; the exponent follows from it.
  void CurrencyCode(Currency currency) { Bytes(currency.code()); }
  void Amount(const Money& money) {
    I64(money.minor());
    CurrencyCode(money.currency());
  }

 private:
  std::string& to_;
};

// ---- reading --------------------------------------------------------------------------------

// Reads fields off a record, every length checked against what is left. The first failure sticks:
// later reads return 0 or empty and consume nothing, so a record is read whole and checked once.
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}

  bool ok() const { return error_.empty(); }
  bool AtEnd() const { return at_ == bytes_.size(); }
  std::size_t offset() const { return at_; }
  std::size_t remaining() const { return bytes_.size() - at_; }
  const std::string& error() const { return error_; }

  // Records the first failure: `what` (a field name) starting at byte `at` was refused.
  void Refuse(std::string_view what, std::size_t at, std::string_view problem) {
    if (!ok()) return;
    error_ = std::string(what) + " at byte " + std::to_string(at) + ": " + std::string(problem);
  }

  std::uint8_t Byte(std::string_view what) {
    if (!ok()) return 0;
    if (AtEnd()) {
      Refuse(what, at_, "data cut short");
      return 0;
    }
    return static_cast<std::uint8_t>(bytes_[at_++]);
  }

  std::uint64_t U64(std::string_view what) {
    if (!ok()) return 0;
    std::size_t start = at_;
    std::uint64_t value = 0;
    for (int shift = 0;; shift += 7) {
      if (AtEnd()) return Refused(what, start, "data cut short");
      auto byte = static_cast<std::uint8_t>(bytes_[at_++]);
      // The tenth byte holds bit 63 only: anything more is over 64 bits (or over 10 bytes).
      if (shift == 63 && byte > 1) return Refused(what, start, "a LEB128 over 64 bits");
      value |= std::uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) != 0) continue;
      // A trailing zero group would give one value two encodings.
      if (byte == 0 && shift != 0) return Refused(what, start, "a LEB128 longer than needed");
      return value;
    }
  }

  std::int64_t I64(std::string_view what) {
    std::uint64_t v = U64(what);
    return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
  }

  int Int(std::string_view what) {
    std::size_t start = at_;
    std::int64_t v = I64(what);
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
      Refuse(what, start, "an int out of range");
      return 0;
    }
    return static_cast<int>(v);
  }

  std::uint32_t U32(std::string_view what) {
    std::size_t start = at_;
    std::uint64_t v = U64(what);
    if (v > std::numeric_limits<std::uint32_t>::max()) {
      Refuse(what, start, "a 32-bit value out of range");
      return 0;
    }
    return static_cast<std::uint32_t>(v);
  }

  bool Bool(std::string_view what) {
    std::size_t start = at_;
    std::uint64_t v = U64(what);
    if (v > 1) Refuse(what, start, "a bool other than 0 or 1");
    return v == 1;
  }

  std::string_view Bytes(std::string_view what) {
    std::size_t start = at_;
    std::uint64_t size = U64(what);
    if (!ok()) return {};
    if (size > remaining()) {
      Refuse(what, start,
             "a length of " + std::to_string(size) + " with " + std::to_string(remaining()) +
                 " bytes left");
      return {};
    }
    std::string_view bytes = bytes_.substr(at_, size);
    at_ += size;
    return bytes;
  }
  std::string Str(std::string_view what) { return std::string(Bytes(what)); }

  Instant Time(std::string_view what) { return FromUnixMs(I64(what)); }
  std::optional<Instant> OptionalTime(std::string_view what) {
    if (!Bool(what)) return std::nullopt;
    return Time(what);
  }

  // A vector's element count, bounded by the bytes left (each element takes at least
  // `min_bytes_each`), so hostile input cannot make the caller reserve much.
  std::size_t Count(std::string_view what, std::size_t min_bytes_each) {
    std::size_t start = at_;
    std::uint64_t count = U64(what);
    if (count > remaining() / min_bytes_each) {
      Refuse(what, start,
             "a count of " + std::to_string(count) + " with " + std::to_string(remaining()) +
                 " bytes left");
      return 0;
    }
    return static_cast<std::size_t>(count);
  }

  template <typename E>
  E Enum(std::string_view what) {
    std::size_t start = at_;
    std::uint64_t code = U64(what);
    if (code > CodeOf(LastOf(E{}))) {
      Refuse(what, start, "enum value " + std::to_string(code) + " out of range");
      return E{};
    }
    return static_cast<E>(code);
  }

  std::chrono::year_month_day Date(std::string_view what) {
    std::size_t start = at_;
    std::int64_t year = I64(what);
    std::uint64_t month = U64(what);
    std::uint64_t day = U64(what);
    // The widths std::chrono keeps them in (a short and two unsigned chars).
    if (year < std::numeric_limits<std::int16_t>::min() ||
        year > std::numeric_limits<std::int16_t>::max() || month > 255 || day > 255) {
      Refuse(what, start, "a date out of range");
      return {};
    }
    return {std::chrono::year{static_cast<int>(year)},
            std::chrono::month{static_cast<unsigned>(month)},
            std::chrono::day{static_cast<unsigned>(day)}};
  }

  Currency CurrencyCode(std::string_view what) {
    std::size_t start = at_;
    std::string_view code = Bytes(what);
    if (!ok()) return Currency::Krw();
    auto currency = Currency::FromCode(code);
    if (!currency) {
      Refuse(what, start, "unknown currency \"" + std::string(code) + "\"");
      return Currency::Krw();
    }
    return *currency;
  }

  Money Amount(std::string_view what) {
    std::int64_t minor = I64(what);
    return Money(minor, CurrencyCode(what));
  }

 private:
  std::uint64_t Refused(std::string_view what, std::size_t at, std::string_view problem) {
    Refuse(what, at, problem);
    return 0;
  }

  std::string_view bytes_;
  std::size_t at_ = 0;
  std::string error_;  // empty while every read succeeded
};

// ---- records: each struct's writer and reader side by side, fields in declaration order ------

void Put(ByteWriter& w, const Bank& b) {
  w.Bytes(b.code);
  w.Bytes(b.name);
  w.Time(b.created_at);
  w.Enum(b.protocol);
  w.Bytes(b.signing_secret);
  w.Bytes(b.endpoint);
}
Bank ReadBank(ByteReader& r) {
  Bank b;
  b.code = r.Str("code");
  b.name = r.Str("name");
  b.created_at = r.Time("created_at");
  b.protocol = r.Enum<BankProtocol>("protocol");
  b.signing_secret = r.Str("signing_secret");
  b.endpoint = r.Str("endpoint");
  return b;
}

void Put(ByteWriter& w, const Merchant& m) {
  w.Bytes(m.id);
  w.Bytes(m.name);
  w.Bool(m.active);
  w.Time(m.created_at);
}
Merchant ReadMerchant(ByteReader& r) {
  Merchant m;
  m.id = r.Str("id");
  m.name = r.Str("name");
  m.active = r.Bool("active");
  m.created_at = r.Time("created_at");
  return m;
}

void Put(ByteWriter& w, const Contract& c) {
  w.Bytes(c.merchant);
  w.Bytes(c.bank);
  w.Bytes(c.mother_account);
  w.Bytes(c.holder_name);
  w.Time(c.created_at);
  w.Enum(c.issuance);
  w.Bytes(c.realtime_url);
  w.I64(c.realtime_timeout_ms);
  w.Bool(c.fallback_to_pool);
}
Contract ReadContract(ByteReader& r) {
  Contract c;
  c.merchant = r.Str("merchant");
  c.bank = r.Str("bank");
  c.mother_account = r.Str("mother_account");
  c.holder_name = r.Str("holder_name");
  c.created_at = r.Time("created_at");
  c.issuance = r.Enum<Issuance>("issuance");
  c.realtime_url = r.Str("realtime_url");
  c.realtime_timeout_ms = r.I64("realtime_timeout_ms");
  c.fallback_to_pool = r.Bool("fallback_to_pool");
  return c;
}

void Put(ByteWriter& w, const ApiKey& k) {
  w.Bytes(k.id);
  w.Bytes(k.secret_hash);
  w.Enum(k.role);
  w.Bytes(k.merchant);
  w.Bytes(k.bank);
  w.Bytes(k.label);
  w.Time(k.created_at);
  w.OptionalTime(k.revoked_at);
}
ApiKey ReadApiKey(ByteReader& r) {
  ApiKey k;
  k.id = r.Str("id");
  k.secret_hash = r.Str("secret_hash");
  k.role = r.Enum<Role>("role");
  k.merchant = r.Str("merchant");
  k.bank = r.Str("bank");
  k.label = r.Str("label");
  k.created_at = r.Time("created_at");
  k.revoked_at = r.OptionalTime("revoked_at");
  return k;
}

void Put(ByteWriter& w, const NumberRecord& n) {
  w.Bytes(n.bank);
  w.Bytes(n.number);
  w.Bytes(n.merchant);
  w.Bytes(n.region);
  w.Enum(n.state);
  w.I64(n.generation);
  w.Bytes(n.assignment_id);
  w.OptionalTime(n.release_at);
  w.I64(n.event_seq);
}
NumberRecord ReadNumber(ByteReader& r) {
  NumberRecord n;
  n.bank = r.Str("bank");
  n.number = r.Str("number");
  n.merchant = r.Str("merchant");
  n.region = r.Str("region");
  n.state = r.Enum<NumberState>("state");
  n.generation = r.I64("generation");
  n.assignment_id = r.Str("assignment_id");
  n.release_at = r.OptionalTime("release_at");
  n.event_seq = r.I64("event_seq");
  return n;
}

void Put(ByteWriter& w, const Assignment& a) {
  w.Bytes(a.id);
  w.Bytes(a.merchant);
  w.Bytes(a.order_id);
  w.Bytes(a.bank);
  w.Bytes(a.region);
  w.Bytes(a.number);
  w.I64(a.generation);
  w.Bytes(a.holder_name);
  w.Amount(a.amount);
  w.Enum(a.rule.kind);
  w.I64(a.rule.min_minor);
  w.I64(a.rule.max_minor);
  w.Enum(a.rule.overpayment);
  w.I64(a.paid_minor);
  w.Enum(a.status);
  w.Bytes(a.customer.name);
  w.Bytes(a.customer.phone);
  w.Bytes(a.customer.email);
  w.Time(a.created_at);
  w.Time(a.due_at);
  w.OptionalTime(a.closed_at);
  w.Bytes(a.request_fingerprint);
}
Assignment ReadAssignment(ByteReader& r) {
  Assignment a;
  a.id = r.Str("id");
  a.merchant = r.Str("merchant");
  a.order_id = r.Str("order_id");
  a.bank = r.Str("bank");
  a.region = r.Str("region");
  a.number = r.Str("number");
  a.generation = r.I64("generation");
  a.holder_name = r.Str("holder_name");
  a.amount = r.Amount("amount");
  a.rule.kind = r.Enum<AmountRuleKind>("rule.kind");
  a.rule.min_minor = r.I64("rule.min_minor");
  a.rule.max_minor = r.I64("rule.max_minor");
  a.rule.overpayment = r.Enum<Overpayment>("rule.overpayment");
  a.paid_minor = r.I64("paid_minor");
  a.status = r.Enum<AssignmentStatus>("status");
  a.customer.name = r.Str("customer.name");
  a.customer.phone = r.Str("customer.phone");
  a.customer.email = r.Str("customer.email");
  a.created_at = r.Time("created_at");
  a.due_at = r.Time("due_at");
  a.closed_at = r.OptionalTime("closed_at");
  a.request_fingerprint = r.Str("request_fingerprint");
  return a;
}

void Put(ByteWriter& w, const Deposit& d) {
  w.Bytes(d.id);
  w.Bytes(d.bank);
  w.Bytes(d.transaction_id);
  w.Bytes(d.number);
  w.I64(d.generation);
  w.Bytes(d.assignment_id);
  w.Bytes(d.order_id);
  w.Bytes(d.merchant);
  w.Amount(d.amount);
  w.Bytes(d.payer_name);
  w.Time(d.deposited_at);
  w.Time(d.received_at);
  w.Enum(d.outcome);
  w.I64(d.to_merchant_minor);
  w.I64(d.parked_minor);
  w.Enum(d.status);
  w.OptionalTime(d.cancelled_at);
  w.Bytes(d.cancel_transaction_id);
  w.Bytes(d.notice_fingerprint);
}
Deposit ReadDeposit(ByteReader& r) {
  Deposit d;
  d.id = r.Str("id");
  d.bank = r.Str("bank");
  d.transaction_id = r.Str("transaction_id");
  d.number = r.Str("number");
  d.generation = r.I64("generation");
  d.assignment_id = r.Str("assignment_id");
  d.order_id = r.Str("order_id");
  d.merchant = r.Str("merchant");
  d.amount = r.Amount("amount");
  d.payer_name = r.Str("payer_name");
  d.deposited_at = r.Time("deposited_at");
  d.received_at = r.Time("received_at");
  d.outcome = r.Enum<DepositOutcome>("outcome");
  d.to_merchant_minor = r.I64("to_merchant_minor");
  d.parked_minor = r.I64("parked_minor");
  d.status = r.Enum<DepositStatus>("status");
  d.cancelled_at = r.OptionalTime("cancelled_at");
  d.cancel_transaction_id = r.Str("cancel_transaction_id");
  d.notice_fingerprint = r.Str("notice_fingerprint");
  return d;
}

void Put(ByteWriter& w, const LedgerEntry& e) {
  w.I64(e.seq);
  w.Time(e.at);
  w.Enum(e.kind);
  w.Bytes(e.deposit_id);
  w.CurrencyCode(e.currency);
  w.U64(e.lines.size());
  for (const auto& line : e.lines) {
    w.Bytes(line.account);
    w.I64(line.debit_minor);
    w.I64(line.credit_minor);
  }
  w.Bytes(e.prev_hash);
  w.Bytes(e.hash);
}
LedgerEntry ReadLedgerEntry(ByteReader& r) {
  constexpr std::size_t kMinLineBytes = 3;  // an empty account and two one-byte amounts
  LedgerEntry e;
  e.seq = r.I64("seq");
  e.at = r.Time("at");
  e.kind = r.Enum<EntryKind>("kind");
  e.deposit_id = r.Str("deposit_id");
  e.currency = r.CurrencyCode("currency");
  std::size_t count = r.Count("lines", kMinLineBytes);
  e.lines.reserve(count);
  for (std::size_t i = 0; i < count && r.ok(); ++i) {
    LedgerLine line;
    line.account = r.Str("lines.account");
    line.debit_minor = r.I64("lines.debit_minor");
    line.credit_minor = r.I64("lines.credit_minor");
    e.lines.push_back(std::move(line));
  }
  e.prev_hash = r.Str("prev_hash");
  e.hash = r.Str("hash");
  return e;
}

void Put(ByteWriter& w, const IdempotencyRecord& i) {
  w.Bytes(i.caller);
  w.Bytes(i.key);
  w.Bytes(i.fingerprint);
  w.I64(i.status);
  w.Bytes(i.body);
  w.Time(i.created_at);
}
IdempotencyRecord ReadIdempotency(ByteReader& r) {
  IdempotencyRecord i;
  i.caller = r.Str("caller");
  i.key = r.Str("key");
  i.fingerprint = r.Str("fingerprint");
  i.status = r.Int("status");
  i.body = r.Str("body");
  i.created_at = r.Time("created_at");
  return i;
}

void Put(ByteWriter& w, const WebhookEndpoint& e) {
  w.Bytes(e.id);
  w.Bytes(e.merchant);
  w.Bytes(e.url);
  w.U64(e.event_types.size());
  for (EventType type : e.event_types) w.Enum(type);
  w.Bool(e.enabled);
  w.Bytes(e.disabled_reason);
  w.Bytes(e.description);
  w.Bytes(e.secret);
  w.Bytes(e.previous_secret);
  w.OptionalTime(e.previous_secret_expires_at);
  w.Time(e.created_at);
  w.OptionalTime(e.deleted_at);
}
WebhookEndpoint ReadEndpoint(ByteReader& r) {
  WebhookEndpoint e;
  e.id = r.Str("id");
  e.merchant = r.Str("merchant");
  e.url = r.Str("url");
  std::size_t count = r.Count("event_types", 1);
  e.event_types.reserve(count);
  for (std::size_t i = 0; i < count && r.ok(); ++i) {
    e.event_types.push_back(r.Enum<EventType>("event_types"));
  }
  e.enabled = r.Bool("enabled");
  e.disabled_reason = r.Str("disabled_reason");
  e.description = r.Str("description");
  e.secret = r.Str("secret");
  e.previous_secret = r.Str("previous_secret");
  e.previous_secret_expires_at = r.OptionalTime("previous_secret_expires_at");
  e.created_at = r.Time("created_at");
  e.deleted_at = r.OptionalTime("deleted_at");
  return e;
}

void Put(ByteWriter& w, const Event& e) {
  w.I64(e.seq);
  w.Bytes(e.id);
  w.Bytes(e.merchant);
  w.Enum(e.type);
  w.Bytes(e.bank);
  w.Bytes(e.number);
  w.I64(e.sequence);
  w.I64(e.generation);
  w.Bytes(e.assignment_id);
  w.Bytes(e.order_id);
  w.Time(e.created_at);
  w.Bytes(e.payload);
}
Event ReadEvent(ByteReader& r) {
  Event e;
  e.seq = r.I64("seq");
  e.id = r.Str("id");
  e.merchant = r.Str("merchant");
  e.type = r.Enum<EventType>("type");
  e.bank = r.Str("bank");
  e.number = r.Str("number");
  e.sequence = r.I64("sequence");
  e.generation = r.I64("generation");
  e.assignment_id = r.Str("assignment_id");
  e.order_id = r.Str("order_id");
  e.created_at = r.Time("created_at");
  e.payload = r.Str("payload");
  return e;
}

void Put(ByteWriter& w, const Delivery& d) {
  w.I64(d.event_seq);
  w.Bytes(d.endpoint_id);
  w.Bytes(d.merchant);
  w.Enum(d.status);
  w.I64(d.attempts);
  w.OptionalTime(d.last_attempt_at);
  w.OptionalTime(d.next_attempt_at);
  w.Optional(d.last_status, [&w](int status) { w.I64(status); });
  w.Bytes(d.last_error);
  w.OptionalTime(d.delivered_at);
}
Delivery ReadDelivery(ByteReader& r) {
  Delivery d;
  d.event_seq = r.I64("event_seq");
  d.endpoint_id = r.Str("endpoint_id");
  d.merchant = r.Str("merchant");
  d.status = r.Enum<DeliveryStatus>("status");
  d.attempts = r.Int("attempts");
  d.last_attempt_at = r.OptionalTime("last_attempt_at");
  d.next_attempt_at = r.OptionalTime("next_attempt_at");
  if (r.Bool("last_status")) d.last_status = r.Int("last_status");
  d.last_error = r.Str("last_error");
  d.delivered_at = r.OptionalTime("delivered_at");
  return d;
}

void Put(ByteWriter& w, const BankStatement& s) {
  w.Bytes(s.bank);
  w.Bytes(s.message_id);
  w.Bytes(s.statement_id);
  w.Bytes(s.account);
  w.Bytes(s.currency);  // as the bank wrote it: not necessarily a currency the relay knows
  w.Optional(s.opening_minor, [&w](std::int64_t v) { w.I64(v); });
  w.Optional(s.closing_minor, [&w](std::int64_t v) { w.I64(v); });
  w.I64(s.entries);
  w.I64(s.credits_minor);
  w.I64(s.debits_minor);
  w.Bytes(s.created);
  w.Time(s.received_at);
}
BankStatement ReadStatement(ByteReader& r) {
  BankStatement s;
  s.bank = r.Str("bank");
  s.message_id = r.Str("message_id");
  s.statement_id = r.Str("statement_id");
  s.account = r.Str("account");
  s.currency = r.Str("currency");
  if (r.Bool("opening_minor")) s.opening_minor = r.I64("opening_minor");
  if (r.Bool("closing_minor")) s.closing_minor = r.I64("closing_minor");
  s.entries = r.I64("entries");
  s.credits_minor = r.I64("credits_minor");
  s.debits_minor = r.I64("debits_minor");
  s.created = r.Str("created");
  s.received_at = r.Time("received_at");
  return s;
}

void Put(ByteWriter& w, const Transfer& t) {
  w.Bytes(t.id);
  w.Bytes(t.merchant);
  w.Bytes(t.bank);
  w.Bytes(t.debit_account);
  w.Amount(t.amount);
  w.Bytes(t.recipient_bank);
  w.Bytes(t.recipient_account);
  w.Bytes(t.recipient_name);
  w.Bytes(t.memo);
  w.Enum(t.status);
  w.Date(t.request_date);
  w.U64(t.request_sequence);
  w.I64(t.attempts);
  w.Bool(t.in_doubt);
  w.Bytes(t.response_code);
  w.Bytes(t.last_error);
  w.Bytes(t.bank_reference);
  w.Time(t.created_at);
  w.Time(t.updated_at);
  w.Time(t.next_attempt_at);
  w.OptionalTime(t.finished_at);
}
Transfer ReadTransfer(ByteReader& r) {
  Transfer t;
  t.id = r.Str("id");
  t.merchant = r.Str("merchant");
  t.bank = r.Str("bank");
  t.debit_account = r.Str("debit_account");
  t.amount = r.Amount("amount");
  t.recipient_bank = r.Str("recipient_bank");
  t.recipient_account = r.Str("recipient_account");
  t.recipient_name = r.Str("recipient_name");
  t.memo = r.Str("memo");
  t.status = r.Enum<TransferStatus>("status");
  t.request_date = r.Date("request_date");
  t.request_sequence = r.U32("request_sequence");
  t.attempts = r.Int("attempts");
  t.in_doubt = r.Bool("in_doubt");
  t.response_code = r.Str("response_code");
  t.last_error = r.Str("last_error");
  t.bank_reference = r.Str("bank_reference");
  t.created_at = r.Time("created_at");
  t.updated_at = r.Time("updated_at");
  t.next_attempt_at = r.Time("next_attempt_at");
  t.finished_at = r.OptionalTime("finished_at");
  return t;
}

// ---- replay ---------------------------------------------------------------------------------

// Reads a whole value and hands it to `target` only when all of it was read.
template <typename T>
void Deliver(ByteReader& r, T (*read)(ByteReader&), StoreWrites& target,
             void (StoreWrites::*write)(const T&)) {
  T value = read(r);
  if (r.ok()) (target.*write)(value);
}

void ReplayStatement(ByteReader& r, StoreWrites& target) {
  BankStatement statement = ReadStatement(r);
  std::string xml = r.Str("xml");
  if (r.ok()) target.PutStatement(statement, xml);
}

void ReplayFailPending(ByteReader& r, StoreWrites& target) {
  std::string endpoint_id = r.Str("endpoint_id");
  std::string reason = r.Str("reason");
  if (r.ok()) target.FailPendingDeliveries(endpoint_id, reason);
}

void ReplayDeleteIdempotency(ByteReader& r, StoreWrites& target) {
  Instant cutoff = r.Time("cutoff");
  int limit = r.Int("limit");
  if (r.ok()) target.DeleteIdempotencyBefore(cutoff, limit);
}

// One record after its tag byte; an unknown tag is refused by the caller.
void ReplayRecord(ByteReader& r, LogRecordTag tag, StoreWrites& target) {
  using W = StoreWrites;
  switch (tag) {
    case LogRecordTag::kPutBank:
      return Deliver(r, ReadBank, target, &W::PutBank);
    case LogRecordTag::kInsertMerchant:
      return Deliver(r, ReadMerchant, target, &W::InsertMerchant);
    case LogRecordTag::kUpdateMerchant:
      return Deliver(r, ReadMerchant, target, &W::UpdateMerchant);
    case LogRecordTag::kInsertContract:
      return Deliver(r, ReadContract, target, &W::InsertContract);
    case LogRecordTag::kPutApiKey:
      return Deliver(r, ReadApiKey, target, &W::PutApiKey);
    case LogRecordTag::kPutNumber:
      return Deliver(r, ReadNumber, target, &W::PutNumber);
    case LogRecordTag::kPutAssignment:
      return Deliver(r, ReadAssignment, target, &W::PutAssignment);
    case LogRecordTag::kPutDeposit:
      return Deliver(r, ReadDeposit, target, &W::PutDeposit);
    case LogRecordTag::kAppendLedgerEntry:
      return Deliver(r, ReadLedgerEntry, target, &W::AppendLedgerEntry);
    case LogRecordTag::kPutIdempotency:
      return Deliver(r, ReadIdempotency, target, &W::PutIdempotency);
    case LogRecordTag::kPutWebhookEndpoint:
      return Deliver(r, ReadEndpoint, target, &W::PutWebhookEndpoint);
    case LogRecordTag::kAppendEvent:
      return Deliver(r, ReadEvent, target, &W::AppendEvent);
    case LogRecordTag::kPutDelivery:
      return Deliver(r, ReadDelivery, target, &W::PutDelivery);
    case LogRecordTag::kPutStatement:
      return ReplayStatement(r, target);
    case LogRecordTag::kPutTransfer:
      return Deliver(r, ReadTransfer, target, &W::PutTransfer);
    case LogRecordTag::kFailPendingDeliveries:
      return ReplayFailPending(r, target);
    case LogRecordTag::kDeleteIdempotencyBefore:
      return ReplayDeleteIdempotency(r, target);
  }
}

}  // namespace

// ---- encoder --------------------------------------------------------------------------------

std::string& LogBatchEncoder::StartRecord(LogRecordTag tag) {
  bytes_.push_back(static_cast<char>(tag));
  ++records_;
  return bytes_;
}

void LogBatchEncoder::PutBank(const Bank& bank) {
  ByteWriter w(StartRecord(LogRecordTag::kPutBank));
  Put(w, bank);
}

void LogBatchEncoder::InsertMerchant(const Merchant& merchant) {
  ByteWriter w(StartRecord(LogRecordTag::kInsertMerchant));
  Put(w, merchant);
}

void LogBatchEncoder::UpdateMerchant(const Merchant& merchant) {
  ByteWriter w(StartRecord(LogRecordTag::kUpdateMerchant));
  Put(w, merchant);
}

void LogBatchEncoder::InsertContract(const Contract& contract) {
  ByteWriter w(StartRecord(LogRecordTag::kInsertContract));
  Put(w, contract);
}

void LogBatchEncoder::PutApiKey(const ApiKey& key) {
  ByteWriter w(StartRecord(LogRecordTag::kPutApiKey));
  Put(w, key);
}

void LogBatchEncoder::PutNumber(const NumberRecord& number) {
  ByteWriter w(StartRecord(LogRecordTag::kPutNumber));
  Put(w, number);
}

void LogBatchEncoder::PutAssignment(const Assignment& assignment) {
  ByteWriter w(StartRecord(LogRecordTag::kPutAssignment));
  Put(w, assignment);
}

void LogBatchEncoder::PutDeposit(const Deposit& deposit) {
  ByteWriter w(StartRecord(LogRecordTag::kPutDeposit));
  Put(w, deposit);
}

void LogBatchEncoder::AppendLedgerEntry(const LedgerEntry& entry) {
  ByteWriter w(StartRecord(LogRecordTag::kAppendLedgerEntry));
  Put(w, entry);
}

void LogBatchEncoder::PutIdempotency(const IdempotencyRecord& record) {
  ByteWriter w(StartRecord(LogRecordTag::kPutIdempotency));
  Put(w, record);
}

void LogBatchEncoder::PutWebhookEndpoint(const WebhookEndpoint& endpoint) {
  ByteWriter w(StartRecord(LogRecordTag::kPutWebhookEndpoint));
  Put(w, endpoint);
}

void LogBatchEncoder::AppendEvent(const Event& event) {
  ByteWriter w(StartRecord(LogRecordTag::kAppendEvent));
  Put(w, event);
}

void LogBatchEncoder::PutDelivery(const Delivery& delivery) {
  ByteWriter w(StartRecord(LogRecordTag::kPutDelivery));
  Put(w, delivery);
}

void LogBatchEncoder::PutStatement(const BankStatement& statement, const std::string& xml) {
  ByteWriter w(StartRecord(LogRecordTag::kPutStatement));
  Put(w, statement);
  w.Bytes(xml);
}

void LogBatchEncoder::PutTransfer(const Transfer& transfer) {
  ByteWriter w(StartRecord(LogRecordTag::kPutTransfer));
  Put(w, transfer);
}

void LogBatchEncoder::FailPendingDeliveries(const std::string& endpoint_id,
                                            const std::string& reason) {
  ByteWriter w(StartRecord(LogRecordTag::kFailPendingDeliveries));
  w.Bytes(endpoint_id);
  w.Bytes(reason);
}

void LogBatchEncoder::DeleteIdempotencyBefore(Instant cutoff, int limit) {
  ByteWriter w(StartRecord(LogRecordTag::kDeleteIdempotencyBefore));
  w.Time(cutoff);
  w.I64(limit);
}

// ---- replay ---------------------------------------------------------------------------------

Result<void> ReplayLogBatch(std::string_view bytes, StoreWrites& target) {
  ByteReader r(bytes);
  for (std::size_t index = 0; !r.AtEnd(); ++index) {
    std::size_t start = r.offset();
    std::uint8_t code = r.Byte("tag");
    auto tag = static_cast<LogRecordTag>(code);
    bool known = code != 0 && code <= static_cast<std::uint8_t>(kLastTag);
    if (known) {
      ReplayRecord(r, tag, target);
    } else {
      r.Refuse("tag", start, "unknown tag " + std::to_string(code));
    }
    if (!r.ok()) {
      return Fail(ErrorCode::kInternal, "log batch record " + std::to_string(index) + " (" +
                                            std::string(known ? TagName(tag) : "unknown") +
                                            ", from byte " + std::to_string(start) +
                                            "): " + r.error());
    }
  }
  return {};
}

}  // namespace varelay
