#include "routes.h"

#include <boost/json.hpp>
#include <charconv>
#include <initializer_list>
#include <optional>
#include <vector>

#include "statement.h"

namespace varelay::banksim {
namespace json = boost::json;
namespace {

// ---- responses ----------------------------------------------------------------------------------

// The largest page of GET /notices.
constexpr std::uint64_t kMaxNoticePage = 10'000;

SimResponse Json(int status, const json::value& body) {
  return SimResponse{status, "application/json", json::serialize(body)};
}

SimResponse Problem(int status, std::string_view code, std::string_view detail) {
  json::object body{{"type", "urn:varelay-banksim:problem:" + std::string(code)},
                    {"title", std::string(code)},
                    {"status", status},
                    {"detail", detail},
                    {"code", code}};
  return SimResponse{status, "application/problem+json", json::serialize(body)};
}

int StatusOf(BankErrc code) {
  switch (code) {
    case BankErrc::kInvalidField:
      return 400;
    case BankErrc::kNotFound:
      return 404;
    case BankErrc::kAccountExists:
    case BankErrc::kAlreadyCancelled:
    case BankErrc::kReferenceConflict:
    case BankErrc::kNumbersExhausted:
    case BankErrc::kLimitReached:
      return 409;
    case BankErrc::kWrongAccountKind:
    case BankErrc::kUnknownNumber:
    case BankErrc::kNoMotherAccount:
    case BankErrc::kInsufficientFunds:
    case BankErrc::kBalanceLimit:
    case BankErrc::kHolderMismatch:
      return 422;
  }
  return 500;
}

SimResponse Problem(const BankError& error) {
  return Problem(StatusOf(error.code), BankErrcName(error.code), error.detail);
}

json::value Nullable(const std::string& s) {
  return s.empty() ? json::value(nullptr) : json::value(s);
}
json::value Time(Instant t) { return json::value(FormatRfc3339(t)); }

json::object ToJson(const Account& a) {
  return {{"number", a.number},
          {"holder_name", a.holder_name},
          {"kind", Name(a.kind)},
          {"balance", a.balance.minor()},
          {"currency", a.balance.currency().code()},
          {"prefix", Nullable(a.prefix)},
          {"opened_at", Time(a.opened_at)}};
}

json::object ToJson(const VirtualAccount& v, std::string_view holder_name) {
  return {{"number", v.number},
          {"mother_account", v.mother_account},
          {"holder_name", holder_name},
          {"mode", Name(v.mode)},
          {"issued_at", Time(v.issued_at)}};
}

json::object ToJson(const Booking& b) {
  return {{"transaction_id", b.id},
          {"kind", Name(b.kind)},
          {"debit_account", Nullable(b.debit_account)},
          {"credit_account", Nullable(b.credit_account)},
          {"amount", b.amount.minor()},
          {"currency", b.amount.currency().code()},
          {"booked_at", Time(b.booked_at)},
          {"number", Nullable(b.virtual_number)},
          {"payer_name", b.payer_name},
          {"original_transaction_id", Nullable(b.original_id)},
          {"cancelled_by", Nullable(b.cancelled_by)},
          {"reference", Nullable(b.reference)}};
}

json::object ToJson(const Notice& n) {
  bool pending = n.state == NoticeState::kPending;
  return {{"seq", n.seq},
          {"kind", Name(n.kind)},
          {"transaction_id", n.transaction_id},
          {"original_transaction_id", Nullable(n.original_transaction_id)},
          {"number", n.number},
          {"amount", n.amount.minor()},
          {"booked_amount", n.booked_amount.minor()},
          {"currency", n.amount.currency().code()},
          {"payer_name", n.payer_name},
          {"event_at", n.event_at},
          {"state", Name(n.state)},
          {"answered", n.state == NoticeState::kAnswered},
          {"send_count", n.send_count},
          {"last_status", Nullable(n.last_status)},
          {"queued_at", Time(n.queued_at)},
          {"next_send_at", pending ? Time(n.next_send_at) : json::value(nullptr)},
          {"answered_at", n.answered_at ? Time(*n.answered_at) : json::value(nullptr)},
          {"relay_deposit_id", Nullable(n.relay_deposit_id)},
          {"relay_outcome", Nullable(n.relay_outcome)},
          {"relay_duplicate", n.relay_duplicate},
          {"relay_transaction_id", Nullable(n.relay_transaction_id)},
          {"telegram_sequence", n.telegram.sequence},
          {"telegram_sent_at", Time(n.telegram.sent_at)},
          {"duplicates_sent", n.duplicates_sent}};
}

json::object ToJson(const Withdrawal& w) {
  return {{"reference", w.reference},           {"account", w.account},
          {"amount", w.amount.minor()},         {"currency", w.amount.currency().code()},
          {"status", Name(w.status)},           {"reason", Nullable(w.reason)},
          {"balance", w.balance_after.minor()}, {"transaction_id", Nullable(w.booking_id)},
          {"executed_at", Time(w.executed_at)}};
}

// ---- request bodies
// ------------------------------------------------------------------------------

// A JSON object body read field by field; the first problem is kept and reported.
class Body {
 public:
  static std::variant<Body, SimResponse> Parse(const SimRequest& request,
                                               std::initializer_list<std::string_view> allowed) {
    if (!request.content_type.starts_with("application/json")) {
      return Problem(415, "unsupported_media_type", "send the body as application/json");
    }
    std::error_code ec;
    auto value = json::parse(request.body, ec);  // rejects invalid UTF-8
    if (ec || !value.is_object())
      return Problem(400, "malformed_json", "the body must be a JSON object");
    for (const auto& [key, member] : value.as_object()) {
      bool known = false;
      for (auto name : allowed) known = known || key == name;
      if (!known) return Problem(400, "unknown_field", "unknown field '" + std::string(key) + "'");
    }
    return Body(std::move(value.as_object()));
  }

  std::string Str(std::string_view key, bool required) {
    auto* v = object_.if_contains(key);
    if (!v || v->is_null()) {
      if (required) Bad("missing_field", key, "is required");
      return {};
    }
    if (!v->is_string()) {
      Bad("invalid_field", key, "must be a string");
      return {};
    }
    return std::string(v->as_string());
  }

  std::optional<std::int64_t> Int(std::string_view key, bool required) {
    auto* v = object_.if_contains(key);
    if (!v || v->is_null()) {
      if (required) Bad("missing_field", key, "is required");
      return std::nullopt;
    }
    if (!v->is_int64() &&
        !(v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))) {
      Bad("invalid_field", key, "must be an integer");
      return std::nullopt;
    }
    return v->to_number<std::int64_t>();
  }

  std::optional<SimResponse> error() const { return error_; }

 private:
  explicit Body(json::object object) : object_(std::move(object)) {}
  void Bad(std::string_view code, std::string_view key, std::string_view what) {
    if (!error_) error_ = Problem(400, code, std::string(key) + " " + std::string(what));
  }
  json::object object_;
  std::optional<SimResponse> error_;
};

Money Krw(std::int64_t minor) { return Money(minor, Currency::Krw()); }

// ---- handlers
// ------------------------------------------------------------------------------------

SimResponse OpenAccount(Teller& teller, const SimRequest& request) {
  auto parsed = Body::Parse(request, {"number", "holder_name", "balance", "kind", "prefix"});
  if (auto* problem = std::get_if<SimResponse>(&parsed)) return *problem;
  auto& body = std::get<Body>(parsed);
  Account account;
  account.number = body.Str("number", true);
  account.holder_name = body.Str("holder_name", true);
  account.opening_balance = Krw(body.Int("balance", false).value_or(0));
  auto kind_text = body.Str("kind", false);
  account.prefix = body.Str("prefix", false);
  if (auto e = body.error()) return *e;
  auto kind =
      kind_text.empty() ? std::optional(AccountKind::kCustomer) : ParseAccountKind(kind_text);
  if (!kind) return Problem(400, "invalid_field", "kind must be customer or mother");
  account.kind = *kind;
  auto opened =
      teller.WithBank([&](Bank& bank) { return bank.OpenAccount(account, teller.Now()); });
  if (!opened) return Problem(opened.error());
  return Json(201, ToJson(*opened));
}

SimResponse GetAccount(Teller& teller, std::string_view number) {
  auto account = teller.WithBank([&](Bank& bank) -> std::optional<Account> {
    const Account* a = bank.FindAccount(number);
    return a ? std::optional(*a) : std::nullopt;
  });
  if (!account) return Problem(404, "not_found", "no account " + std::string(number));
  return Json(200, ToJson(*account));
}

SimResponse ListAccounts(Teller& teller) {
  json::array items;
  for (const auto& a : teller.WithBank([](Bank& bank) { return bank.Accounts(); }))
    items.push_back(ToJson(a));
  return Json(200, json::object{{"items", std::move(items)}});
}

SimResponse Issue(Teller& teller, const SimRequest& request, bool block) {
  auto parsed = Body::Parse(
      request, block ? std::initializer_list<std::string_view>{"count", "prefix", "mother_account"}
                     // Real time: what the relay sends about the order it needs a number for.
                     : std::initializer_list<std::string_view>{"prefix", "mother_account", "merchant", "bank",
                                                               "order_id", "amount", "currency", "due_at"});
  if (auto* problem = std::get_if<SimResponse>(&parsed)) return *problem;
  auto& body = std::get<Body>(parsed);
  IssueRequest issue;
  issue.prefix = body.Str("prefix", false);
  issue.mother_account = body.Str("mother_account", false);
  auto count = block ? body.Int("count", true) : std::optional<std::int64_t>(1);
  if (auto e = body.error()) return *e;
  if (*count < 1 || *count > static_cast<std::int64_t>(kMaxBlockSize)) {
    return Problem(400, "invalid_field", "count must be 1 to " + std::to_string(kMaxBlockSize));
  }
  issue.count = static_cast<std::size_t>(*count);
  return teller.WithBank([&](Bank& bank) -> SimResponse {
    Instant now = teller.Now();
    if (!block) {
      auto one = bank.IssueOne(issue, now);
      if (!one) return Problem(one.error());
      return Json(201, ToJson(*one, bank.FindAccount(one->mother_account)->holder_name));
    }
    auto issued = bank.IssueBlock(issue, now);
    if (!issued) return Problem(issued.error());
    const Account* mother = bank.FindAccount(issued->front().mother_account);
    json::array numbers;
    for (const auto& va : *issued) numbers.emplace_back(va.number);
    json::object out;
    out["mother_account"] = mother->number;
    out["holder_name"] = mother->holder_name;
    out["mode"] = "batch";
    out["count"] = issued->size();
    out["numbers"] = std::move(numbers);
    return Json(201, out);
  });
}

SimResponse GetVirtualAccount(Teller& teller, std::string_view number) {
  return teller.WithBank([&](Bank& bank) {
    auto va = bank.FindVirtualAccount(number);
    if (!va) return Problem(404, "not_found", "the bank did not issue " + std::string(number));
    return Json(200, ToJson(*va, bank.FindAccount(va->mother_account)->holder_name));
  });
}

SimResponse Pay(Teller& teller, const SimRequest& request) {
  auto parsed = Body::Parse(request, {"from_account", "to_number", "amount", "payer_name"});
  if (auto* problem = std::get_if<SimResponse>(&parsed)) return *problem;
  auto& body = std::get<Body>(parsed);
  PaymentOrder order;
  order.from_account = body.Str("from_account", true);
  order.to_number = body.Str("to_number", true);
  auto amount = body.Int("amount", true);
  order.payer_name = body.Str("payer_name", false);
  if (auto e = body.error()) return *e;
  order.amount = Krw(*amount);
  auto outcome = teller.Pay(order);
  if (outcome.reason == "invalid_field") return Problem(400, "invalid_field", outcome.detail);
  if (outcome.status == PaymentStatus::kRefused) {
    return Json(200, json::object{{"status", "refused"},
                                  {"reason", outcome.reason},
                                  {"detail", outcome.detail},
                                  {"transaction_id", nullptr},
                                  {"payer_balance", outcome.payer_balance.minor()}});
  }
  const Booking& b = *outcome.booking;
  return Json(200, json::object{{"status", "accepted"},
                                {"transaction_id", b.id},
                                {"from_account", b.debit_account},
                                {"to_number", b.virtual_number},
                                {"mother_account", b.credit_account},
                                {"amount", b.amount.minor()},
                                {"currency", b.amount.currency().code()},
                                {"payer_name", b.payer_name},
                                {"holder_name", outcome.holder_name},
                                {"due_at", Nullable(outcome.due_at)},
                                {"booked_at", Time(b.booked_at)},
                                {"payer_balance", outcome.payer_balance.minor()}});
}

SimResponse GetPayment(Teller& teller, std::string_view id) {
  auto booking = teller.WithBank([&](Bank& bank) -> std::optional<Booking> {
    const Booking* b = bank.FindBooking(id);
    return b ? std::optional(*b) : std::nullopt;
  });
  if (!booking) return Problem(404, "not_found", "no transaction " + std::string(id));
  return Json(200, ToJson(*booking));
}

SimResponse CancelPayment(Teller& teller, const std::string& id) {
  auto cancelled = teller.Cancel(id);
  if (!cancelled) return Problem(cancelled.error());
  return Json(200, json::object{{"status", "cancelled"},
                                {"transaction_id", cancelled->id},
                                {"original_transaction_id", cancelled->original_id},
                                {"amount", cancelled->amount.minor()},
                                {"currency", cancelled->amount.currency().code()},
                                {"cancelled_at", Time(cancelled->booked_at)}});
}

// The value of `name` in a query string ("after=3&limit=10"), empty when absent.
std::string_view QueryValue(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
      return pair.substr(name.size() + 1);
    }
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  return {};
}

std::optional<std::uint64_t> QueryNumber(std::string_view text, std::uint64_t fallback) {
  if (text.empty()) return fallback;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// GET /notices?state=pending|answered|failed&after=SEQ&limit=N (1..kMaxNoticePage, oldest first).
SimResponse ListNotices(Teller& teller, std::string_view query) {
  auto after = QueryNumber(QueryValue(query, "after"), 0);
  auto limit = QueryNumber(QueryValue(query, "limit"), kMaxNoticePage);
  if (!after || !limit || *limit < 1 || *limit > kMaxNoticePage) {
    return Problem(400, "invalid_field",
                   "after must be a notice seq and limit 1 to " + std::to_string(kMaxNoticePage));
  }
  std::optional<NoticeState> state;
  if (auto text = QueryValue(query, "state"); !text.empty()) {
    state = ParseNoticeState(text);
    if (!state) return Problem(400, "invalid_field", "state must be pending, answered or failed");
  }
  json::object out;
  teller.WithBank([&](Bank& bank) {
    // One more than asked, to know whether another page follows.
    auto notices = bank.Notices(*after, static_cast<std::size_t>(*limit) + 1, state);
    bool more = notices.size() > *limit;
    if (more) notices.pop_back();
    json::array items;
    for (const auto& n : notices) items.push_back(ToJson(n));
    out["items"] = std::move(items);
    out["next_after"] = more ? json::value(notices.back().seq) : json::value(nullptr);
    out["pending"] = bank.NoticeCount(NoticeState::kPending);
    out["answered"] = bank.NoticeCount(NoticeState::kAnswered);
    out["failed"] = bank.NoticeCount(NoticeState::kFailed);
  });
  return Json(200, out);
}

SimResponse HolderInquiry(Teller& teller, const SimRequest& request) {
  auto parsed = Body::Parse(request, {"account"});
  if (auto* problem = std::get_if<SimResponse>(&parsed)) return *problem;
  auto& body = std::get<Body>(parsed);
  auto account = body.Str("account", true);
  if (auto e = body.error()) return *e;
  auto holder = teller.WithBank([&](Bank& bank) { return bank.HolderOf(account); });
  if (!holder) return Problem(holder.error());
  return Json(200, json::object{{"account", holder->number},
                                {"holder_name", holder->holder_name},
                                {"kind", holder->kind},
                                {"mother_account", Nullable(holder->mother_account)}});
}

SimResponse Withdraw(Teller& teller, const SimRequest& request) {
  auto parsed = Body::Parse(request, {"account", "amount", "reference"});
  if (auto* problem = std::get_if<SimResponse>(&parsed)) return *problem;
  auto& body = std::get<Body>(parsed);
  WithdrawalOrder order;
  order.account = body.Str("account", true);
  auto amount = body.Int("amount", true);
  order.reference = body.Str("reference", true);
  if (auto e = body.error()) return *e;
  order.amount = Krw(*amount);
  auto result = teller.WithBank([&](Bank& bank) { return bank.Withdraw(order, teller.Now()); });
  if (!result) return Problem(result.error());
  auto out = ToJson(result->withdrawal);
  out["replayed"] = result->replayed;
  return Json(200, out);
}

SimResponse GetWithdrawal(Teller& teller, std::string_view reference) {
  auto withdrawal = teller.WithBank([&](Bank& bank) -> std::optional<Withdrawal> {
    const Withdrawal* w = bank.FindWithdrawal(reference);
    return w ? std::optional(*w) : std::nullopt;
  });
  if (!withdrawal)
    return Problem(404, "not_found", "no withdrawal with reference " + std::string(reference));
  return Json(200, ToJson(*withdrawal));
}

SimResponse Statement(Teller& teller, std::string_view file, std::string_view query) {
  bool xml = file.ends_with(".xml");
  if (!xml && !file.ends_with(".txt"))
    return Problem(404, "route_not_found", "statements are /statements/YYYY-MM-DD.xml or .txt");
  auto day = ParseDate(file.substr(0, file.size() - 4));
  if (!day) return Problem(400, "invalid_field", "the date must be YYYY-MM-DD");
  std::string account(QueryValue(query, "account"));
  return teller.WithBank([&](Bank& bank) {
    if (!account.empty() && !bank.FindAccount(account))
      return Problem(404, "not_found", "no account " + account);
    auto statements = bank.Statements(*day, account);
    StatementContext context{bank.options().bank_code, *day, teller.Now(), bank.run_id()};
    if (xml)
      return SimResponse{200, "application/xml; charset=utf-8", RenderCamt053(statements, context)};
    return SimResponse{200, "text/plain; charset=utf-8",
                       RenderTelegramSummary(statements, context)};
  });
}

SimResponse Health(Teller& teller) {
  auto [bank_code, pending] = teller.WithBank(
      [](Bank& bank) { return std::pair(bank.options().bank_code, bank.PendingNotices()); });
  return Json(200, json::object{{"status", "ok"},
                                {"bank", bank_code},
                                {"relay", teller.link_description()},
                                {"pending_notices", pending}});
}

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
  }
  return out;
}

}  // namespace

SimResponse HandleRequest(Teller& teller, const SimRequest& request) {
  if (auto answered = HandleOpenBanking(teller, request)) return std::move(*answered);
  std::string_view target = request.target;
  auto question = target.find('?');
  std::string_view query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  auto s = Segments(target.substr(0, question));
  const std::string& m = request.method;
  bool get = m == "GET", post = m == "POST";
  std::size_t n = s.size();
  auto is = [&](std::initializer_list<std::string_view> parts) {
    if (parts.size() != n) return false;
    std::size_t i = 0;
    for (auto p : parts) {
      if (p != "*" && p != s[i]) return false;
      ++i;
    }
    return true;
  };
  auto method_not_allowed = [] {
    return Problem(405, "method_not_allowed", "this path does not take that method");
  };

  if (is({"healthz"})) return get ? Health(teller) : method_not_allowed();
  if (is({"accounts"}))
    return post ? OpenAccount(teller, request) : get ? ListAccounts(teller) : method_not_allowed();
  if (is({"accounts", "*"})) return get ? GetAccount(teller, s[1]) : method_not_allowed();
  if (is({"virtual-accounts", "blocks"}))
    return post ? Issue(teller, request, true) : method_not_allowed();
  if (is({"virtual-accounts"})) return post ? Issue(teller, request, false) : method_not_allowed();
  if (is({"virtual-accounts", "*"}))
    return get ? GetVirtualAccount(teller, s[1]) : method_not_allowed();
  if (is({"payments"})) return post ? Pay(teller, request) : method_not_allowed();
  if (is({"payments", "*"})) return get ? GetPayment(teller, s[1]) : method_not_allowed();
  if (is({"payments", "*", "cancel"}))
    return post ? CancelPayment(teller, std::string(s[1])) : method_not_allowed();
  if (is({"notices"})) return get ? ListNotices(teller, query) : method_not_allowed();
  if (is({"holder-inquiries"})) return post ? HolderInquiry(teller, request) : method_not_allowed();
  if (is({"withdrawals"})) return post ? Withdraw(teller, request) : method_not_allowed();
  if (is({"withdrawals", "*"})) return get ? GetWithdrawal(teller, s[1]) : method_not_allowed();
  if (is({"statements", "*"})) return get ? Statement(teller, s[1], query) : method_not_allowed();
  return Problem(404, "route_not_found", "no route " + std::string(target.substr(0, question)));
}

}  // namespace varelay::banksim
