#include "store/log_records.h"

#include <chrono>
#include <concepts>
#include <cstdio>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "domain/assert.h"
#include "domain/json_writer.h"

namespace varelay {
namespace {

// The last enumerator of each enum a record carries: decoding refuses any code above it, so these
// must follow the enums when they grow (an enum's codes are its declaration order, from 0).
constexpr BankProtocol LastOf(BankProtocol) { return BankProtocol::kIso20022; }
constexpr Issuance LastOf(Issuance) { return Issuance::kRealtime; }
// kNone follows kMerchantPayouts and is never stored: a record naming it is refused.
constexpr Role LastOf(Role) { return Role::kMerchantPayouts; }
constexpr NumberState LastOf(NumberState) { return NumberState::kCooling; }
constexpr AssignmentStatus LastOf(AssignmentStatus) { return AssignmentStatus::kCancelled; }
constexpr AmountRuleKind LastOf(AmountRuleKind) { return AmountRuleKind::kAccumulate; }
constexpr Overpayment LastOf(Overpayment) { return Overpayment::kPark; }
constexpr DepositOutcome LastOf(DepositOutcome) { return DepositOutcome::kLate; }
constexpr DepositStatus LastOf(DepositStatus) { return DepositStatus::kCancelled; }
constexpr EntryKind LastOf(EntryKind) { return EntryKind::kDivisionRefund; }
constexpr EventType LastOf(EventType) { return EventType::kDivisionApprovalRequested; }
constexpr DeliveryStatus LastOf(DeliveryStatus) { return DeliveryStatus::kFailed; }
constexpr TransferStatus LastOf(TransferStatus) { return TransferStatus::kRefused; }
static_assert(static_cast<std::size_t>(LastOf(EventType{})) + 1 == kEventTypeCount);

template <typename E>
constexpr std::uint64_t CodeOf(E value) {
  return static_cast<std::uint64_t>(static_cast<std::underlying_type_t<E>>(value));
}

constexpr HolderInquiryOutcome LastOf(HolderInquiryOutcome) { return HolderInquiryOutcome::kFailed; }
constexpr MerchantCategory LastOf(MerchantCategory) { return MerchantCategory::kOther; }
constexpr MasterStatus LastOf(MasterStatus) { return MasterStatus::kSuspended; }
constexpr DivisionAccountStatus LastOf(DivisionAccountStatus) { return DivisionAccountStatus::kClosed; }
constexpr DivisionPaymentStatus LastOf(DivisionPaymentStatus) { return DivisionPaymentStatus::kRefunded; }
constexpr DeclineReason LastOf(DeclineReason) { return DeclineReason::kConsentMissing; }
constexpr ApprovalStatus LastOf(ApprovalStatus) { return ApprovalStatus::kTimedOut; }
constexpr TransferPurpose LastOf(TransferPurpose) { return TransferPurpose::kDivisionRefund; }
static_assert(static_cast<int>(LastOf(DeclineReason{})) + 1 == kDeclineReasonCount);

// The records of tags that carry part of a struct, or a struct and more (log_records.h).
struct MerchantDivisionRecord {
  std::string id;
  MerchantCategory category = MerchantCategory::kGeneral;
  bool division_direct = false;
};
struct MasterKeyRecord {
  std::string id, secret_hash, label;
  Instant created_at{};
  std::optional<Instant> revoked_at;
  std::string master;
  std::optional<Instant> expires_at;
};
struct DivisionTransferRecord {
  Transfer transfer;
};

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
    case LogRecordTag::kPutWebhookEndpointWithoutPersonalData:
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
    case LogRecordTag::kPutStatementMessage:
      return "PutStatementMessage";
    case LogRecordTag::kPutBankChannels:
      return "PutBankChannels";
    case LogRecordTag::kPutPayoutPolicy:
      return "PutPayoutPolicy";
    case LogRecordTag::kPutHolderInquiry:
      return "PutHolderInquiry";
    case LogRecordTag::kPutMerchantDivision:
      return "PutMerchantDivision";
    case LogRecordTag::kPutMaster:
      return "PutMaster";
    case LogRecordTag::kPutDivisionAccount:
      return "PutDivisionAccount";
    case LogRecordTag::kPutDivisionPayment:
      return "PutDivisionPayment";
    case LogRecordTag::kPutDivisionApproval:
      return "PutDivisionApproval";
    case LogRecordTag::kPutMasterKey:
      return "PutApiKey";
    case LogRecordTag::kPutDivisionTransfer:
      return "PutTransfer";
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

// ---- records: each struct's fields once, in declaration order, for both directions ------------

// `Fields(value, f)` calls `f(name, field)` for each field of a record in the order the log
// keeps them, on a const value when writing and a mutable one when reading, so the two cannot
// disagree. The name is what a refusal names.
template <typename T, typename U>
concept Is = std::same_as<std::remove_const_t<T>, U>;

// A ledger line lives only inside an entry's `lines`, hence the names.
template <Is<LedgerLine> T, typename F>
void Fields(T& l, F&& f) {
  f("lines.account", l.account);
  f("lines.debit_minor", l.debit_minor);
  f("lines.credit_minor", l.credit_minor);
}
constexpr std::size_t kMinLineBytes = 3;  // an empty account and two one-byte amounts

// A message's statements live inside it (defined below, with the other structs).
template <Is<BankStatement> T, typename F>
void Fields(T& s, F&& f);
// Five empty strings, two absent optionals, three one-byte integers, an empty string, an instant.
constexpr std::size_t kMinStatementBytes = 12;

// Writes each field as its type is written.
struct Encode {
  ByteWriter& w;
  void operator()(std::string_view, const std::string& v) const { w.Bytes(v); }
  void operator()(std::string_view, bool v) const { w.Bool(v); }
  void operator()(std::string_view, int v) const { w.I64(v); }
  void operator()(std::string_view, std::int64_t v) const { w.I64(v); }
  void operator()(std::string_view, std::uint32_t v) const { w.U64(v); }
  void operator()(std::string_view, Instant v) const { w.Time(v); }
  void operator()(std::string_view, const std::optional<Instant>& v) const { w.OptionalTime(v); }
  template <std::integral N>
  void operator()(std::string_view, const std::optional<N>& v) const {
    w.Optional(v, [this](N n) { w.I64(n); });
  }
  template <typename E>
  requires std::is_enum_v<E>
  void operator()(std::string_view, E v) const { w.Enum(v); }
  void operator()(std::string_view, const Money& v) const { w.Amount(v); }
  void operator()(std::string_view, Currency v) const { w.CurrencyCode(v); }
  void operator()(std::string_view, std::chrono::year_month_day v) const { w.Date(v); }
  template <typename E>
  requires std::is_enum_v<E>
  void operator()(std::string_view, const std::vector<E>& v) const {
    w.U64(v.size());
    for (E e : v) w.Enum(e);
  }
  template <typename E>
  requires std::is_enum_v<E>
  void operator()(std::string_view, const std::optional<E>& v) const {
    w.Optional(v, [this](E e) { w.Enum(e); });
  }
  void operator()(std::string_view, const std::vector<std::string>& v) const {
    w.U64(v.size());
    for (const std::string& s : v) w.Bytes(s);
  }
  void operator()(std::string_view, const std::vector<LedgerLine>& lines) const {
    w.U64(lines.size());
    for (const LedgerLine& line : lines) Fields(line, *this);
  }
  void operator()(std::string_view, const std::vector<BankStatement>& statements) const {
    w.U64(statements.size());
    for (const BankStatement& statement : statements) Fields(statement, *this);
  }
};

// Reads each field as its type is read; the first refusal sticks (ByteReader).
struct Decode {
  ByteReader& r;
  void operator()(std::string_view n, std::string& v) const { v = r.Str(n); }
  void operator()(std::string_view n, bool& v) const { v = r.Bool(n); }
  void operator()(std::string_view n, int& v) const { v = r.Int(n); }
  void operator()(std::string_view n, std::int64_t& v) const { v = r.I64(n); }
  void operator()(std::string_view n, std::uint32_t& v) const { v = r.U32(n); }
  void operator()(std::string_view n, Instant& v) const { v = r.Time(n); }
  void operator()(std::string_view n, std::optional<Instant>& v) const { v = r.OptionalTime(n); }
  template <std::integral N>
  void operator()(std::string_view n, std::optional<N>& v) const {
    if (!r.Bool(n)) return;
    N value{};
    (*this)(n, value);
    v = value;
  }
  template <typename E>
  requires std::is_enum_v<E>
  void operator()(std::string_view n, E& v) const { v = r.Enum<E>(n); }
  void operator()(std::string_view n, Money& v) const { v = r.Amount(n); }
  void operator()(std::string_view n, Currency& v) const { v = r.CurrencyCode(n); }
  void operator()(std::string_view n, std::chrono::year_month_day& v) const { v = r.Date(n); }
  template <typename E>
  requires std::is_enum_v<E>
  void operator()(std::string_view n, std::vector<E>& v) const {
    const std::size_t count = r.Count(n, 1);
    v.reserve(count);
    for (std::size_t i = 0; i < count && r.ok(); ++i) v.push_back(r.Enum<E>(n));
  }
  template <typename E>
  requires std::is_enum_v<E>
  void operator()(std::string_view n, std::optional<E>& v) const {
    if (!r.Bool(n)) return;
    v = r.Enum<E>(n);
  }
  void operator()(std::string_view n, std::vector<std::string>& v) const {
    const std::size_t count = r.Count(n, 1);
    v.reserve(count);
    for (std::size_t i = 0; i < count && r.ok(); ++i) v.push_back(r.Str(n));
  }
  void operator()(std::string_view n, std::vector<LedgerLine>& lines) const {
    const std::size_t count = r.Count(n, kMinLineBytes);
    lines.reserve(count);
    for (std::size_t i = 0; i < count && r.ok(); ++i) {
      LedgerLine line;
      Fields(line, *this);
      lines.push_back(std::move(line));
    }
  }
  void operator()(std::string_view n, std::vector<BankStatement>& statements) const {
    const std::size_t count = r.Count(n, kMinStatementBytes);
    statements.reserve(count);
    for (std::size_t i = 0; i < count && r.ok(); ++i) {
      BankStatement statement;
      Fields(statement, *this);
      statements.push_back(std::move(statement));
    }
  }
};

// Reads and checks each field as Decode does, but keeps no text: for a record the reader does not
// want, so nothing is allocated for it (a ledger line's account aside).
struct Skip : Decode {
  using Decode::operator();
  void operator()(std::string_view n, std::string&) const { r.Bytes(n); }
};

template <Is<Bank> T, typename F>
void Fields(T& b, F&& f) {
  f("code", b.code);
  f("name", b.name);
  f("created_at", b.created_at);
  f("protocol", b.protocol);
  f("signing_secret", b.signing_secret);
  f("endpoint", b.endpoint);
}

template <Is<HolderInquiryRecord> T, typename F>
void Fields(T& h, F&& f) {
  f("id", h.id);
  f("merchant", h.merchant);
  f("key_id", h.key_id);
  f("bank", h.bank);
  f("account_masked", h.account_masked);
  f("outcome", h.outcome);
  f("asked_at", h.asked_at);
  f("answered_at", h.answered_at);
}

template <Is<Merchant> T, typename F>
void Fields(T& m, F&& f) {
  f("id", m.id);
  f("name", m.name);
  f("active", m.active);
  f("created_at", m.created_at);
}

template <Is<Contract> T, typename F>
void Fields(T& c, F&& f) {
  f("merchant", c.merchant);
  f("bank", c.bank);
  f("mother_account", c.mother_account);
  f("holder_name", c.holder_name);
  f("created_at", c.created_at);
  f("issuance", c.issuance);
  f("realtime_url", c.realtime_url);
  f("realtime_timeout_ms", c.realtime_timeout_ms);
  f("fallback_to_pool", c.fallback_to_pool);
}

template <Is<ApiKey> T, typename F>
void Fields(T& k, F&& f) {
  f("id", k.id);
  f("secret_hash", k.secret_hash);
  f("role", k.role);
  f("merchant", k.merchant);
  f("bank", k.bank);
  f("label", k.label);
  f("created_at", k.created_at);
  f("revoked_at", k.revoked_at);
}

template <Is<NumberRecord> T, typename F>
void Fields(T& n, F&& f) {
  f("bank", n.bank);
  f("number", n.number);
  f("merchant", n.merchant);
  f("region", n.region);
  f("state", n.state);
  f("generation", n.generation);
  f("assignment_id", n.assignment_id);
  f("release_at", n.release_at);
  f("event_seq", n.event_seq);
}

template <Is<Assignment> T, typename F>
void Fields(T& a, F&& f) {
  f("id", a.id);
  f("merchant", a.merchant);
  f("order_id", a.order_id);
  f("bank", a.bank);
  f("region", a.region);
  f("number", a.number);
  f("generation", a.generation);
  f("holder_name", a.holder_name);
  f("amount", a.amount);
  f("rule.kind", a.rule.kind);
  f("rule.min_minor", a.rule.min_minor);
  f("rule.max_minor", a.rule.max_minor);
  f("rule.overpayment", a.rule.overpayment);
  f("paid_minor", a.paid_minor);
  f("status", a.status);
  f("customer.name", a.customer.name);
  f("customer.phone", a.customer.phone);
  f("customer.email", a.customer.email);
  f("created_at", a.created_at);
  f("due_at", a.due_at);
  f("closed_at", a.closed_at);
  f("request_fingerprint", a.request_fingerprint);
}

template <Is<Deposit> T, typename F>
void Fields(T& d, F&& f) {
  f("id", d.id);
  f("bank", d.bank);
  f("transaction_id", d.transaction_id);
  f("number", d.number);
  f("generation", d.generation);
  f("assignment_id", d.assignment_id);
  f("order_id", d.order_id);
  f("merchant", d.merchant);
  f("amount", d.amount);
  f("payer_name", d.payer_name);
  f("deposited_at", d.deposited_at);
  f("received_at", d.received_at);
  f("outcome", d.outcome);
  f("to_merchant_minor", d.to_merchant_minor);
  f("parked_minor", d.parked_minor);
  f("status", d.status);
  f("cancelled_at", d.cancelled_at);
  f("cancel_transaction_id", d.cancel_transaction_id);
  f("notice_fingerprint", d.notice_fingerprint);
}

template <Is<LedgerEntry> T, typename F>
void Fields(T& e, F&& f) {
  f("seq", e.seq);
  f("at", e.at);
  f("kind", e.kind);
  f("deposit_id", e.deposit_id);
  f("currency", e.currency);
  f("lines", e.lines);
  f("prev_hash", e.prev_hash);
  f("hash", e.hash);
}

template <Is<IdempotencyRecord> T, typename F>
void Fields(T& i, F&& f) {
  f("caller", i.caller);
  f("key", i.key);
  f("fingerprint", i.fingerprint);
  f("status", i.status);
  f("body", i.body);
  f("created_at", i.created_at);
}

template <Is<WebhookEndpoint> T, typename F>
void Fields(T& e, F&& f) {
  f("id", e.id);
  f("merchant", e.merchant);
  f("url", e.url);
  f("event_types", e.event_types);
  f("enabled", e.enabled);
  f("disabled_reason", e.disabled_reason);
  f("description", e.description);
  f("secret", e.secret);
  f("previous_secret", e.previous_secret);
  f("previous_secret_expires_at", e.previous_secret_expires_at);
  f("created_at", e.created_at);
  f("deleted_at", e.deleted_at);
}

template <Is<Event> T, typename F>
void Fields(T& e, F&& f) {
  f("seq", e.seq);
  f("id", e.id);
  f("merchant", e.merchant);
  f("type", e.type);
  f("bank", e.bank);
  f("number", e.number);
  f("sequence", e.sequence);
  f("generation", e.generation);
  f("assignment_id", e.assignment_id);
  f("order_id", e.order_id);
  f("created_at", e.created_at);
  f("payload", e.payload);
}

template <Is<Delivery> T, typename F>
void Fields(T& d, F&& f) {
  f("event_seq", d.event_seq);
  f("endpoint_id", d.endpoint_id);
  f("merchant", d.merchant);
  f("status", d.status);
  f("attempts", d.attempts);
  f("last_attempt_at", d.last_attempt_at);
  f("next_attempt_at", d.next_attempt_at);
  f("last_status", d.last_status);
  f("last_error", d.last_error);
  f("delivered_at", d.delivered_at);
}

template <Is<BankStatement> T, typename F>
void Fields(T& s, F&& f) {
  f("bank", s.bank);
  f("message_id", s.message_id);
  f("statement_id", s.statement_id);
  f("account", s.account);
  f("currency", s.currency);
  f("opening_minor", s.opening_minor);
  f("closing_minor", s.closing_minor);
  f("entries", s.entries);
  f("credits_minor", s.credits_minor);
  f("debits_minor", s.debits_minor);
  f("created", s.created);
  f("received_at", s.received_at);
}

template <Is<StatementMessage> T, typename F>
void Fields(T& m, F&& f) {
  f("bank", m.bank);
  f("message_id", m.message_id);
  f("xml", m.xml);
  f("received_at", m.received_at);
  f("statements", m.statements);
}

template <Is<Transfer> T, typename F>
void Fields(T& t, F&& f) {
  f("id", t.id);
  f("merchant", t.merchant);
  f("bank", t.bank);
  f("debit_account", t.debit_account);
  f("amount", t.amount);
  f("recipient_bank", t.recipient_bank);
  f("recipient_account", t.recipient_account);
  f("recipient_name", t.recipient_name);
  f("memo", t.memo);
  f("status", t.status);
  f("request_date", t.request_date);
  f("request_sequence", t.request_sequence);
  f("attempts", t.attempts);
  f("in_doubt", t.in_doubt);
  f("response_code", t.response_code);
  f("last_error", t.last_error);
  f("bank_reference", t.bank_reference);
  f("created_at", t.created_at);
  f("updated_at", t.updated_at);
  f("next_attempt_at", t.next_attempt_at);
  f("finished_at", t.finished_at);
}

template <Is<DivisionTransferRecord> T, typename F>
void Fields(T& d, F&& f) {
  Fields(d.transfer, f);
  f("purpose", d.transfer.purpose);
  f("division_payment", d.transfer.division_payment);
}

template <Is<MerchantDivisionRecord> T, typename F>
void Fields(T& m, F&& f) {
  f("id", m.id);
  f("category", m.category);
  f("division_direct", m.division_direct);
}

template <Is<MasterKeyRecord> T, typename F>
void Fields(T& k, F&& f) {
  f("id", k.id);
  f("secret_hash", k.secret_hash);
  f("label", k.label);
  f("created_at", k.created_at);
  f("revoked_at", k.revoked_at);
  f("master", k.master);
  f("expires_at", k.expires_at);
}

// Sealed fields are the crypto layer's boxes: opaque here, and never clear text.
template <Is<Master> T, typename F>
void Fields(T& m, F&& f) {
  f("id", m.id);
  f("status", m.status);
  f("login_digest", m.login_digest);
  f("sealed_login", m.sealed_login);
  f("sealed_holder_name", m.sealed_holder_name);
  f("sealed_birth_date", m.sealed_birth_date);
  f("password_hash", m.password_hash);
  f("password_generation", m.password_generation);
  f("bank", m.bank);
  f("sealed_account", m.sealed_account);
  f("account_digest", m.account_digest);
  f("consent_id", m.consent_id);
  f("consent_ceiling_minor", m.consent_ceiling_minor);
  f("endpoint_url", m.endpoint_url);
  f("endpoint_id", m.endpoint_id);
  f("created_at", m.created_at);
  f("updated_at", m.updated_at);
}

template <Is<DivisionAccount> T, typename F>
void Fields(T& a, F&& f) {
  f("id", a.id);
  f("master", a.master);
  f("number", a.number);
  f("label", a.label);
  f("sealed_holder_name", a.sealed_holder_name);
  f("sealed_phone", a.sealed_phone);
  f("status", a.status);
  f("locked", a.locked);
  f("consecutive_failures", a.consecutive_failures);
  f("password_hash", a.password_hash);
  f("password_generation", a.password_generation);
  f("limits.per_payment_minor", a.limits.per_payment_minor);
  f("limits.daily_minor", a.limits.daily_minor);
  f("limits.monthly_minor", a.limits.monthly_minor);
  f("rules.allowed_merchants", a.rules.allowed_merchants);
  f("rules.denied_categories", a.rules.denied_categories);
  f("valid_from", a.valid_from);
  f("valid_until", a.valid_until);
  f("approval_threshold_minor", a.approval_threshold_minor);
  f("approval_timeout_ms", a.approval_timeout_ms);
  f("created_at", a.created_at);
  f("updated_at", a.updated_at);
  f("closed_at", a.closed_at);
}

template <Is<DivisionPayment> T, typename F>
void Fields(T& p, F&& f) {
  f("id", p.id);
  f("merchant", p.merchant);
  f("order_id", p.order_id);
  f("amount", p.amount);
  f("return_url", p.return_url);
  f("page_token_digest", p.page_token_digest);
  f("sealed_result_key", p.sealed_result_key);
  f("request_fingerprint", p.request_fingerprint);
  f("status", p.status);
  f("decline_reason", p.decline_reason);
  f("bank_response_code", p.bank_response_code);
  f("account", p.account);
  f("master", p.master);
  f("authorised_at", p.authorised_at);
  f("approval", p.approval);
  f("debit_transfer", p.debit_transfer);
  f("refunded_minor", p.refunded_minor);
  f("refund_pending_minor", p.refund_pending_minor);
  f("created_at", p.created_at);
  f("updated_at", p.updated_at);
  f("expires_at", p.expires_at);
  f("finished_at", p.finished_at);
}

template <Is<DivisionApproval> T, typename F>
void Fields(T& a, F&& f) {
  f("id", a.id);
  f("master", a.master);
  f("account", a.account);
  f("payment", a.payment);
  f("merchant", a.merchant);
  f("amount_minor", a.amount_minor);
  f("status", a.status);
  f("created_at", a.created_at);
  f("deadline", a.deadline);
  f("decided_at", a.decided_at);
}

template <typename T>
void Put(ByteWriter& w, const T& value) {
  Fields(value, Encode{w});
}

template <typename T>
T Read(ByteReader& r) {
  T value;
  Fields(value, Decode{r});
  return value;
}

// Writes each field as a JSON member (DescribeLogBatch).
struct Describe {
  JsonWriter& j;
  std::string_view strip = {};  // a prefix the names lose inside a nested object

  JsonWriter& Name(std::string_view n) const {
    if (!strip.empty() && n.starts_with(strip)) n.remove_prefix(strip.size());
    return j.Key(n);
  }
  void operator()(std::string_view n, const std::string& v) const {
    const bool secret =
        n == "secret" || n == "previous_secret" || n == "signing_secret" || n == "secret_hash" ||
        n == "password_hash" || n == "sealed_result_key";
    Name(n).String(secret && !v.empty() ? "[redacted]" : v);
  }
  void operator()(std::string_view n, bool v) const { Name(n).Bool(v); }
  void operator()(std::string_view n, std::int64_t v) const { Name(n).Int(v); }
  void operator()(std::string_view n, int v) const { Name(n).Int(v); }
  void operator()(std::string_view n, std::uint32_t v) const { Name(n).Int(v); }
  void operator()(std::string_view n, Instant v) const { Name(n).String(FormatRfc3339(v)); }
  template <typename T>
  void operator()(std::string_view n, const std::optional<T>& v) const {
    if (v) {
      (*this)(n, *v);
    } else {
      Name(n).Null();
    }
  }
  template <typename E>
  requires std::is_enum_v<E>
  void operator()(std::string_view n, E v) const {
    Name(n).Int(static_cast<std::int64_t>(CodeOf(v)));
  }
  void operator()(std::string_view n, const Money& v) const {
    Name(n)
        .BeginObject()
        .Key("minor")
        .Int(v.minor())
        .Key("currency")
        .String(v.currency().code())
        .EndObject();
  }
  void operator()(std::string_view n, Currency v) const { Name(n).String(v.code()); }
  void operator()(std::string_view n, std::chrono::year_month_day v) const {
    char text[32];
    std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(v.year()),
                  static_cast<unsigned>(v.month()), static_cast<unsigned>(v.day()));
    Name(n).String(text);
  }
  template <typename E>
  requires std::is_enum_v<E>
  void operator()(std::string_view n, const std::vector<E>& v) const {
    Name(n).BeginArray();
    for (E e : v) j.Int(static_cast<std::int64_t>(CodeOf(e)));
    j.EndArray();
  }
  void operator()(std::string_view n, const std::vector<std::string>& v) const {
    Name(n).BeginArray();
    for (const std::string& s : v) j.String(s);
    j.EndArray();
  }
  void operator()(std::string_view n, const std::vector<LedgerLine>& lines) const {
    Name(n).BeginArray();
    for (const LedgerLine& line : lines) {
      j.BeginObject();
      Fields(line, Describe{j, "lines."});
      j.EndObject();
    }
    j.EndArray();
  }
};

// Receives a replayed batch and writes it as JSON (DescribeLogBatch).
class BatchDescriber final : public StoreWrites {
 public:
  BatchDescriber() { j_.BeginArray(); }
  std::string Finish() {
    j_.EndArray();
    return j_.Take();
  }

  void PutBank(const Bank& v) override { Record("PutBank", v); }
  void InsertMerchant(const Merchant& v) override { Record("InsertMerchant", v); }
  void UpdateMerchant(const Merchant& v) override { Record("UpdateMerchant", v); }
  void InsertContract(const Contract& v) override { Record("InsertContract", v); }
  void PutApiKey(const ApiKey& v) override { Record("PutApiKey", v); }
  void PutNumber(const NumberRecord& v) override { Record("PutNumber", v); }
  void PutAssignment(const Assignment& v) override { Record("PutAssignment", v); }
  void PutDeposit(const Deposit& v) override { Record("PutDeposit", v); }
  void AppendLedgerEntry(const LedgerEntry& v) override { Record("AppendLedgerEntry", v); }
  void PutIdempotency(const IdempotencyRecord& v) override { Record("PutIdempotency", v); }
  void PutWebhookEndpoint(const WebhookEndpoint& v) override {
    Start("PutWebhookEndpoint");
    Fields(v, Describe{j_});
    j_.Key("include_personal_data").Bool(v.include_personal_data);
    j_.EndObject();
  }
  void AppendEvent(const Event& v) override { Record("AppendEvent", v); }
  void PutDelivery(const Delivery& v) override { Record("PutDelivery", v); }
  void PutStatementMessage(const StatementMessage& v) override {
    Start("PutStatementMessage");
    j_.Key("bank").String(v.bank).Key("message_id").String(v.message_id);
    j_.Key("xml_bytes").Int(static_cast<std::int64_t>(v.xml.size()));
    j_.Key("received_at").String(FormatRfc3339(v.received_at));
    j_.Key("statements").BeginArray();
    for (const BankStatement& s : v.statements) {
      j_.BeginObject();
      Fields(s, Describe{j_});
      j_.EndObject();
    }
    j_.EndArray().EndObject();
  }
  void PutStatement(const BankStatement& v, const std::string& xml) override {
    Start("PutStatement");
    Fields(v, Describe{j_});
    j_.Key("xml_bytes").Int(static_cast<std::int64_t>(xml.size()));
    j_.EndObject();
  }
  void PutTransfer(const Transfer& v) override { Record("PutTransfer", v); }
  void FailPendingDeliveries(const std::string& endpoint_id, const std::string& reason) override {
    Start("FailPendingDeliveries");
    j_.Key("endpoint_id").String(endpoint_id).Key("reason").String(reason).EndObject();
  }
  void DeleteIdempotencyBefore(Instant cutoff, int limit) override {
    Start("DeleteIdempotencyBefore");
    j_.Key("cutoff").String(FormatRfc3339(cutoff)).Key("limit").Int(limit).EndObject();
  }
  void PutBankChannels(const std::string& bank, std::uint32_t extra_channels) override {
    Start("PutBankChannels");
    j_.Key("bank").String(bank).Key("extra_channels").Int(extra_channels).EndObject();
  }
  void PutPayoutPolicy(const PayoutPolicy& p) override {
    Start("PutPayoutPolicy");
    j_.Key("merchant").String(p.merchant).Key("per_transfer_max_minor").Int(p.per_transfer_max_minor);
    j_.Key("daily_max_minor").Int(p.daily_max_minor).Key("recipients").BeginArray();
    for (const auto& r : p.recipients) j_.BeginObject().Key("bank").String(r.bank).Key("account").String(r.account).EndObject();
    j_.EndArray().Key("updated_at").String(FormatRfc3339(p.updated_at)).EndObject();
  }
  void PutHolderInquiry(const HolderInquiryRecord& v) override { Record("PutHolderInquiry", v); }
  void PutMerchantDivision(const Merchant& v) override {
    Record("PutMerchantDivision", MerchantDivisionRecord{v.id, v.category, v.division_direct});
  }
  void PutMaster(const Master& v) override { Record("PutMaster", v); }
  void PutDivisionAccount(const DivisionAccount& v) override { Record("PutDivisionAccount", v); }
  void PutDivisionPayment(const DivisionPayment& v) override { Record("PutDivisionPayment", v); }
  void PutDivisionApproval(const DivisionApproval& v) override { Record("PutDivisionApproval", v); }

 private:
  void Start(std::string_view record) { j_.BeginObject().Key("record").String(record); }
  template <typename T>
  void Record(std::string_view record, const T& value) {
    Start(record);
    Fields(value, Describe{j_});
    j_.EndObject();
  }

  JsonWriter j_;
};

// ---- replay ---------------------------------------------------------------------------------

// Reads a whole value and hands it to `target` only when all of it was read.
// Reads one struct and hands it to `target`, or, without one, reads and checks it into nothing.
template <typename T>
void Deliver(ByteReader& r, StoreWrites* target, void (StoreWrites::*write)(const T&)) {
  if (!target) {
    T ignored;
    Fields(ignored, Skip{r});
    return;
  }
  T value = Read<T>(r);
  if (r.ok()) (target->*write)(value);
}

void ReplayStatement(ByteReader& r, StoreWrites* target) {
  BankStatement statement = Read<BankStatement>(r);
  std::string xml = r.Str("xml");
  if (r.ok() && target) target->PutStatement(statement, xml);
}

void ReplayEndpointWithoutPersonalData(ByteReader& r, StoreWrites* target) {
  WebhookEndpoint endpoint = Read<WebhookEndpoint>(r);
  endpoint.include_personal_data = false;
  if (r.ok() && target) target->PutWebhookEndpoint(endpoint);
}

void ReplayFailPending(ByteReader& r, StoreWrites* target) {
  std::string endpoint_id = r.Str("endpoint_id");
  std::string reason = r.Str("reason");
  if (r.ok() && target) target->FailPendingDeliveries(endpoint_id, reason);
}

void ReplayDeleteIdempotency(ByteReader& r, StoreWrites* target) {
  Instant cutoff = r.Time("cutoff");
  int limit = r.Int("limit");
  if (r.ok() && target) target->DeleteIdempotencyBefore(cutoff, limit);
}

void ReplayBankChannels(ByteReader& r, StoreWrites* target) {
  std::string bank = r.Str("bank");
  std::uint32_t channels = r.U32("extra_channels");
  if (r.ok() && target) target->PutBankChannels(bank, channels);
}

// A policy's recipients are a count, then a bank and an account each.
void ReplayPayoutPolicy(ByteReader& r, StoreWrites* target) {
  PayoutPolicy p;
  p.merchant = r.Str("merchant");
  p.per_transfer_max_minor = r.I64("per_transfer_max_minor");
  p.daily_max_minor = r.I64("daily_max_minor");
  std::size_t n = r.Count("recipients", 2);
  for (std::size_t i = 0; i < n && r.ok(); ++i) {
    std::string bank = r.Str("recipients.bank");
    std::string account = r.Str("recipients.account");
    p.recipients.push_back({std::move(bank), std::move(account)});
  }
  p.updated_at = r.Time("updated_at");
  if (r.ok() && target) target->PutPayoutPolicy(p);
}

void ReplayMerchantDivision(ByteReader& r, StoreWrites* target) {
  auto record = Read<MerchantDivisionRecord>(r);
  Merchant m;
  m.id = std::move(record.id);
  m.category = record.category;
  m.division_direct = record.division_direct;
  if (r.ok() && target) target->PutMerchantDivision(m);
}

void ReplayMasterKey(ByteReader& r, StoreWrites* target) {
  auto record = Read<MasterKeyRecord>(r);
  ApiKey key;
  key.id = std::move(record.id);
  key.secret_hash = std::move(record.secret_hash);
  key.role = Role::kMaster;
  key.label = std::move(record.label);
  key.created_at = record.created_at;
  key.revoked_at = record.revoked_at;
  key.master = std::move(record.master);
  key.expires_at = record.expires_at;
  if (r.ok() && target) target->PutApiKey(key);
}

void ReplayDivisionTransfer(ByteReader& r, StoreWrites* target) {
  auto record = Read<DivisionTransferRecord>(r);
  if (r.ok() && target) target->PutTransfer(record.transfer);
}

// One record after its tag byte, handed to `target` (none: read and checked only); an unknown
// tag is refused by the caller.
void ReplayRecord(ByteReader& r, LogRecordTag tag, StoreWrites* target) {
  using W = StoreWrites;
  switch (tag) {
    case LogRecordTag::kPutBank:
      return Deliver<Bank>(r, target, &W::PutBank);
    case LogRecordTag::kInsertMerchant:
      return Deliver<Merchant>(r, target, &W::InsertMerchant);
    case LogRecordTag::kUpdateMerchant:
      return Deliver<Merchant>(r, target, &W::UpdateMerchant);
    case LogRecordTag::kInsertContract:
      return Deliver<Contract>(r, target, &W::InsertContract);
    case LogRecordTag::kPutApiKey:
      return Deliver<ApiKey>(r, target, &W::PutApiKey);
    case LogRecordTag::kPutNumber:
      return Deliver<NumberRecord>(r, target, &W::PutNumber);
    case LogRecordTag::kPutAssignment:
      return Deliver<Assignment>(r, target, &W::PutAssignment);
    case LogRecordTag::kPutDeposit:
      return Deliver<Deposit>(r, target, &W::PutDeposit);
    case LogRecordTag::kAppendLedgerEntry:
      return Deliver<LedgerEntry>(r, target, &W::AppendLedgerEntry);
    case LogRecordTag::kPutIdempotency:
      return Deliver<IdempotencyRecord>(r, target, &W::PutIdempotency);
    case LogRecordTag::kPutWebhookEndpoint:
      return Deliver<WebhookEndpoint>(r, target, &W::PutWebhookEndpoint);
    case LogRecordTag::kPutWebhookEndpointWithoutPersonalData:
      return ReplayEndpointWithoutPersonalData(r, target);
    case LogRecordTag::kAppendEvent:
      return Deliver<Event>(r, target, &W::AppendEvent);
    case LogRecordTag::kPutDelivery:
      return Deliver<Delivery>(r, target, &W::PutDelivery);
    case LogRecordTag::kPutStatement:
      return ReplayStatement(r, target);
    case LogRecordTag::kPutTransfer:
      return Deliver<Transfer>(r, target, &W::PutTransfer);
    case LogRecordTag::kFailPendingDeliveries:
      return ReplayFailPending(r, target);
    case LogRecordTag::kDeleteIdempotencyBefore:
      return ReplayDeleteIdempotency(r, target);
    case LogRecordTag::kPutStatementMessage:
      return Deliver<StatementMessage>(r, target, &W::PutStatementMessage);
    case LogRecordTag::kPutBankChannels:
      return ReplayBankChannels(r, target);
    case LogRecordTag::kPutPayoutPolicy:
      return ReplayPayoutPolicy(r, target);
    case LogRecordTag::kPutHolderInquiry:
      return Deliver<HolderInquiryRecord>(r, target, &W::PutHolderInquiry);
    case LogRecordTag::kPutMerchantDivision:
      return ReplayMerchantDivision(r, target);
    case LogRecordTag::kPutMaster:
      return Deliver<Master>(r, target, &W::PutMaster);
    case LogRecordTag::kPutDivisionAccount:
      return Deliver<DivisionAccount>(r, target, &W::PutDivisionAccount);
    case LogRecordTag::kPutDivisionPayment:
      return Deliver<DivisionPayment>(r, target, &W::PutDivisionPayment);
    case LogRecordTag::kPutDivisionApproval:
      return Deliver<DivisionApproval>(r, target, &W::PutDivisionApproval);
    case LogRecordTag::kPutMasterKey:
      return ReplayMasterKey(r, target);
    case LogRecordTag::kPutDivisionTransfer:
      return ReplayDivisionTransfer(r, target);
  }
  r.Refuse("tag", r.offset(), "unknown tag");
}

}  // namespace

Result<std::string> DescribeLogBatch(std::string_view bytes) {
  BatchDescriber describer;
  if (auto r = ReplayLogBatch(bytes, describer); !r) return std::unexpected(r.error());
  return describer.Finish();
}

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
  if (key.role == Role::kMaster) {
    ByteWriter w(StartRecord(LogRecordTag::kPutMasterKey));
    Put(w, MasterKeyRecord{key.id, key.secret_hash, key.label, key.created_at, key.revoked_at, key.master,
                           key.expires_at});
    return;
  }
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
  ByteWriter w(StartRecord(endpoint.include_personal_data
                               ? LogRecordTag::kPutWebhookEndpoint
                               : LogRecordTag::kPutWebhookEndpointWithoutPersonalData));
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

void LogBatchEncoder::PutStatementMessage(const StatementMessage& message) {
  ByteWriter w(StartRecord(LogRecordTag::kPutStatementMessage));
  Put(w, message);
}

void LogBatchEncoder::PutStatement(const BankStatement& statement, const std::string& xml) {
  ByteWriter w(StartRecord(LogRecordTag::kPutStatement));
  Put(w, statement);
  w.Bytes(xml);
}

void LogBatchEncoder::PutTransfer(const Transfer& transfer) {
  if (transfer.purpose != TransferPurpose::kPayout) {
    ByteWriter w(StartRecord(LogRecordTag::kPutDivisionTransfer));
    Put(w, DivisionTransferRecord{transfer});
    return;
  }
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

void LogBatchEncoder::PutBankChannels(const std::string& bank, std::uint32_t extra_channels) {
  ByteWriter w(StartRecord(LogRecordTag::kPutBankChannels));
  w.Bytes(bank);
  w.U64(extra_channels);
}

void LogBatchEncoder::PutPayoutPolicy(const PayoutPolicy& policy) {
  ByteWriter w(StartRecord(LogRecordTag::kPutPayoutPolicy));
  w.Bytes(policy.merchant);
  w.I64(policy.per_transfer_max_minor);
  w.I64(policy.daily_max_minor);
  w.U64(policy.recipients.size());
  for (const auto& r : policy.recipients) {
    w.Bytes(r.bank);
    w.Bytes(r.account);
  }
  w.Time(policy.updated_at);
}

void LogBatchEncoder::PutHolderInquiry(const HolderInquiryRecord& record) {
  ByteWriter w(StartRecord(LogRecordTag::kPutHolderInquiry));
  Put(w, record);
}

// ---- replay ---------------------------------------------------------------------------------

Result<void> ReplayLogBatch(std::string_view bytes, StoreWrites& target) {
  return ReplayLogBatch(bytes, target, ~std::uint64_t{0});
}

Result<void> ReplayLogBatch(std::string_view bytes, StoreWrites& target, std::uint64_t wanted) {
  ByteReader r(bytes);
  for (std::size_t index = 0; !r.AtEnd(); ++index) {
    std::size_t start = r.offset();
    std::uint8_t code = r.Byte("tag");
    auto tag = static_cast<LogRecordTag>(code);
    // Tags are not all contiguous (ranges are kept for writes yet to come): a name says known.
    bool known = code != 0 && TagName(tag) != "unknown";
    if (known) {
      ReplayRecord(r, tag, (wanted & LogRecordBit(tag)) != 0 ? &target : nullptr);
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

namespace varelay {

void LogBatchEncoder::PutMerchantDivision(const Merchant& merchant) {
  ByteWriter w(StartRecord(LogRecordTag::kPutMerchantDivision));
  Put(w, MerchantDivisionRecord{merchant.id, merchant.category, merchant.division_direct});
}

void LogBatchEncoder::PutMaster(const Master& master) {
  ByteWriter w(StartRecord(LogRecordTag::kPutMaster));
  Put(w, master);
}

void LogBatchEncoder::PutDivisionAccount(const DivisionAccount& account) {
  ByteWriter w(StartRecord(LogRecordTag::kPutDivisionAccount));
  Put(w, account);
}

void LogBatchEncoder::PutDivisionPayment(const DivisionPayment& payment) {
  ByteWriter w(StartRecord(LogRecordTag::kPutDivisionPayment));
  Put(w, payment);
}

void LogBatchEncoder::PutDivisionApproval(const DivisionApproval& approval) {
  ByteWriter w(StartRecord(LogRecordTag::kPutDivisionApproval));
  Put(w, approval);
}

}  // namespace varelay
