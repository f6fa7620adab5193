#include "api/division_codec.h"

#include <algorithm>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <charconv>
#include <cstdio>

#include "api/json_reader.h"
#include "domain/digest.h"
#include "domain/identifiers.h"

namespace varelay::api {
namespace json = boost::json;
namespace {

using json_reader::Finish;
using json_reader::Reader;

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsDependantPhone(std::string_view s) {
  return AllDigits(s) && s.size() >= 9 && s.size() <= 11;
}

// The host of a URL that may take `http://`: loopback only (the merchant's test shop).
bool IsLoopbackHost(std::string_view host) {
  return host == "localhost" || host == "[::1]" || host.starts_with("127.");
}

bool IsReturnUrl(std::string_view s) {
  if (!json_reader::IsUrlText(s)) return false;
  auto url = boost::urls::parse_absolute_uri(s);
  if (!url || url->has_userinfo() || url->has_fragment() || url->encoded_host().empty())
    return false;
  if (url->scheme() == "https") return true;
  return url->scheme() == "http" && IsLoopbackHost(url->encoded_host());
}

void BadRequest(RequestError& sink, ErrorCode code, const std::string& field, std::string reason) {
  if (sink.fields.empty()) sink.error = Error{code, field + " " + reason, field};
  sink.fields.push_back({field, std::move(reason)});
}

// A limit or threshold in won, or null to remove it.
Patch<std::int64_t> WonPatch(const json::object& o, std::string_view key, std::int64_t min,
                             RequestError& sink, const std::string& prefix) {
  const json::value* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_null()) return std::optional<std::int64_t>();
  if (v->is_int64() && v->get_int64() >= min && v->get_int64() <= kMaxDivisionLimitMinor) {
    return std::optional<std::int64_t>(v->get_int64());
  }
  BadRequest(sink, ErrorCode::kInvalidField, prefix + std::string(key),
             "must be an integer number of won from " + std::to_string(min) +
                 " to 9999999999999, or null");
  return std::nullopt;
}

Patch<Instant> TimePatch(const json::object& o, std::string_view key, RequestError& sink) {
  const json::value* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_null()) return std::optional<Instant>();
  std::optional<Instant> t;
  if (v->is_string()) t = ParseRfc3339(v->get_string());
  if (!t) {
    BadRequest(sink, ErrorCode::kInvalidField, std::string(key),
               "must be an RFC 3339 date-time, or null");
    return std::nullopt;
  }
  return std::optional<Instant>(*t);
}

void ReadLimits(const json::object& body, DivisionTermsPatch& terms, RequestError& sink) {
  const json::value* v = body.if_contains("limits");
  if (!v || v->is_null()) {
    if (v) terms.per_payment = terms.per_day = terms.per_month = std::optional<std::int64_t>();
    return;
  }
  if (!v->is_object())
    return BadRequest(sink, ErrorCode::kInvalidField, "limits", "must be an object");
  const auto& limits = v->get_object();
  terms.per_payment = WonPatch(limits, "per_payment", 1, sink, "limits.");
  terms.per_day = WonPatch(limits, "per_day", 1, sink, "limits.");
  terms.per_month = WonPatch(limits, "per_month", 1, sink, "limits.");
  Reader(limits, sink, "limits").NoOthers({"per_payment", "per_day", "per_month"});
}

void ReadMerchantRules(const json::object& body, DivisionTermsPatch& terms, RequestError& sink) {
  if (const json::value* v = body.if_contains("merchants_allowed")) {
    if (v->is_null()) {
      terms.merchants_allowed = std::optional<std::vector<std::string>>();
    } else if (!v->is_array() || v->get_array().size() > kMaxAllowedMerchants ||
               !std::all_of(v->get_array().begin(), v->get_array().end(), [](const json::value& m) {
                 return m.is_string() && IsMerchantId(m.get_string());
               })) {
      BadRequest(sink, ErrorCode::kInvalidField, "merchants_allowed",
                 "must be an array of at most 100 merchant ids, or null");
    } else {
      std::vector<std::string> ids;
      for (const auto& m : v->get_array()) ids.emplace_back(m.get_string());
      terms.merchants_allowed = std::optional<std::vector<std::string>>(std::move(ids));
    }
  }
  if (const json::value* v = body.if_contains("categories_denied")) {
    std::vector<MerchantCategory> denied;
    bool ok = v->is_array();
    for (std::size_t i = 0; ok && i < v->get_array().size(); ++i) {
      const auto& c = v->get_array()[i];
      auto category = c.is_string() ? ParseMerchantCategory(c.get_string()) : std::nullopt;
      ok = category && std::find(denied.begin(), denied.end(), *category) == denied.end();
      if (ok) denied.push_back(*category);
    }
    if (!ok) {
      BadRequest(sink, ErrorCode::kInvalidField, "categories_denied",
                 "must be an array of distinct categories: general, food, education, books, "
                 "transport, games, "
                 "alcohol, tobacco, gambling, adult, other");
    } else {
      terms.categories_denied = std::move(denied);
    }
  }
}

void ReadApproval(const json::object& body, DivisionTermsPatch& terms, RequestError& sink) {
  const json::value* v = body.if_contains("approval");
  if (!v) return;
  if (v->is_null()) {
    terms.approval = std::optional<ApprovalRule>();
    return;
  }
  if (!v->is_object())
    return BadRequest(sink, ErrorCode::kInvalidField, "approval", "must be an object, or null");
  Reader r(v->get_object(), sink, "approval");
  ApprovalRule rule;
  auto threshold = r.Integer("threshold", true, 0, kMaxDivisionLimitMinor);
  if (auto t = r.Integer("timeout_minutes", false, kMinApprovalTimeoutMinutes,
                         kMaxApprovalTimeoutMinutes)) {
    rule.timeout_minutes = static_cast<int>(*t);
  }
  r.NoOthers({"threshold", "timeout_minutes"});
  if (threshold) {
    rule.threshold_minor = *threshold;
    terms.approval = std::optional<ApprovalRule>(rule);
  }
}

// The terms shared by issue and update; `valid_from` after `valid_until` is refused.
DivisionTermsPatch ReadTerms(const json::object& body, RequestError& sink) {
  DivisionTermsPatch terms;
  ReadLimits(body, terms, sink);
  ReadMerchantRules(body, terms, sink);
  terms.valid_from = TimePatch(body, "valid_from", sink);
  terms.valid_until = TimePatch(body, "valid_until", sink);
  ReadApproval(body, terms, sink);
  if (terms.valid_from && *terms.valid_from && terms.valid_until && *terms.valid_until &&
      **terms.valid_from >= **terms.valid_until) {
    BadRequest(sink, ErrorCode::kInvalidField, "valid_until", "must be after valid_from");
  }
  return terms;
}

// The members of the terms, and `more`.
std::vector<std::string_view> With(std::initializer_list<std::string_view> more) {
  std::vector<std::string_view> all = {"limits",     "merchants_allowed", "categories_denied",
                                       "valid_from", "valid_until",       "approval"};
  all.insert(all.end(), more);
  return all;
}

void NoOthers(const json::object& body, const std::vector<std::string_view>& known,
              RequestError& sink) {
  for (const auto& member : body) {
    if (std::find(known.begin(), known.end(), member.key()) == known.end()) {
      BadRequest(sink, ErrorCode::kUnknownField, std::string(member.key()),
                 "is not a field of this request");
    }
  }
}

RequestError WeakPassword(std::string reason) {
  RequestError e;
  e.error = Error{ErrorCode::kWeakPassword, "password " + reason, "password"};
  e.fields.push_back({"password", std::move(reason)});
  return e;
}

std::string WeakReason(PasswordRule rule) {
  switch (rule) {
    case PasswordRule::kLength:
      return "must be 6 to 12 digits, or a passphrase of 10 to 64 characters";
    case PasswordRule::kLetterAndNonLetter:
      return "as a passphrase must hold a letter and a non-letter";
    case PasswordRule::kAllSameDigit:
      return "must not be one digit repeated";
    case PasswordRule::kSequentialDigits:
      return "must not be a run of consecutive digits";
    case PasswordRule::kPhoneDigits:
      return "must not be the dependant's phone number's digits";
  }
  return "breaks a rule";
}

std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

}  // namespace

std::optional<std::string> NormaliseLogin(std::string_view login) {
  if (login.empty() || login.size() > kMaxLoginChars || !IsCleanText(login, kMaxLoginChars))
    return std::nullopt;
  if (login.find('@') != std::string_view::npos) {
    auto at = login.find('@');
    if (at == 0 || at + 1 >= login.size() || login.find('@', at + 1) != std::string_view::npos ||
        login.find(' ') != std::string_view::npos ||
        login.find('.', at) == std::string_view::npos) {
      return std::nullopt;
    }
    std::string lower(login);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower;
  }
  std::string digits;
  for (char c : login) {
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (c != '-' && c != ' ') {
      return std::nullopt;
    }
  }
  if (!digits.starts_with("010") || (digits.size() != 10 && digits.size() != 11))
    return std::nullopt;
  return digits;
}

std::optional<std::chrono::year_month_day> ParseDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto number = [&](std::size_t at, std::size_t n) -> std::optional<int> {
    int v = 0;
    auto s = text.substr(at, n);
    if (!AllDigits(s)) return std::nullopt;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
  };
  auto y = number(0, 4), m = number(5, 2), d = number(8, 2);
  if (!y || !m || !d || *y < 1900) return std::nullopt;
  std::chrono::year_month_day day{std::chrono::year(*y),
                                  std::chrono::month(static_cast<unsigned>(*m)),
                                  std::chrono::day(static_cast<unsigned>(*d))};
  if (!day.ok()) return std::nullopt;
  return day;
}

std::string FormatDate(std::chrono::year_month_day day) {
  char out[16];
  std::snprintf(out, sizeof out, "%04d-%02u-%02u", static_cast<int>(day.year()),
                static_cast<unsigned>(day.month()), static_cast<unsigned>(day.day()));
  return out;
}

std::string HolderIdOf(std::chrono::year_month_day birth_date) {
  const auto date = FormatDate(birth_date);  // YYYY-MM-DD
  return date.substr(2, 2) + date.substr(5, 2) + date.substr(8, 2);
}

bool SameHolderName(std::string_view a, std::string_view b) {
  auto squeeze = [](std::string_view s) {
    std::string out;
    for (char c : s) {
      if (c != ' ') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
  };
  return squeeze(a) == squeeze(b);
}

std::optional<RequestError> CheckNewPassword(std::string_view password,
                                             std::string_view phone_digits) {
  if (auto rule = CheckDivisionPassword(password, phone_digits))
    return WeakPassword(WeakReason(*rule));
  return std::nullopt;
}

Decoded<EnrolMasterRequest> DecodeEnrolMaster(const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  EnrolMasterRequest c;
  c.bank = r.Text("bank_code", true, IsBankCode, "must be a 3-digit KFTC bank code");
  c.account = r.Text(
      "account", true,
      [](std::string_view s) { return AllDigits(s) && s.size() >= 6 && s.size() <= 16; },
      "must be 6 to 16 digits");
  c.holder_name = r.Name("holder_name", true, kMaxHolderNameChars);
  auto birth = r.Text(
      "birth_date", true, [](std::string_view s) { return ParseDate(s).has_value(); },
      "must be a date YYYY-MM-DD from 1900 on");
  if (auto day = ParseDate(birth)) c.birth_date = *day;
  auto login = r.Text(
      "login", true, [](std::string_view s) { return NormaliseLogin(s).has_value(); },
      "must be an e-mail address or a mobile number 010-XXXX-XXXX");
  c.login = NormaliseLogin(login).value_or("");
  c.password = r.Text(
      "password", true, [](std::string_view s) { return !s.empty(); }, "must not be empty");
  r.NoOthers({"bank_code", "account", "holder_name", "birth_date", "login", "password"});
  if (!sink.fields.empty()) return std::unexpected(std::move(sink));
  // A master's password guards every dependant's money: a passphrase, never a PIN.
  if (AllDigits(c.password))
    return std::unexpected(WeakPassword("must be a passphrase of 10 to 64 characters, not digits"));
  if (c.password.size() < kMinMasterPasswordChars)
    return std::unexpected(WeakPassword("must be at least 10 characters"));
  if (auto weak = CheckNewPassword(c.password, "")) return std::unexpected(std::move(*weak));
  return c;
}

Decoded<SignInRequest> DecodeSignIn(const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  SignInRequest c;
  auto login = r.Text(
      "login", true, [](std::string_view s) { return !s.empty() && s.size() <= kMaxLoginChars; },
      "must be 1 to 254 characters");
  c.login = NormaliseLogin(login).value_or("");
  c.password = r.Text(
      "password", true, [](std::string_view s) { return !s.empty() && s.size() <= 256; },
      "must be 1 to 256 bytes");
  r.NoOthers({"login", "password"});
  return Finish(sink, std::move(c));
}

Decoded<MasterEndpointRequest> DecodeMasterEndpoint(const json::object& body) {
  RequestError sink;
  MasterEndpointRequest c;
  const json::value* v = body.if_contains("url");
  if (!v) {
    BadRequest(sink, ErrorCode::kMissingField, "url", "is required (null removes the endpoint)");
  } else if (!v->is_null()) {
    if (!v->is_string() || !json_reader::IsUrlText(v->get_string())) {
      BadRequest(sink, ErrorCode::kInvalidField, "url",
                 "must be an absolute URL of at most 2048 characters, or null");
    } else {
      c.url = std::string(v->get_string());
    }
  }
  Reader(body, sink).NoOthers({"url"});
  return Finish(sink, std::move(c));
}

Decoded<MasterTokenRequest> DecodeMasterToken(const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  MasterTokenRequest c;
  c.label = r.OptionalName("label", 100);
  r.NoOthers({"label"});
  return Finish(sink, std::move(c));
}

Decoded<IssueDivisionAccountRequest> DecodeIssueDivisionAccount(const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  IssueDivisionAccountRequest c;
  if (const json::object* d = r.Object("dependant")) {
    Reader dr(*d, sink, "dependant");
    c.dependant.name = dr.Name("name", true, 50);
    auto phone = dr.Text("phone", false, IsDependantPhone, "must be 9 to 11 digits");
    if (!phone.empty()) c.dependant.phone = phone;
    dr.NoOthers({"name", "phone"});
  } else if (!body.contains("dependant") || body.at("dependant").is_null()) {
    BadRequest(sink, ErrorCode::kMissingField, "dependant", "is required");
  }
  c.label = r.OptionalName("label", kMaxLabelChars);
  c.password = r.Text(
      "password", true, [](std::string_view s) { return !s.empty() && s.size() <= 256; },
      "must be 1 to 256 bytes");
  c.terms = ReadTerms(body, sink);
  NoOthers(body, With({"dependant", "label", "password"}), sink);
  if (!sink.fields.empty()) return std::unexpected(std::move(sink));
  if (auto weak = CheckNewPassword(c.password, c.dependant.phone.value_or("")))
    return std::unexpected(std::move(*weak));
  return c;
}

Decoded<UpdateDivisionAccountRequest> DecodeUpdateDivisionAccount(const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  UpdateDivisionAccountRequest c;
  if (body.contains("label")) c.label = r.Name("label", true, kMaxLabelChars);
  c.terms = ReadTerms(body, sink);
  NoOthers(body, With({"label"}), sink);
  if (sink.fields.empty() && body.empty()) {
    BadRequest(sink, ErrorCode::kMissingField, "limits",
               "or another field of the account is required");
  }
  return Finish(sink, std::move(c));
}

Decoded<DivisionPasswordRequest> DecodeDivisionPassword(const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  DivisionPasswordRequest c;
  c.password = r.Text(
      "password", true, [](std::string_view s) { return !s.empty() && s.size() <= 256; },
      "must be 1 to 256 bytes");
  r.NoOthers({"password"});
  return Finish(sink, std::move(c));
}

Decoded<CreateDivisionPaymentRequest> DecodeCreateDivisionPayment(const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  CreateDivisionPaymentRequest c;
  c.order_id = r.Text("order_id", true, IsExternalId, "must match ^[A-Za-z0-9._:-]{1,64}$");
  c.amount_minor = r.Amount("amount", true);
  if (const json::value* cur = body.if_contains("currency");
      cur && !(cur->is_string() && cur->get_string() == "KRW")) {
    BadRequest(sink, ErrorCode::kUnknownCurrency, "currency",
               "must be KRW: division accounts pay in won");
  }
  c.return_url =
      r.Text("return_url", true, IsReturnUrl,
             "must be an https:// URL (http:// only to a loopback host) without user or fragment");
  r.NoOthers({"order_id", "amount", "currency", "return_url"});
  return Finish(sink, std::move(c));
}

Decoded<AuthorizeDivisionPaymentRequest> DecodeAuthorizeDivisionPayment(const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  AuthorizeDivisionPaymentRequest c;
  c.number = r.Text(
      "number", true,
      [](std::string_view s) { return AllDigits(s) && s.size() == kDivisionNumberLength; },
      "must be the account's 16 digits");
  c.password = r.Text(
      "password", true, [](std::string_view s) { return !s.empty() && s.size() <= 256; },
      "must be 1 to 256 bytes");
  r.NoOthers({"number", "password"});
  return Finish(sink, std::move(c));
}

Decoded<DivisionRefundRequest> DecodeDivisionRefund(const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  DivisionRefundRequest c;
  c.amount_minor = r.Amount("amount", true);
  c.reason = r.OptionalName("reason", 100);
  r.NoOthers({"amount", "reason"});
  return Finish(sink, std::move(c));
}

Decoded<StatementPeriod> DecodeStatementPeriod(
    const std::vector<std::pair<std::string, std::string>>& query) {
  RequestError sink;
  StatementPeriod p;
  for (const auto& [key, value] : query) {
    if (key != "from" && key != "to") {
      BadRequest(sink, ErrorCode::kUnknownField, key, "is not a parameter of this statement");
      continue;
    }
    auto& slot = key == "from" ? p.from : p.to;
    if (slot) {
      BadRequest(sink, ErrorCode::kInvalidField, key, "is given more than once");
    } else if (auto day = ParseDate(value)) {
      slot = day;
    } else {
      BadRequest(sink, ErrorCode::kInvalidField, key, "must be a date YYYY-MM-DD");
    }
  }
  if (sink.fields.empty() && p.from && p.to) {
    auto days = (std::chrono::sys_days(*p.to) - std::chrono::sys_days(*p.from)).count();
    if (days < 0) BadRequest(sink, ErrorCode::kInvalidField, "to", "must not be before from");
    if (days >= kMaxStatementDays)
      BadRequest(sink, ErrorCode::kInvalidField, "to", "must be at most 366 days after from");
  }
  return Finish(sink, std::move(p));
}

std::string StatementCsv(const std::vector<StatementLine>& lines) {
  std::string out =
      "payment_id,account_id,number,dependant,merchant,order_id,status,decline_reason,amount,"
      "refunded,authorized_at\r\n";
  for (const auto& l : lines) {
    for (const std::string* f : {&l.payment_id, &l.account_id, &l.number, &l.dependant, &l.merchant,
                                 &l.order_id, &l.status, &l.decline_reason}) {
      out += CsvField(*f);
      out += ',';
    }
    out += std::to_string(l.amount_minor) + ',' + std::to_string(l.refunded_minor) + ',';
    if (l.authorized_at) out += FormatRfc3339(*l.authorized_at);
    out += "\r\n";
  }
  return out;
}

std::string StatementJson(const std::vector<StatementLine>& lines, std::chrono::year_month_day from,
                          std::chrono::year_month_day to) {
  json::array items;
  std::int64_t paid = 0, refunded = 0;
  for (const auto& l : lines) {
    json::object o{
        {"payment_id", l.payment_id}, {"account_id", l.account_id}, {"number", l.number},
        {"dependant", l.dependant},   {"merchant", l.merchant},     {"order_id", l.order_id},
        {"status", l.status},         {"amount", l.amount_minor},   {"refunded", l.refunded_minor}};
    o["decline_reason"] =
        l.decline_reason.empty() ? json::value(nullptr) : json::value(l.decline_reason);
    o["authorized_at"] =
        l.authorized_at ? json::value(FormatRfc3339(*l.authorized_at)) : json::value(nullptr);
    if (l.status == "approved" || l.status == "partially_refunded" || l.status == "refunded")
      paid += l.amount_minor;
    refunded += l.refunded_minor;
    items.push_back(std::move(o));
  }
  json::object body{{"from", FormatDate(from)},
                    {"to", FormatDate(to)},
                    {"items", std::move(items)},
                    {"total_paid", paid},
                    {"total_refunded", refunded}};
  return json::serialize(body);
}

std::string ResultRedirectUrl(std::string_view return_url, std::string_view result_key,
                              std::string_view payment_id, std::string_view status,
                              std::int64_t amount_minor, std::int64_t unix_seconds) {
  const auto ts = std::to_string(unix_seconds);
  const auto signed_text = std::string(payment_id) + '.' + std::string(status) + '.' +
                           std::to_string(amount_minor) + '.' + ts;
  std::string url(return_url);
  url += return_url.find('?') == std::string_view::npos ? '?' : '&';
  url += "payment=" + std::string(payment_id) + "&status=" + std::string(status) + "&ts=" + ts +
         "&sig=" + HmacSha256Hex(result_key, signed_text);
  return url;
}

std::string MaskDivisionNumber(std::string_view number) {
  if (number.size() != kDivisionNumberLength) return std::string(number.size(), '*');
  return std::string(number.substr(0, 4)) + "********" + std::string(number.substr(12));
}

}  // namespace varelay::api
