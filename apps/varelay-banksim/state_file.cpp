#include "state_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

namespace varelay::banksim {
namespace json = boost::json;
namespace {

json::value MoneyValue(Money m) { return json::value(m.minor()); }

json::object Encode(const Account& a) {
  return {{"type", "account"},
          {"number", a.number},
          {"holder_name", a.holder_name},
          {"kind", Name(a.kind)},
          {"currency", a.balance.currency().code()},
          {"opening_balance", MoneyValue(a.opening_balance)},
          {"balance", MoneyValue(a.balance)},
          {"prefix", a.prefix},
          {"opened_at_ms", ToUnixMs(a.opened_at)},
          {"holder_id", a.holder_id},
          {"consent_ceiling", a.consent_ceiling_won},
          {"consent_id", a.consent_id},
          {"consent_required", a.consent_required}};
}
json::object Encode(const VirtualAccount& v) {
  return {{"type", "virtual_account"},
          {"number", v.number},
          {"mother_account", v.mother_account},
          {"mode", Name(v.mode)},
          {"issued_at_ms", ToUnixMs(v.issued_at)}};
}
json::object Encode(const Booking& b) {
  return {{"type", "booking"},
          {"id", b.id},
          {"kind", Name(b.kind)},
          {"debit_account", b.debit_account},
          {"credit_account", b.credit_account},
          {"currency", b.amount.currency().code()},
          {"amount", MoneyValue(b.amount)},
          {"booked_at_ms", ToUnixMs(b.booked_at)},
          {"virtual_number", b.virtual_number},
          {"payer_name", b.payer_name},
          {"original_id", b.original_id},
          {"cancelled_by", b.cancelled_by},
          {"reference", b.reference}};
}
json::object Encode(const Notice& n) {
  json::object o{{"type", "notice"},
                 {"seq", n.seq},
                 {"kind", Name(n.kind)},
                 {"transaction_id", n.transaction_id},
                 {"number", n.number},
                 {"currency", n.amount.currency().code()},
                 {"amount", MoneyValue(n.amount)},
                 {"booked_amount", MoneyValue(n.booked_amount)},
                 {"payer_name", n.payer_name},
                 {"event_at", n.event_at},
                 {"original_transaction_id", n.original_transaction_id},
                 {"state", Name(n.state)},
                 {"send_count", n.send_count},
                 {"last_status", n.last_status},
                 {"queued_at_ms", ToUnixMs(n.queued_at)},
                 {"next_send_at_ms", ToUnixMs(n.next_send_at)},
                 {"relay_deposit_id", n.relay_deposit_id},
                 {"relay_outcome", n.relay_outcome},
                 {"relay_duplicate", n.relay_duplicate},
                 {"duplicates_sent", n.duplicates_sent},
                 {"telegram_sequence", n.telegram.sequence},
                 {"telegram_sent_at_ms", ToUnixMs(n.telegram.sent_at)},
                 {"relay_transaction_id", n.relay_transaction_id}};
  if (n.answered_at) o["answered_at_ms"] = ToUnixMs(*n.answered_at);
  return o;
}
json::object Encode(const Withdrawal& w) {
  return {{"type", "withdrawal"},
          {"reference", w.reference},
          {"account", w.account},
          {"credit_account", w.credit_account},
          {"currency", w.amount.currency().code()},
          {"amount", MoneyValue(w.amount)},
          {"status", Name(w.status)},
          {"reason", w.reason},
          {"balance_after", MoneyValue(w.balance_after)},
          {"booking_id", w.booking_id},
          {"executed_at_ms", ToUnixMs(w.executed_at)}};
}
json::object Encode(const Counters& c) {
  json::object serials;
  for (const auto& [prefix, serial] : c.next_serial) serials[prefix] = serial;
  return {{"type", "counters"},
          {"run_id", c.run_id},
          {"next_seq", c.next_seq},
          {"next_serial", std::move(serials)},
          {"sequence_day", c.sequence_day},
          {"next_sequence", c.next_sequence}};
}

// Reads typed members of one record, remembering the first problem.
class Reader {
 public:
  explicit Reader(const json::object& o) : o_(o) {}

  std::string Str(std::string_view key) {
    auto* v = o_.if_contains(key);
    if (!v || !v->is_string()) {
      Bad(key);
      return {};
    }
    return std::string(v->as_string());
  }
  std::int64_t Int(std::string_view key) {
    auto* v = o_.if_contains(key);
    if (!v || !(v->is_int64() || v->is_uint64())) {
      Bad(key);
      return 0;
    }
    return v->is_int64() ? v->as_int64() : static_cast<std::int64_t>(v->as_uint64());
  }
  bool Bool(std::string_view key) {
    auto* v = o_.if_contains(key);
    if (!v || !v->is_bool()) {
      Bad(key);
      return false;
    }
    return v->as_bool();
  }
  Instant At(std::string_view key) { return FromUnixMs(Int(key)); }
  // Members added after the first version: a missing one is `fallback` (older files load), a
  // present one must be well-formed.
  std::int64_t IntOr(std::string_view key, std::int64_t fallback) {
    return o_.contains(key) ? Int(key) : fallback;
  }
  std::string StrOr(std::string_view key) { return o_.contains(key) ? Str(key) : std::string(); }
  // A member that must lie in [min, max].
  std::int64_t Bounded(std::int64_t value, std::string_view key, std::int64_t min,
                       std::int64_t max) {
    if (value < min || value > max) {
      Bad(key);
      return min;
    }
    return value;
  }
  Currency Ccy() {
    auto c = Currency::FromCode(Str("currency"));
    if (!c) Bad("currency");
    return c.value_or(Currency::Krw());
  }
  template <typename T>
  T Enum(std::string_view key, std::optional<T> (*parse)(std::string_view)) {
    auto value = parse(Str(key));
    if (!value) {
      Bad(key);
      return T{};
    }
    return *value;
  }
  bool ok() const { return bad_.empty(); }
  const std::string& bad() const { return bad_; }

 private:
  void Bad(std::string_view key) {
    if (bad_.empty()) bad_ = std::string(key);
  }
  const json::object& o_;
  std::string bad_;
};

Result<BankRecord> Decode(const json::object& o) {
  Reader r(o);
  auto type = r.Str("type");
  BankRecord record;
  if (type == "account") {
    Account a;
    a.number = r.Str("number");
    a.holder_name = r.Str("holder_name");
    a.kind = r.Enum<AccountKind>("kind", ParseAccountKind);
    auto ccy = r.Ccy();
    a.opening_balance = Money(r.Int("opening_balance"), ccy);
    a.balance = Money(r.Int("balance"), ccy);
    a.prefix = r.Str("prefix");
    a.opened_at = r.At("opened_at_ms");
    // Files written before consent existed have none of these three.
    a.holder_id = r.StrOr("holder_id");
    a.consent_ceiling_won = r.IntOr("consent_ceiling", 0);
    a.consent_id = r.StrOr("consent_id");
    a.consent_required = o.contains("consent_required") && r.Bool("consent_required");
    record = a;
  } else if (type == "virtual_account") {
    VirtualAccount v;
    v.number = r.Str("number");
    v.mother_account = r.Str("mother_account");
    v.mode = r.Enum<IssueMode>("mode", ParseIssueMode);
    v.issued_at = r.At("issued_at_ms");
    record = v;
  } else if (type == "booking") {
    Booking b;
    b.id = r.Str("id");
    b.kind = r.Enum<BookingKind>("kind", ParseBookingKind);
    b.debit_account = r.Str("debit_account");
    b.credit_account = r.Str("credit_account");
    b.amount = Money(r.Int("amount"), r.Ccy());
    b.booked_at = r.At("booked_at_ms");
    b.virtual_number = r.Str("virtual_number");
    b.payer_name = r.Str("payer_name");
    b.original_id = r.Str("original_id");
    b.cancelled_by = r.Str("cancelled_by");
    b.reference = r.Str("reference");
    record = b;
  } else if (type == "notice") {
    Notice n;
    n.seq = static_cast<std::uint64_t>(r.Int("seq"));
    n.kind = r.Enum<NoticeKind>("kind", ParseNoticeKind);
    n.transaction_id = r.Str("transaction_id");
    n.number = r.Str("number");
    auto ccy = r.Ccy();
    n.amount = Money(r.Int("amount"), ccy);
    n.booked_amount = Money(r.Int("booked_amount"), ccy);
    n.payer_name = r.Str("payer_name");
    n.event_at = r.Str("event_at");
    n.original_transaction_id = r.Str("original_transaction_id");
    n.state = r.Enum<NoticeState>("state", ParseNoticeState);
    n.send_count = static_cast<int>(r.Int("send_count"));
    n.last_status = r.Str("last_status");
    n.queued_at = r.At("queued_at_ms");
    n.next_send_at = r.At("next_send_at_ms");
    if (o.contains("answered_at_ms")) n.answered_at = r.At("answered_at_ms");
    n.relay_deposit_id = r.Str("relay_deposit_id");
    n.relay_outcome = r.Str("relay_outcome");
    n.relay_duplicate = r.Bool("relay_duplicate");
    n.duplicates_sent = static_cast<int>(r.Int("duplicates_sent"));
    n.telegram.sequence = static_cast<std::uint32_t>(
        r.Bounded(r.IntOr("telegram_sequence", 0), "telegram_sequence", 0, kMaxTelegramSequence));
    n.telegram.sent_at = FromUnixMs(r.IntOr("telegram_sent_at_ms", 0));
    n.relay_transaction_id = r.StrOr("relay_transaction_id");
    record = n;
  } else if (type == "withdrawal") {
    Withdrawal w;
    w.reference = r.Str("reference");
    w.account = r.Str("account");
    w.credit_account = r.StrOr("credit_account");
    auto ccy = r.Ccy();
    w.amount = Money(r.Int("amount"), ccy);
    w.status = r.Enum<WithdrawalStatus>("status", ParseWithdrawalStatus);
    w.reason = r.Str("reason");
    w.balance_after = Money(r.Int("balance_after"), ccy);
    w.booking_id = r.Str("booking_id");
    w.executed_at = r.At("executed_at_ms");
    record = w;
  } else if (type == "counters") {
    Counters c;
    c.run_id = r.Str("run_id");
    c.next_seq = static_cast<std::uint64_t>(r.Int("next_seq"));
    c.sequence_day = r.StrOr("sequence_day");
    c.next_sequence = static_cast<std::uint32_t>(
        r.Bounded(r.IntOr("next_sequence", 1), "next_sequence", 1, kMaxTelegramSequence + 1));
    auto* serials = o.if_contains("next_serial");
    if (!serials || !serials->is_object())
      return Fail(ErrorCode::kInvalidField, "counters without next_serial");
    for (const auto& [prefix, serial] : serials->as_object()) {
      if (!serial.is_int64() && !serial.is_uint64())
        return Fail(ErrorCode::kInvalidField, "a serial is not a number");
      c.next_serial[std::string(prefix)] = serial.to_number<std::uint64_t>();
    }
    record = c;
  } else {
    return Fail(ErrorCode::kInvalidField, "unknown record type '" + type + "'");
  }
  if (!r.ok())
    return Fail(ErrorCode::kInvalidField, type + " record: bad or missing '" + r.bad() + "'");
  return record;
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Makes a rename durable: fsync the folder that holds the file.
void SyncParent(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

std::string EncodeRecord(const BankRecord& record) {
  return std::visit([](const auto& r) { return json::serialize(Encode(r)); }, record);
}

Result<BankRecord> DecodeRecord(std::string_view line) {
  std::error_code ec;
  auto value = json::parse(line, ec);
  if (ec || !value.is_object()) return Fail(ErrorCode::kMalformedJson, "not a JSON object");
  return Decode(value.as_object());
}

Result<std::vector<BankRecord>> StateFile::Load(const std::string& path) {
  std::vector<BankRecord> records;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (::access(path.c_str(), F_OK) != 0) return records;  // no file yet: an empty bank
    return Fail(ErrorCode::kInternal, "cannot read " + path);
  }
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t start = 0, line_no = 0;
  while (start < content.size()) {
    auto end = content.find('\n', start);
    bool last = end == std::string::npos;
    std::string_view line(content.data() + start, (last ? content.size() : end) - start);
    ++line_no;
    start = last ? content.size() : end + 1;
    if (line.empty()) continue;
    auto record = DecodeRecord(line);
    if (!record) {
      if (last) break;  // a write cut short by a crash: the change was never answered
      return Fail(ErrorCode::kInvalidField,
                  path + " line " + std::to_string(line_no) + ": " + record.error().detail);
    }
    records.push_back(std::move(*record));
  }
  return records;
}

Result<std::unique_ptr<StateFile>> StateFile::Rewrite(const std::string& path,
                                                      const std::vector<BankRecord>& snapshot) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return Fail(ErrorCode::kInternal, "cannot create " + tmp + ": " + std::strerror(errno));
  std::string data;
  for (const auto& record : snapshot) {
    data += EncodeRecord(record);
    data += '\n';
  }
  bool ok = WriteAll(fd, data) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return Fail(ErrorCode::kInternal, "cannot write " + path + ": " + std::strerror(errno));
  }
  SyncParent(path);
  fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0)
    return Fail(ErrorCode::kInternal, "cannot open " + path + ": " + std::strerror(errno));
  return std::unique_ptr<StateFile>(new StateFile(path, fd));
}

StateFile::~StateFile() { ::close(fd_); }

void StateFile::Append(std::span<const BankRecord> records) {
  std::string data;
  for (const auto& record : records) {
    data += EncodeRecord(record);
    data += '\n';
  }
  if (!WriteAll(fd_, data) || ::fdatasync(fd_) != 0) {
    std::cerr << "varelay-banksim: cannot write the state file " << path_ << ": "
              << std::strerror(errno) << "; stopping so that nothing unrecorded is answered"
              << std::endl;
    std::abort();
  }
}

}  // namespace varelay::banksim
