#include "api/json_codec.h"

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>

#include <cstdio>
#include <set>

#include "api/json_reader.h"
#include "banks/telegram/frame.h"
#include "domain/bank_channels.h"
#include "domain/identifiers.h"

namespace varelay::api {
namespace json = boost::json;
namespace {

// Limits on nesting and size of what the parser accepts; bodies are already size-capped.
constexpr std::size_t kMaxDepth = 8;

using namespace json_reader;  // Reader, Finish, IsUrlText (api/json_reader.h)

bool IsPhone(std::string_view s) {
  if (s.size() < 4 || s.size() > 20) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || c == ' ' || c == '-' || (c == '+' && i == 0))) return false;
  }
  return true;
}
bool IsEmail(std::string_view s) {
  auto at = s.find('@');
  return s.size() <= 254 && at != std::string_view::npos && at > 0 && at + 1 < s.size() &&
         s.find('@', at + 1) == std::string_view::npos && IsCleanText(s, 254) &&
         s.find(' ') == std::string_view::npos;
}

// Boost.JSON keeps the last of duplicate member names without a word; a duplicate could hide a
// changed amount, so a first validating pass refuses any object that names a member twice.
struct DuplicateMemberCheck {
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  std::vector<std::set<std::string, std::less<>>> open_objects;
  std::string key;
  std::string duplicate;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t, json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    open_objects.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) {
    open_objects.pop_back();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    key.append(s.data(), s.size());
    if (!open_objects.back().insert(key).second) {
      duplicate = key;
      ec = json::error::syntax;
      return false;
    }
    key.clear();
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return true; }
  bool on_double(double, json::string_view, json::error_code&) { return true; }
  bool on_bool(bool, json::error_code&) { return true; }
  bool on_null(json::error_code&) { return true; }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

}  // namespace

Decoded<json::object> ParseBody(std::string_view body) {
  auto refuse = [](ErrorCode code, std::string detail) {
    return std::unexpected(RequestError{Error{code, std::move(detail), ""}, {}});
  };
  if (!IsValidUtf8(body)) return refuse(ErrorCode::kInvalidUtf8, "the body is not valid UTF-8");
  json::parse_options options;
  options.max_depth = kMaxDepth;
  options.allow_comments = false;
  options.allow_trailing_commas = false;
  options.allow_invalid_utf8 = false;
  std::error_code ec;
  {
    json::basic_parser<DuplicateMemberCheck> check(options);
    check.write_some(false, body.data(), body.size(), ec);
    if (!check.handler().duplicate.empty()) {
      return std::unexpected(RequestError{
          Error{ErrorCode::kMalformedJson, "the member \"" + check.handler().duplicate + "\" appears twice",
                check.handler().duplicate},
          {}});
    }
    ec = {};
  }
  json::stream_parser parser({}, options);
  parser.write(body.data(), body.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) return refuse(ErrorCode::kMalformedJson, "the body is not well-formed JSON: " + ec.message());
  json::value root = parser.release();
  if (!root.is_object()) return refuse(ErrorCode::kMalformedJson, "the body must be a JSON object");
  return std::move(root.get_object());
}

Decoded<CreateBank> DecodeCreateBank(const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  CreateBank c;
  c.code = r.Text("code", true, IsBankCode, "must be a 3-digit KFTC bank code");
  c.name = r.Name("name", true, 100);
  auto protocol = r.Text("protocol", false, [](std::string_view s) { return ParseBankProtocol(s).has_value(); },
                         "must be json, telegram or iso20022");
  if (!protocol.empty()) c.protocol = *ParseBankProtocol(protocol);
  if (body.contains("endpoint")) c.endpoint = r.Endpoint("endpoint");
  r.NoOthers({"code", "name", "protocol", "endpoint"});
  return Finish(sink, std::move(c));
}

// "extra_channels": a list of distinct protocols ([] allows none beyond the bank's own).
std::optional<std::uint32_t> ExtraChannels(Reader& r) {
  const json::array* list = r.Array("extra_channels", false);
  if (!list) return std::nullopt;
  std::uint32_t bits = 0;
  for (const auto& item : *list) {
    auto channel = item.is_string() ? ParseBankProtocol(item.get_string()) : std::nullopt;
    if (!channel || (bits & ChannelBit(*channel)) != 0) {
      r.Bad(ErrorCode::kInvalidField, "extra_channels", "must list distinct channels: json, telegram, iso20022");
      return std::nullopt;
    }
    bits |= ChannelBit(*channel);
  }
  return bits;
}

Decoded<UpdateBank> DecodeUpdateBank(std::string code, const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  UpdateBank c;
  c.code = std::move(code);
  if (body.contains("name")) c.name = r.Name("name", true, 100);
  if (body.contains("endpoint")) c.endpoint = r.Endpoint("endpoint");
  c.extra_channels = ExtraChannels(r);
  r.NoOthers({"name", "endpoint", "extra_channels"});
  if (sink.fields.empty() && !c.name && !c.endpoint && !c.extra_channels) {
    r.Bad(ErrorCode::kMissingField, "endpoint", "or name or extra_channels is required");
  }
  return Finish(sink, std::move(c));
}

Decoded<SetPayoutPolicy> DecodeSetPayoutPolicy(std::string merchant, const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  SetPayoutPolicy c;
  c.merchant = std::move(merchant);
  if (auto v = r.Integer("per_transfer_max", false, 1, kMaxPayoutLimitMinor)) c.per_transfer_max_minor = *v;
  if (auto v = r.Integer("daily_max", false, 1, kMaxPayoutLimitMinor)) c.daily_max_minor = *v;
  if (const json::array* list = r.Array("recipients", false)) {
    if (list->size() > kMaxPayoutRecipients) {
      r.Bad(ErrorCode::kInvalidField, "recipients", "holds at most " + std::to_string(kMaxPayoutRecipients) + " entries");
    }
    for (const auto& item : *list) {
      const json::object* o = item.if_object();
      const json::string* bank = o && o->size() == 2 && o->contains("bank_code") ? (*o).at("bank_code").if_string() : nullptr;
      const json::string* account = o && o->contains("account") ? (*o).at("account").if_string() : nullptr;
      if (!bank || !account || !IsBankCode(*bank) || !IsMotherAccountNumber(*account)) {
        r.Bad(ErrorCode::kInvalidField, "recipients",
              "each is {\"bank_code\": 3 digits, \"account\": 6 to 20 digits} and nothing else");
        break;
      }
      c.recipients.push_back({std::string(*bank), std::string(*account)});
    }
  }
  r.NoOthers({"per_transfer_max", "daily_max", "recipients"});
  if (sink.fields.empty() && c.per_transfer_max_minor > c.daily_max_minor) {
    r.Bad(ErrorCode::kInvalidField, "per_transfer_max", "must not exceed daily_max");
  }
  return Finish(sink, std::move(c));
}

Decoded<CreateTransfer> DecodeCreateTransfer(const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  CreateTransfer c;
  c.bank = r.Text("bank", true, IsBankCode, "must be a 3-digit KFTC bank code");
  auto amount = r.Amount("amount", true);
  c.amount = Money(amount, r.CurrencyCode("currency"));
  if (const json::object* to = r.Object("recipient")) {
    Reader rr(*to, sink, "recipient");
    c.recipient_bank = rr.Text("bank_code", true, IsBankCode, "must be a 3-digit KFTC bank code");
    c.recipient_account = rr.Text("account", true, IsMotherAccountNumber, "must be 6 to 20 digits");
    c.recipient_name = rr.Name("name", true, 20);
    rr.NoOthers({"bank_code", "account", "name"});
  } else if (!body.contains("recipient")) {
    r.Bad(ErrorCode::kMissingField, "recipient", "is required");
  }
  if (body.contains("memo")) c.memo = r.Name("memo", false, 14);
  r.NoOthers({"bank", "amount", "currency", "recipient", "memo"});
  return Finish(sink, std::move(c));
}

Decoded<HolderInquiryRequest> DecodeHolderInquiry(const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  HolderInquiryRequest c;
  c.bank = r.Text("bank_code", true, IsBankCode, "must be a 3-digit KFTC bank code");
  c.account = r.Text("account", true, [](std::string_view s) { return IsMotherAccountNumber(s) && s.size() <= 16; },
                     "must be 6 to 16 digits");
  c.holder_id = r.Text("holder_id", false, [](std::string_view s) {
    return (s.size() == 6 || s.size() == 10) && s.find_first_not_of("0123456789") == std::string_view::npos;
  }, "must be a birth date YYMMDD (6 digits) or a business number (10 digits)");
  r.NoOthers({"bank_code", "account", "holder_id"});
  return Finish(sink, std::move(c));
}

Decoded<CreateMerchant> DecodeCreateMerchant(const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  CreateMerchant c;
  c.id = r.Text("id", true, IsMerchantId, "must match ^[a-z0-9][a-z0-9_-]{0,63}$");
  c.name = r.Name("name", true, 100);
  r.NoOthers({"id", "name"});
  return Finish(sink, std::move(c));
}

Decoded<UpdateMerchant> DecodeUpdateMerchant(std::string id, const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  UpdateMerchant c;
  c.id = std::move(id);
  if (body.contains("name")) c.name = r.Name("name", true, 100);
  c.active = r.Boolean("active");
  auto category = r.Text("category", false, [](std::string_view s) { return ParseMerchantCategory(s).has_value(); },
                         "must be general, food, education, books, transport, games, alcohol, tobacco, gambling, "
                         "adult or other");
  if (!category.empty()) c.category = ParseMerchantCategory(category);
  c.division_direct = r.Boolean("division_direct");
  r.NoOthers({"name", "active", "category", "division_direct"});
  if (sink.fields.empty() && !c.name && !c.active && !c.category && !c.division_direct) {
    r.Bad(ErrorCode::kMissingField, "active", "or name, category, division_direct is required");
  }
  return Finish(sink, std::move(c));
}

Decoded<CreateContract> DecodeCreateContract(std::string merchant, const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  CreateContract c;
  c.merchant = std::move(merchant);
  c.bank = r.Text("bank", true, IsBankCode, "must be a 3-digit KFTC bank code");
  c.mother_account = r.Text("mother_account", true, IsMotherAccountNumber, "must be 6 to 20 digits");
  c.holder_name = r.Name("holder_name", true, 50);
  auto issuance = r.Text("issuance", false, [](std::string_view s) { return ParseIssuance(s).has_value(); },
                         "must be pool or realtime");
  if (!issuance.empty()) c.issuance = *ParseIssuance(issuance);
  c.realtime_url = r.Text("realtime_url", c.issuance == Issuance::kRealtime, [](std::string_view s) {
    return IsUrlText(s) && (s.starts_with("http://") || s.starts_with("https://"));
  }, "must be the bank's http:// or https:// URL that issues one number");
  if (auto t = r.Integer("realtime_timeout_ms", false, 100, 30'000)) c.realtime_timeout_ms = *t;
  c.fallback_to_pool = r.Boolean("fallback_to_pool").value_or(true);
  r.NoOthers({"bank", "mother_account", "holder_name", "issuance", "realtime_url", "realtime_timeout_ms",
              "fallback_to_pool"});
  return Finish(sink, std::move(c));
}

Decoded<CreateApiKey> DecodeCreateApiKey(const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  CreateApiKey c;
  auto role = r.Text("role", true, [](std::string_view s) { return ParseRole(s).has_value(); },
                     "must be admin, merchant, merchant_payouts or bank");
  if (!role.empty()) c.role = *ParseRole(role);
  c.merchant = r.Text("merchant", false, IsMerchantId, "must be a merchant id");
  c.bank = r.Text("bank", false, IsBankCode, "must be a 3-digit KFTC bank code");
  c.label = r.OptionalName("label", 100);
  if (!role.empty()) {
    if (IsMerchantRole(c.role) && c.merchant.empty() && !body.contains("merchant")) {
      r.Bad(ErrorCode::kMissingField, "merchant", "is required for a merchant key");
    }
    if (c.role == Role::kBank && c.bank.empty() && !body.contains("bank")) {
      r.Bad(ErrorCode::kMissingField, "bank", "is required for a bank key");
    }
    if (!IsMerchantRole(c.role) && body.contains("merchant")) {
      r.Bad(ErrorCode::kInvalidField, "merchant", "is only for merchant keys");
    }
    if (c.role != Role::kBank && body.contains("bank")) {
      r.Bad(ErrorCode::kInvalidField, "bank", "is only for bank keys");
    }
  }
  r.NoOthers({"role", "merchant", "bank", "label"});
  return Finish(sink, std::move(c));
}

Decoded<LoadNumbers> DecodeLoadNumbers(std::string merchant, std::string bank, std::string region,
                                       const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  LoadNumbers c{std::move(merchant), std::move(bank), std::move(region), {}};
  if (const json::array* numbers = r.Array("numbers", true)) {
    if (numbers->size() > kMaxNumbersPerLoad) {
      r.Bad(ErrorCode::kInvalidField, "numbers", "may hold at most 50000 numbers per request");
    } else {
      c.numbers.reserve(numbers->size());
      for (const auto& n : *numbers) {
        if (!n.is_string()) {
          r.Bad(ErrorCode::kInvalidField, "numbers", "must hold strings");
          break;
        }
        c.numbers.emplace_back(n.get_string());  // shape is checked by the engine, which reports each
      }
    }
  }
  r.NoOthers({"numbers"});
  return Finish(sink, std::move(c));
}

Decoded<CreateAssignment> DecodeCreateAssignment(const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  CreateAssignment c;
  c.order_id = r.Text("order_id", true, IsExternalId, "must match ^[A-Za-z0-9._:-]{1,64}$");
  auto currency = r.CurrencyCode("currency");
  c.amount = Money(r.Amount("amount", true), currency);
  c.bank = r.Text("bank", true, IsBankCode, "must be a 3-digit KFTC bank code");
  c.region = r.Text("region", false, IsRegion, "must match ^[a-z0-9][a-z0-9-]{0,31}$");
  if (const json::object* customer = r.Object("customer")) {
    Reader cr(*customer, sink, "customer");
    c.customer.name = cr.Name("name", false, 100);
    c.customer.phone = cr.Text("phone", false, IsPhone, "must be 4 to 20 digits, spaces or dashes");
    c.customer.email = cr.Text("email", false, IsEmail, "must be an e-mail address");
    cr.NoOthers({"name", "phone", "email"});
  }
  c.due_at = r.Time("due_at", false);
  c.expires_in_s = r.Integer("expires_in_s", false, 1, 2'592'000);
  if (body.contains("due_at") && body.contains("expires_in_s") && !body.at("due_at").is_null() &&
      !body.at("expires_in_s").is_null()) {
    r.Bad(ErrorCode::kInvalidField, "expires_in_s", "cannot be given together with due_at");
  }
  if (const json::object* rule = r.Object("amount_rule")) {
    Reader rr(*rule, sink, "amount_rule");
    auto kind = rr.Text("type", true, [](std::string_view s) { return ParseAmountRuleKind(s).has_value(); },
                        "must be exact, range, open or accumulate");
    if (!kind.empty()) c.rule.kind = *ParseAmountRuleKind(kind);
    if (c.rule.kind == AmountRuleKind::kRange && !kind.empty()) {
      c.rule.min_minor = rr.Amount("min", true);
      c.rule.max_minor = rr.Amount("max", true);
      if (c.rule.min_minor > 0 && c.rule.max_minor > 0 && c.rule.min_minor > c.rule.max_minor) {
        rr.Bad(ErrorCode::kInvalidAmount, "max", "must not be less than min");
      } else if (c.rule.min_minor > 0 && c.amount.minor() > 0 &&
                 (c.amount.minor() < c.rule.min_minor || c.amount.minor() > c.rule.max_minor)) {
        // The amount is what the payer is asked for; one no deposit could match is a mistake.
        r.Bad(ErrorCode::kInvalidField, "amount", "must be within amount_rule's min and max");
      }
      rr.NoOthers({"type", "min", "max"});
    } else if (c.rule.kind == AmountRuleKind::kAccumulate && !kind.empty()) {
      auto over = rr.Text("overpayment", false, [](std::string_view s) { return ParseOverpayment(s).has_value(); },
                          "must be refuse or park");
      if (!over.empty()) c.rule.overpayment = *ParseOverpayment(over);
      rr.NoOthers({"type", "overpayment"});
    } else {
      rr.NoOthers({"type"});
    }
  }
  r.NoOthers({"order_id", "amount", "currency", "bank", "region", "customer", "due_at",
              "expires_in_s", "amount_rule"});
  return Finish(sink, std::move(c));
}

Decoded<Precheck> DecodePrecheck(const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  Precheck c;
  c.number = r.Text("number", true, IsVirtualAccountNumber, "must be 6 to 16 digits");
  auto currency = r.CurrencyCode("currency");
  c.amount = Money(r.Amount("amount", true), currency);
  c.payer_name = r.OptionalName("payer_name", 100);
  r.NoOthers({"number", "amount", "currency", "payer_name"});
  return Finish(sink, std::move(c));
}

Decoded<DepositNotice> DecodeDepositNotice(const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  DepositNotice c;
  c.transaction_id = r.Text("transaction_id", true, IsExternalId, "must match ^[A-Za-z0-9._:-]{1,64}$");
  // Any digit string: money to a number we do not know is still kept (parked as unknown_number).
  c.number = r.Text("number", true, IsVirtualAccountNumber, "must be 6 to 16 digits");
  auto currency = r.CurrencyCode("currency");
  c.amount = Money(r.Amount("amount", true), currency);
  c.payer_name = r.OptionalName("payer_name", 100);
  c.deposited_at = r.Time("deposited_at", true).value_or(Instant{});
  r.NoOthers({"transaction_id", "number", "amount", "currency", "payer_name", "deposited_at"});
  return Finish(sink, std::move(c));
}

Decoded<CancelDeposit> DecodeCancelDeposit(const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  CancelDeposit c;
  c.transaction_id = r.Text("transaction_id", true, IsExternalId, "must match ^[A-Za-z0-9._:-]{1,64}$");
  c.original_transaction_id =
      r.Text("original_transaction_id", true, IsExternalId, "must match ^[A-Za-z0-9._:-]{1,64}$");
  c.cancelled_at = r.Time("cancelled_at", true).value_or(Instant{});
  r.NoOthers({"transaction_id", "original_transaction_id", "cancelled_at"});
  return Finish(sink, std::move(c));
}

namespace {

// "event_types": ["*"] or a non-empty list of distinct known types; every type comes back empty.
std::optional<std::vector<EventType>> EventTypes(Reader& r) {
  const json::array* list = r.Array("event_types", false);
  if (!list) return std::nullopt;
  std::vector<EventType> types;
  bool all = false;
  for (const auto& item : *list) {
    if (item.is_string() && item.get_string() == "*") {
      all = true;
      continue;
    }
    auto type = item.is_string() ? ParseEventType(item.get_string()) : std::nullopt;
    if (!type) {
      r.Bad(ErrorCode::kInvalidField, "event_types", "must list event types such as deposit.matched, or \"*\"");
      return std::nullopt;
    }
    if (std::find(types.begin(), types.end(), *type) == types.end()) types.push_back(*type);
  }
  if (list->empty()) r.Bad(ErrorCode::kInvalidField, "event_types", "must not be empty (\"*\" means every type)");
  if (all) types.clear();
  return types;
}

constexpr std::size_t kMaxDescriptionChars = 200;

}  // namespace

Decoded<CreateWebhookEndpoint> DecodeCreateWebhookEndpoint(const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  CreateWebhookEndpoint c;
  c.url = r.Text("url", true, IsUrlText, "must be an absolute URL of at most 2048 characters");
  if (auto types = EventTypes(r)) c.event_types = std::move(*types);
  c.description = r.OptionalName("description", kMaxDescriptionChars);
  c.include_personal_data = r.Boolean("include_personal_data").value_or(true);
  r.NoOthers({"url", "event_types", "description", "include_personal_data"});
  return Finish(sink, std::move(c));
}

Decoded<UpdateWebhookEndpoint> DecodeUpdateWebhookEndpoint(std::string id, const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  UpdateWebhookEndpoint c;
  c.id = std::move(id);
  if (body.contains("url")) c.url = r.Text("url", true, IsUrlText, "must be an absolute URL of at most 2048 characters");
  c.event_types = EventTypes(r);
  c.enabled = r.Boolean("enabled");
  if (body.contains("description")) c.description = r.OptionalName("description", kMaxDescriptionChars);
  c.include_personal_data = r.Boolean("include_personal_data");
  r.NoOthers({"url", "event_types", "enabled", "description", "include_personal_data"});
  if (body.empty()) r.Bad(ErrorCode::kMissingField, "url", "or another field to change is required");
  return Finish(sink, std::move(c));
}

Decoded<RotateWebhookSecret> DecodeRotateWebhookSecret(std::string id, const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  RotateWebhookSecret c;
  c.id = std::move(id);
  constexpr std::int64_t kMaxOverlapS = kMaxSecretOverlap.count() / 1000;
  if (auto s = r.Integer("expire_previous_in_s", false, 0, kMaxOverlapS)) c.previous_valid_for = Millis(*s * 1000);
  r.NoOthers({"expire_previous_in_s"});
  return Finish(sink, std::move(c));
}

Decoded<ResendEvent> DecodeResendEvent(std::string id, const json::object& body) {
  RequestError sink;
  Reader r(body, sink);
  ResendEvent c;
  c.id = std::move(id);
  c.endpoint_id = r.Text("endpoint_id", false, IsExternalId, "must be a webhook endpoint id");
  r.NoOthers({"endpoint_id"});
  return Finish(sink, std::move(c));
}

// ---- encoding -------------------------------------------------------------------------------

namespace {

json::value TimeOrNull(const std::optional<Instant>& t) {
  return t ? json::value(FormatRfc3339(*t)) : json::value(nullptr);
}

json::value StringOrNull(const std::string& s) { return s.empty() ? json::value(nullptr) : json::value(s); }

json::object ToJson(const Bank& b) {
  json::array channels;
  for (auto p : {BankProtocol::kJson, BankProtocol::kTelegram, BankProtocol::kIso20022}) {
    if ((b.extra_channels & ChannelBit(p)) != 0) channels.emplace_back(BankProtocolName(p));
  }
  return {{"code", b.code},
          {"name", b.name},
          {"protocol", BankProtocolName(b.protocol)},
          {"extra_channels", std::move(channels)},
          {"signed_requests", !b.signing_secret.empty()},
          {"endpoint", StringOrNull(b.endpoint)},
          {"created_at", FormatRfc3339(b.created_at)}};
}
std::string FormatIsoDate(std::chrono::year_month_day d) {
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", int(d.year()), unsigned(d.month()), unsigned(d.day()));
  return text;
}

json::object ToJson(const Transfer& t) {
  return {{"id", t.id},
          {"merchant", t.merchant},
          {"bank", t.bank},
          {"debit_account", t.debit_account},
          {"amount", t.amount.minor()},
          {"currency", t.amount.currency().code()},
          {"recipient", {{"bank_code", t.recipient_bank}, {"account", t.recipient_account}, {"name", t.recipient_name}}},
          {"memo", StringOrNull(t.memo)},
          {"status", TransferStatusName(t.status)},
          {"bank_request", {{"date", FormatIsoDate(t.request_date)}, {"sequence", t.request_sequence}}},
          {"attempts", t.attempts},
          {"in_doubt", t.in_doubt},
          {"response_code", StringOrNull(t.response_code)},
          {"bank_reference", StringOrNull(t.bank_reference)},
          {"last_error", StringOrNull(t.last_error)},
          {"created_at", FormatRfc3339(t.created_at)},
          {"updated_at", FormatRfc3339(t.updated_at)},
          {"finished_at", TimeOrNull(t.finished_at)}};
}
json::object ToJson(const Merchant& m) {
  return {{"id", m.id},
          {"name", m.name},
          {"active", m.active},
          {"category", MerchantCategoryName(m.category)},
          {"division_direct", m.division_direct},
          {"created_at", FormatRfc3339(m.created_at)}};
}
json::object ToJson(const Contract& c) {
  json::object o{{"merchant", c.merchant},       {"bank", c.bank},
                 {"mother_account", c.mother_account}, {"holder_name", c.holder_name},
                 {"issuance", IssuanceName(c.issuance)}, {"created_at", FormatRfc3339(c.created_at)}};
  if (c.issuance == Issuance::kRealtime) {
    o["realtime_url"] = c.realtime_url;
    o["realtime_timeout_ms"] = c.realtime_timeout_ms;
    o["fallback_to_pool"] = c.fallback_to_pool;
  }
  return o;
}
json::object ToJson(const ApiKey& k) {
  json::object o{{"id", k.id}, {"role", RoleName(k.role)}, {"label", k.label},
                 {"created_at", FormatRfc3339(k.created_at)}};
  if (IsMerchantRole(k.role)) o["merchant"] = k.merchant;
  if (k.role == Role::kBank) o["bank"] = k.bank;
  if (k.revoked_at) o["revoked_at"] = FormatRfc3339(*k.revoked_at);
  return o;
}
json::object ToJson(const AmountRule& rule) {
  json::object o{{"type", AmountRuleKindName(rule.kind)}};
  if (rule.kind == AmountRuleKind::kRange) {
    o["min"] = rule.min_minor;
    o["max"] = rule.max_minor;
  }
  if (rule.kind == AmountRuleKind::kAccumulate) o["overpayment"] = OverpaymentName(rule.overpayment);
  return o;
}
json::object ToJson(const Assignment& a) {
  json::object customer;
  if (!a.customer.name.empty()) customer["name"] = a.customer.name;
  if (!a.customer.phone.empty()) customer["phone"] = a.customer.phone;
  if (!a.customer.email.empty()) customer["email"] = a.customer.email;
  return {{"id", a.id},
          {"order_id", a.order_id},
          {"merchant", a.merchant},
          {"bank", a.bank},
          {"region", a.region},
          {"number", a.number},
          {"generation", a.generation},
          {"holder_name", a.holder_name},
          {"amount", a.amount.minor()},
          {"currency", a.amount.currency().code()},
          {"amount_rule", ToJson(a.rule)},
          {"amount_paid", a.paid_minor},
          {"status", AssignmentStatusName(a.status)},
          {"customer", std::move(customer)},
          {"created_at", FormatRfc3339(a.created_at)},
          {"due_at", FormatRfc3339(a.due_at)},
          {"closed_at", TimeOrNull(a.closed_at)}};
}
json::object ToJson(const Deposit& d) {
  return {{"id", d.id},
          {"bank", d.bank},
          {"transaction_id", d.transaction_id},
          {"number", d.number},
          {"generation", d.generation > 0 ? json::value(d.generation) : json::value(nullptr)},
          {"assignment_id", StringOrNull(d.assignment_id)},
          {"order_id", StringOrNull(d.order_id)},
          {"merchant", StringOrNull(d.merchant)},
          {"amount", d.amount.minor()},
          {"currency", d.amount.currency().code()},
          {"payer_name", d.payer_name},
          {"deposited_at", FormatRfc3339(d.deposited_at)},
          {"received_at", FormatRfc3339(d.received_at)},
          {"outcome", DepositOutcomeName(d.outcome)},
          {"parked_amount", d.parked_minor},
          {"status", DepositStatusName(d.status)},
          {"cancelled_at", TimeOrNull(d.cancelled_at)}};
}
json::object ToJson(const LedgerEntry& e) {
  json::array lines;
  for (const auto& l : e.lines) lines.push_back({{"account", l.account}, {"debit", l.debit_minor}, {"credit", l.credit_minor}});
  return {{"seq", e.seq},           {"at", FormatRfc3339(e.at)},     {"kind", EntryKindName(e.kind)},
          {"deposit_id", e.deposit_id}, {"currency", e.currency.code()}, {"lines", std::move(lines)},
          {"prev_hash", e.prev_hash}, {"hash", e.hash}};
}
json::object ToJson(const PoolCounts& p) {
  return {{"merchant", p.merchant}, {"bank", p.bank},         {"region", p.region}, {"free", p.free},
          {"assigned", p.assigned}, {"cooling", p.cooling}, {"total", p.free + p.assigned + p.cooling}};
}

json::object ToJson(const WebhookEndpoint& e) {
  json::array types;
  if (e.event_types.empty()) types.push_back("*");
  for (auto t : e.event_types) types.push_back(json::string(EventTypeName(t)));
  return {{"id", e.id},
          {"url", e.url},
          {"event_types", std::move(types)},
          {"enabled", e.enabled},
          {"disabled_reason", StringOrNull(e.disabled_reason)},
          {"description", e.description},
          {"include_personal_data", e.include_personal_data},
          {"created_at", FormatRfc3339(e.created_at)},
          {"previous_secret_expires_at", TimeOrNull(e.previous_secret_expires_at)}};
}
json::object ToJson(const Delivery& d) {
  return {{"endpoint_id", d.endpoint_id},
          {"status", DeliveryStatusName(d.status)},
          {"attempts", d.attempts},
          {"last_attempt_at", TimeOrNull(d.last_attempt_at)},
          {"next_attempt_at", TimeOrNull(d.next_attempt_at)},
          {"last_status", d.last_status ? json::value(*d.last_status) : json::value(nullptr)},
          {"last_error", StringOrNull(d.last_error)},
          {"delivered_at", TimeOrNull(d.delivered_at)}};
}
json::object ToJson(const EventView& v) {
  const Event& e = v.event;
  json::array deliveries;
  for (const auto& d : v.deliveries) deliveries.push_back(ToJson(d));
  boost::system::error_code ec;
  json::value payload = json::parse(e.payload, ec);  // written by the relay itself: always JSON
  return {{"id", e.id},
          {"type", EventTypeName(e.type)},
          {"created_at", FormatRfc3339(e.created_at)},
          {"merchant", e.merchant},
          {"bank", e.bank},
          {"number", e.number},
          {"sequence", e.sequence},
          {"generation", e.generation},
          {"order_id", StringOrNull(e.order_id)},
          {"payload", ec ? json::value(nullptr) : std::move(payload)},
          {"deliveries", std::move(deliveries)}};
}

template <typename T>
json::object Items(const std::vector<T>& items) {
  json::array array;
  array.reserve(items.size());
  for (const auto& item : items) array.push_back(ToJson(item));
  return {{"items", std::move(array)}};
}

json::value Encode(const Bank& v) { return ToJson(v); }
json::value Encode(const BankList& v) {
  if (v.full) return Items(v.items);
  json::array items;
  for (const auto& b : v.items) items.push_back(json::object{{"code", b.code}, {"name", b.name}});
  return json::object{{"items", std::move(items)}};
}
json::value Encode(const Merchant& v) { return ToJson(v); }
json::value Encode(const MerchantList& v) { return Items(v.items); }
json::value Encode(const Contract& v) { return ToJson(v); }
json::value Encode(const ContractList& v) { return Items(v.items); }
json::value Encode(const IssuedApiKey& v) {
  auto o = ToJson(v.key);
  o["key"] = v.token;
  return o;
}
json::value Encode(const ApiKey& v) { return ToJson(v); }
json::value Encode(const ApiKeyList& v) { return Items(v.items); }
json::value Encode(const LoadReport& v) {
  json::array skipped;
  for (const auto& s : v.skipped) skipped.push_back({{"number", s.number}, {"reason", s.reason}});
  return {{"loaded", v.loaded}, {"skipped", std::move(skipped)}};
}
json::value Encode(const PoolList& v) { return Items(v.items); }
json::value Encode(const LedgerVerdict& v) {
  return {{"ok", v.ok},
          {"entries", v.entries},
          {"first_bad_seq", v.first_bad_seq ? json::value(*v.first_bad_seq) : json::value(nullptr)},
          {"reason", StringOrNull(v.reason)}};
}
json::value Encode(const AssignmentView& v) { return ToJson(v.assignment); }
json::value Encode(const DepositPage& v) {
  auto o = Items(v.items);
  o["next_after"] = StringOrNull(v.next_after);
  return o;
}
json::value Encode(const LedgerPage& v) {
  auto o = Items(v.items);
  o["next_after"] = v.next_after ? json::value(*v.next_after) : json::value(nullptr);
  return o;
}
json::value Encode(const PrecheckAnswer& v) {
  if (v.refusal) return {{"accept", false}, {"reason", PrecheckRefusalName(*v.refusal)}};
  return {{"accept", true}, {"holder_name", v.holder_name}, {"due_at", FormatRfc3339(v.due_at)}};
}
json::value Encode(const DepositAck& v) { return {{"deposit", ToJson(v.deposit)}, {"duplicate", v.duplicate}}; }
json::value Encode(const Gauges&) { return json::object{}; }
json::value Encode(const EndpointView& v) {
  auto o = ToJson(v.endpoint);
  if (v.show_secret) o["secret"] = v.endpoint.secret;
  if (v.endpoint.deleted_at) o["deleted"] = true;
  return o;
}
json::value Encode(const EndpointList& v) { return Items(v.items); }
json::value Encode(const EventView& v) { return ToJson(v); }
json::value Encode(const EventPage& v) {
  auto o = Items(v.items);
  o["next_after"] = StringOrNull(v.next_after);
  return o;
}
json::value Encode(const Recorded&) { return json::object{}; }
json::value Encode(const ImportReport& v) {
  json::array items;
  std::int64_t booked = 0, duplicates = 0, refused = 0;
  for (const auto& item : v.items) {
    json::object o{{"transaction_id", item.transaction_id}, {"kind", item.cancellation ? "cancellation" : "deposit"}};
    if (item.ack) {
      o["result"] = item.ack->duplicate ? "duplicate" : "booked";
      o["deposit"] = ToJson(item.ack->deposit);
      ++(item.ack->duplicate ? duplicates : booked);
    } else {
      o["result"] = "refused";
      o["code"] = ErrorCodeName(item.refusal->code);
      o["detail"] = item.refusal->detail;
      ++refused;
    }
    items.push_back(std::move(o));
  }
  json::array skipped;
  for (const auto& s : v.skipped) {
    skipped.push_back({{"reference", s.reference}, {"action", s.action}, {"reason", s.reason}});
  }
  return {{"source", v.source}, {"booked", booked},          {"duplicates", duplicates},
          {"refused", refused}, {"items", std::move(items)}, {"skipped", std::move(skipped)}};
}
json::value Encode(const StatementList& v) {
  json::array items;
  for (std::size_t i = 0; i < v.items.size(); ++i) {
    const BankStatement& s = v.items[i];
    json::object o{{"bank", s.bank},
                   {"message_id", s.message_id},
                   {"statement_id", s.statement_id},
                   {"account", s.account},
                   {"currency", s.currency},
                   {"opening_balance", s.opening_minor ? json::value(*s.opening_minor) : json::value(nullptr)},
                   {"closing_balance", s.closing_minor ? json::value(*s.closing_minor) : json::value(nullptr)},
                   {"entries", s.entries},
                   {"credits", s.credits_minor},
                   {"debits", s.debits_minor},
                   {"created", s.created},
                   {"received_at", FormatRfc3339(s.received_at)}};
    if (i < v.duplicate.size()) o["duplicate"] = static_cast<bool>(v.duplicate[i]);
    items.push_back(std::move(o));
  }
  return {{"items", std::move(items)}};
}
json::value Encode(const PendingDeliveries&) { return json::object{}; }  // internal: never sent
json::value Encode(const NeedsBankNumber&) { return json::object{}; }  // never sent: the API asks the bank
json::value Encode(const TransferView& v) { return ToJson(v.transfer); }
json::value Encode(const TransferPage& v) {
  auto o = Items(v.items);
  o["next_before"] = StringOrNull(v.next_before);
  return o;
}
json::value Encode(const PayoutPolicyView& v) {
  json::array recipients;
  for (const auto& r : v.policy.recipients) recipients.push_back(json::object{{"bank_code", r.bank}, {"account", r.account}});
  return json::object{{"merchant", v.policy.merchant},
                      {"per_transfer_max", v.policy.per_transfer_max_minor},
                      {"daily_max", v.policy.daily_max_minor},
                      {"recipients", std::move(recipients)},
                      {"currency", "KRW"},
                      {"day", FormatIsoDate(v.day)},
                      {"used_today", v.used_today_minor},
                      {"updated_at", v.set ? json::value(FormatRfc3339(v.policy.updated_at)) : json::value(nullptr)}};
}
json::value Encode(const HolderInquiryTicket&) { return json::object{}; }  // never sent: the API asks the bank
json::value Encode(const HolderInquiryPage& v) {
  json::array items;
  for (const auto& h : v.items) {
    items.push_back(json::object{{"id", h.id},
                                 {"merchant", h.merchant},
                                 {"key_id", h.key_id},
                                 {"bank_code", h.bank},
                                 {"account_masked", h.account_masked},
                                 {"outcome", HolderInquiryOutcomeName(h.outcome)},
                                 {"asked_at", FormatRfc3339(h.asked_at)},
                                 {"answered_at", TimeOrNull(h.answered_at)}});
  }
  return json::object{{"items", std::move(items)}, {"next_before", StringOrNull(v.next_before)}};
}
json::value Encode(const BankRoute&) { return json::object{}; }  // never sent: the API asks the bank
// Never sent through here: DivisionGateway renders its own answers (they need the Sealer).
json::value Encode(const DivisionOutcome&) { return json::object{}; }
json::value Encode(const BankSigningSecret& v) { return {{"bank", v.bank}, {"signing_secret", v.secret}}; }

}  // namespace

std::string EncodeOutcome(const Outcome& outcome) {
  return json::serialize(std::visit([](const auto& v) { return Encode(v); }, outcome));
}

}  // namespace varelay::api
