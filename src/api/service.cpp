#include "api/service.h"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <array>
#include <charconv>
#include <cctype>

#include "api/bank_messages.h"
#include "api/division_routes.h"
#include "api/json_codec.h"
#include "api/problem.h"
#include "domain/digest.h"
#include "domain/identifiers.h"
#include "notify/url_policy.h"

namespace varelay::api {
namespace json = boost::json;
namespace {

enum class Handler {
  kHealth, kMetrics, kCreateBank, kListBanks, kCreateMerchant, kListMerchants, kGetMerchant, kUpdateMerchant,
  kCreateContract, kListContracts, kCreateApiKey, kListApiKeys, kRevokeApiKey, kLoadNumbers,
  kListPools, kCreateAssignment, kGetAssignment, kCancelAssignment, kGetOrder, kFindDeposits,
  kFindLedger, kVerifyLedger, kPrecheck, kDepositNotice, kCancelDeposit, kCreateEndpoint, kListEndpoints,
  kGetEndpoint, kUpdateEndpoint, kDeleteEndpoint, kRotateSecret, kListEvents, kGetEvent, kResendEvent,
  kCreateSigningSecret, kCamt054, kCamt053, kListStatements, kUpdateBank, kCreateTransfer, kListTransfers,
  kGetTransfer, kHolderInquiry, kSetPayoutLimits, kGetPayoutLimits, kListHolderInquiries,
};

struct Route {
  std::string_view method;
  std::string_view pattern;
  Handler handler;
  int success_status = 200;
  bool idempotency_key = false;  // required on POSTs that create something or move money
  std::size_t max_body = 0;      // 0: no body accepted
  bool xml = false;              // the body is XML (a bank's ISO 20022 message), not JSON
};

constexpr std::size_t kBody = kMaxBodyBytes;
constexpr std::array kRoutes = {
    Route{"GET", "/healthz", Handler::kHealth},
    Route{"GET", "/metrics", Handler::kMetrics},
    Route{"POST", "/v1/banks", Handler::kCreateBank, 201, false, kBody},
    Route{"GET", "/v1/banks", Handler::kListBanks},
    Route{"PATCH", "/v1/banks/{bank_code}", Handler::kUpdateBank, 200, false, kBody},
    Route{"POST", "/v1/banks/{bank_code}/signing-secret", Handler::kCreateSigningSecret, 201},
    Route{"POST", "/v1/merchants", Handler::kCreateMerchant, 201, false, kBody},
    Route{"GET", "/v1/merchants", Handler::kListMerchants},
    Route{"GET", "/v1/merchants/{merchant_id}", Handler::kGetMerchant},
    Route{"PATCH", "/v1/merchants/{merchant_id}", Handler::kUpdateMerchant, 200, false, kBody},
    Route{"POST", "/v1/merchants/{merchant_id}/contracts", Handler::kCreateContract, 201, false, kBody},
    Route{"GET", "/v1/merchants/{merchant_id}/contracts", Handler::kListContracts},
    Route{"PUT", "/v1/merchants/{merchant_id}/payout-limits", Handler::kSetPayoutLimits, 200, false, kBody},
    Route{"GET", "/v1/merchants/{merchant_id}/payout-limits", Handler::kGetPayoutLimits},
    Route{"POST", "/v1/api-keys", Handler::kCreateApiKey, 201, false, kBody},
    Route{"GET", "/v1/api-keys", Handler::kListApiKeys},
    Route{"DELETE", "/v1/api-keys/{key_id}", Handler::kRevokeApiKey},
    Route{"POST", "/v1/pools/{merchant_id}/{bank_code}/{region}/numbers", Handler::kLoadNumbers, 200,
          false, kMaxPoolLoadBytes},
    Route{"GET", "/v1/pools", Handler::kListPools},
    Route{"POST", "/v1/assignments", Handler::kCreateAssignment, 201, true, kBody},
    Route{"GET", "/v1/assignments/{assignment_id}", Handler::kGetAssignment},
    Route{"POST", "/v1/assignments/{assignment_id}/cancel", Handler::kCancelAssignment, 200, true, kBody},
    Route{"GET", "/v1/orders/{order_id}", Handler::kGetOrder},
    Route{"GET", "/v1/deposits", Handler::kFindDeposits},
    Route{"GET", "/v1/ledger", Handler::kFindLedger},
    Route{"GET", "/v1/ledger/verify", Handler::kVerifyLedger},
    Route{"POST", "/v1/bank/precheck", Handler::kPrecheck, 200, false, kBody},
    Route{"POST", "/v1/bank/deposits", Handler::kDepositNotice, 200, false, kBody},
    Route{"POST", "/v1/bank/cancellations", Handler::kCancelDeposit, 200, false, kBody},
    Route{"POST", "/v1/bank/camt054", Handler::kCamt054, 200, false, kMaxBankMessageBytes, true},
    Route{"POST", "/v1/bank/camt053", Handler::kCamt053, 200, false, kMaxBankMessageBytes, true},
    Route{"GET", "/v1/statements", Handler::kListStatements},
    Route{"POST", "/v1/transfers", Handler::kCreateTransfer, 202, true, kBody},
    Route{"GET", "/v1/transfers", Handler::kListTransfers},
    Route{"GET", "/v1/transfers/{transfer_id}", Handler::kGetTransfer},
    Route{"POST", "/v1/account-holder-inquiries", Handler::kHolderInquiry, 200, false, kBody},
    Route{"GET", "/v1/account-holder-inquiries", Handler::kListHolderInquiries},
    Route{"POST", "/v1/webhook-endpoints", Handler::kCreateEndpoint, 201, true, kBody},
    Route{"GET", "/v1/webhook-endpoints", Handler::kListEndpoints},
    Route{"GET", "/v1/webhook-endpoints/{endpoint_id}", Handler::kGetEndpoint},
    Route{"PATCH", "/v1/webhook-endpoints/{endpoint_id}", Handler::kUpdateEndpoint, 200, false, kBody},
    Route{"DELETE", "/v1/webhook-endpoints/{endpoint_id}", Handler::kDeleteEndpoint},
    Route{"POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret", Handler::kRotateSecret, 200, true, kBody},
    Route{"GET", "/v1/events", Handler::kListEvents},
    Route{"GET", "/v1/events/{event_id}", Handler::kGetEvent},
    Route{"POST", "/v1/events/{event_id}/resend", Handler::kResendEvent, 200, true, kBody},
};

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t start = 1;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// A parsed request target: decoded path segments and query parameters.
struct Target {
  std::vector<std::string> segments;
  std::vector<std::pair<std::string, std::string>> query;
};

std::optional<Target> ParseTarget(std::string_view target) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return std::nullopt;
  Target t;
  for (auto segment : parsed->segments()) t.segments.push_back(segment);
  for (auto param : parsed->params()) t.query.emplace_back(param.key, param.has_value ? param.value : "");
  return t;
}

// Matches decoded segments against a pattern; fills `params` with the {name} segments.
bool Matches(std::string_view pattern, const std::vector<std::string>& segments,
             std::vector<std::string>& params) {
  auto parts = Split(pattern);
  if (parts.size() != segments.size()) return false;
  std::vector<std::string> found;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].starts_with('{')) {
      if (segments[i].empty()) return false;
      found.push_back(segments[i]);
    } else if (parts[i] != segments[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

struct Lookup {
  int route = -1;  // kRoutes' index, or kRoutes.size() + DivisionRoutes()'s
  const DivisionRoute* division = nullptr;
  bool other_method = false;  // the path exists with another method
  std::string allow;
  std::vector<std::string> params;
};

Lookup FindRoute(std::string_view method, const Target& target) {
  Lookup lookup;
  for (std::size_t i = 0; i < kRoutes.size(); ++i) {
    std::vector<std::string> params;
    if (!Matches(kRoutes[i].pattern, target.segments, params)) continue;
    if (kRoutes[i].method == method) {
      lookup.route = static_cast<int>(i);
      lookup.params = std::move(params);
      return lookup;
    }
    lookup.other_method = true;
    if (!lookup.allow.empty()) lookup.allow += ", ";
    lookup.allow += kRoutes[i].method;
  }
  const auto division = DivisionRoutes();
  for (std::size_t i = 0; i < division.size(); ++i) {
    std::vector<std::string> params;
    if (!Matches(division[i].pattern, target.segments, params)) continue;
    if (division[i].method == method) {
      lookup.route = static_cast<int>(kRoutes.size() + i);
      lookup.division = &division[i];
      lookup.params = std::move(params);
      return lookup;
    }
    lookup.other_method = true;
    if (!lookup.allow.empty()) lookup.allow += ", ";
    lookup.allow += division[i].method;
  }
  return lookup;
}

HttpResponse Refuse(ErrorCode code, std::string detail, std::string field = {}) {
  return ProblemResponse(Error{code, std::move(detail), std::move(field)});
}

HttpResponse Refuse(const RequestError& e) { return ProblemResponse(e.error, e.fields); }

// The answer to a request no route takes: 405 with Allow when the path takes other methods.
HttpResponse NoRoute(const Lookup& lookup) {
  if (!lookup.other_method) return Refuse(ErrorCode::kRouteNotFound, "no such route");
  auto response = Refuse(ErrorCode::kMethodNotAllowed, "this path takes " + lookup.allow);
  response.headers.emplace_back("Allow", lookup.allow);
  return response;
}

// A page size given as a query parameter: a decimal integer from 1 to 500, nothing else.
std::optional<int> ParseLimit(std::string_view value) {
  int limit = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
  if (ec != std::errc() || ptr != value.data() + value.size() || limit < 1 || limit > 500) return std::nullopt;
  return limit;
}

// Query parameters for the look-up routes. Unknown parameters are refused like unknown fields.
std::expected<DepositQuery, HttpResponse> DecodeDepositQuery(const Target& t) {
  DepositQuery q;
  RequestError sink;
  auto bad = [&](ErrorCode code, const std::string& field, std::string reason) {
    if (sink.fields.empty()) sink.error = Error{code, field + " " + reason, field};
    sink.fields.push_back({field, std::move(reason)});
  };
  std::vector<std::string> seen;
  for (const auto& [key, value] : t.query) {
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      bad(ErrorCode::kInvalidField, key, "is given more than once");
      continue;
    }
    seen.push_back(key);
    if (key == "number") {
      if (!IsVirtualAccountNumber(value)) bad(ErrorCode::kInvalidField, key, "must be 6 to 16 digits");
      q.number = value;
    } else if (key == "order_id") {
      if (!IsExternalId(value)) bad(ErrorCode::kInvalidField, key, "must match ^[A-Za-z0-9._:-]{1,64}$");
      q.order_id = value;
    } else if (key == "from" || key == "to") {
      auto time = ParseRfc3339(value);
      if (!time) bad(ErrorCode::kInvalidField, key, "must be an RFC 3339 date-time");
      (key == "from" ? q.from : q.to) = time;
    } else if (key == "after") {
      if (!IsExternalId(value)) bad(ErrorCode::kInvalidField, key, "must be a deposit id");
      q.after_id = value;
    } else if (key == "limit") {
      auto limit = ParseLimit(value);
      if (!limit) bad(ErrorCode::kInvalidField, key, "must be an integer from 1 to 500");
      q.limit = limit.value_or(0);
    } else {
      bad(ErrorCode::kUnknownField, key, "is not a parameter of this look-up");
    }
  }
  if (!sink.fields.empty()) return std::unexpected(Refuse(sink));
  return q;
}

std::expected<LedgerQuery, HttpResponse> DecodeLedgerQuery(const Target& t) {
  Target without_after = t;
  std::erase_if(without_after.query, [](const auto& p) { return p.first == "after"; });
  auto base = DecodeDepositQuery(without_after);
  if (!base) return std::unexpected(base.error());
  LedgerQuery q;
  q.number = base->number;
  q.order_id = base->order_id;
  q.from = base->from;
  q.to = base->to;
  q.limit = base->limit;
  for (const auto& [key, value] : t.query) {
    if (key != "after") continue;
    std::int64_t after = -1;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), after);
    if (ec != std::errc() || ptr != value.data() + value.size() || after < 0) {
      return std::unexpected(Refuse(ErrorCode::kInvalidField, "after must be a ledger sequence number", "after"));
    }
    q.after_seq = after;
  }
  return q;
}

std::expected<ListEvents, HttpResponse> DecodeEventQuery(const Target& t) {
  ListEvents c;
  for (const auto& [key, value] : t.query) {
    if (key == "type") {
      c.query.type = ParseEventType(value);
      if (!c.query.type) return std::unexpected(Refuse(ErrorCode::kInvalidField, "type must be an event type such as deposit.matched", key));
    } else if (key == "merchant") {
      if (!IsMerchantId(value)) return std::unexpected(Refuse(ErrorCode::kInvalidField, "merchant must be a merchant id", key));
      c.query.merchant = value;
    } else if (key == "after") {
      if (!IsExternalId(value)) return std::unexpected(Refuse(ErrorCode::kInvalidField, "after must be an event id", key));
      c.after_id = value;
    } else if (key == "limit") {
      auto limit = ParseLimit(value);
      if (!limit) return std::unexpected(Refuse(ErrorCode::kInvalidField, "limit must be an integer from 1 to 500", key));
      c.query.limit = *limit;
    } else {
      return std::unexpected(Refuse(ErrorCode::kUnknownField, key + " is not a parameter of this look-up", key));
    }
  }
  return c;
}

std::expected<ListTransfers, HttpResponse> DecodeTransferQuery(const Target& t) {
  ListTransfers c;
  for (const auto& [key, value] : t.query) {
    if (key == "status") {
      c.query.status = ParseTransferStatus(value);
      if (!c.query.status) {
        return std::unexpected(Refuse(ErrorCode::kInvalidField, "status must be pending, completed or refused", key));
      }
    } else if (key == "before") {
      if (!IsExternalId(value)) return std::unexpected(Refuse(ErrorCode::kInvalidField, "before must be a transfer id", key));
      c.query.before_id = value;
    } else if (key == "limit") {
      auto limit = ParseLimit(value);
      if (!limit) return std::unexpected(Refuse(ErrorCode::kInvalidField, "limit must be an integer from 1 to 500", key));
      c.query.limit = *limit;
    } else {
      return std::unexpected(Refuse(ErrorCode::kUnknownField, key + " is not a parameter of this look-up", key));
    }
  }
  return c;
}

std::expected<ListHolderInquiries, HttpResponse> DecodeInquiryQuery(const Target& t) {
  ListHolderInquiries c;
  for (const auto& [key, value] : t.query) {
    if (key == "merchant") {
      if (!IsMerchantId(value)) return std::unexpected(Refuse(ErrorCode::kInvalidField, "merchant must be a merchant id", key));
      c.query.merchant = value;
    } else if (key == "before") {
      if (!IsExternalId(value)) return std::unexpected(Refuse(ErrorCode::kInvalidField, "before must be an inquiry id", key));
      c.query.before_id = value;
    } else if (key == "limit") {
      auto limit = ParseLimit(value);
      if (!limit) return std::unexpected(Refuse(ErrorCode::kInvalidField, "limit must be an integer from 1 to 500", key));
      c.query.limit = *limit;
    } else {
      return std::unexpected(Refuse(ErrorCode::kUnknownField, key + " is not a parameter of this look-up", key));
    }
  }
  return c;
}

// The delivery policy applied to a URL a merchant gives: a refusal the merchant can act on.
std::optional<HttpResponse> RefuseUrl(const notify::UrlPolicy& policy, const std::string& url) {
  auto checked = notify::CheckEndpointUrl(policy, url);
  if (checked) return std::nullopt;
  return Refuse(ErrorCode::kWebhookUrlRefused, checked.error().detail, "url");
}

bool IsJson(std::string_view content_type) {
  auto semicolon = content_type.find(';');
  auto media = content_type.substr(0, semicolon);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (media.size() != 16) return false;
  constexpr std::string_view kJson = "application/json";
  for (std::size_t i = 0; i < media.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(media[i])) != kJson[i]) return false;
  }
  return true;
}

std::string_view BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return {};
  }
  auto token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return token;
}

// Builds the engine command for a matched route; an HttpResponse when the request is refused.
std::expected<Command, HttpResponse> BuildCommand(const Route& route, const Lookup& match,
                                                  const Target& target, const json::object* body,
                                                  std::string_view raw_body, const notify::UrlPolicy& policy) {
  auto from = [](auto decoded) -> std::expected<Command, HttpResponse> {
    if (!decoded) return std::unexpected(Refuse(decoded.error()));
    return Command(std::move(*decoded));
  };
  const auto& p = match.params;
  switch (route.handler) {
    case Handler::kCreateBank: return from(DecodeCreateBank(*body));
    case Handler::kListBanks: return ListBanks{};
    case Handler::kUpdateBank: return from(DecodeUpdateBank(p[0], *body));
    case Handler::kCreateTransfer: return from(DecodeCreateTransfer(*body));
    case Handler::kGetTransfer: return GetTransfer{p[0]};
    case Handler::kListTransfers: {
      auto q = DecodeTransferQuery(target);
      if (!q) return std::unexpected(q.error());
      return Command(std::move(*q));
    }
    case Handler::kHolderInquiry: {
      auto request = DecodeHolderInquiry(*body);
      if (!request) return std::unexpected(Refuse(request.error()));
      return StartHolderInquiry{request->bank, request->account};
    }
    case Handler::kListHolderInquiries: {
      auto q = DecodeInquiryQuery(target);
      if (!q) return std::unexpected(q.error());
      return Command(std::move(*q));
    }
    case Handler::kCreateSigningSecret: return CreateBankSigningSecret{p[0]};
    case Handler::kCamt053: {
      auto statements = DecodeCamt053(raw_body);
      if (!statements) return std::unexpected(Refuse(statements.error()));
      return Command(std::move(*statements));
    }
    case Handler::kListStatements: {
      ListStatements c;
      for (const auto& [key, value] : target.query) {
        if (key == "bank" && IsBankCode(value)) {
          c.bank = value;
        } else if (auto limit = key == "limit" ? ParseLimit(value) : std::nullopt) {
          c.limit = *limit;
        } else {
          return std::unexpected(Refuse(key == "bank" || key == "limit" ? ErrorCode::kInvalidField : ErrorCode::kUnknownField,
                                        key == "bank"    ? "bank must be a 3-digit bank code"
                                        : key == "limit" ? "limit must be an integer from 1 to 500"
                                                         : key + " is not a parameter of this look-up",
                                        key));
        }
      }
      return Command(c);
    }
    case Handler::kCamt054: {
      auto import = DecodeCamt054(target.query, raw_body);
      if (!import) return std::unexpected(Refuse(import.error()));
      return Command(std::move(*import));
    }
    case Handler::kCreateMerchant: return from(DecodeCreateMerchant(*body));
    case Handler::kListMerchants: return ListMerchants{};
    case Handler::kGetMerchant: return GetMerchant{p[0]};
    case Handler::kUpdateMerchant: return from(DecodeUpdateMerchant(p[0], *body));
    case Handler::kCreateContract: return from(DecodeCreateContract(p[0], *body));
    case Handler::kListContracts: return ListContracts{p[0]};
    case Handler::kSetPayoutLimits: return from(DecodeSetPayoutPolicy(p[0], *body));
    case Handler::kGetPayoutLimits: return GetPayoutPolicy{p[0]};
    case Handler::kCreateApiKey: return from(DecodeCreateApiKey(*body));
    case Handler::kListApiKeys: return ListApiKeys{};
    case Handler::kRevokeApiKey: return RevokeApiKey{p[0]};
    case Handler::kLoadNumbers:
      if (!IsMerchantId(p[0]) || !IsBankCode(p[1])) return std::unexpected(Refuse(ErrorCode::kNotFound, "no such merchant or bank"));
      if (!IsRegion(p[2])) return std::unexpected(Refuse(ErrorCode::kInvalidField, "region must match ^[a-z0-9][a-z0-9-]{0,31}$", "region"));
      return from(DecodeLoadNumbers(p[0], p[1], p[2], *body));
    case Handler::kListPools: return ListPools{};
    case Handler::kCreateAssignment: return from(DecodeCreateAssignment(*body));
    case Handler::kGetAssignment: return GetAssignment{p[0]};
    case Handler::kCancelAssignment: return CancelAssignment{p[0]};
    case Handler::kGetOrder: return GetOrder{p[0]};
    case Handler::kFindDeposits: {
      auto q = DecodeDepositQuery(target);
      if (!q) return std::unexpected(q.error());
      return FindDeposits{std::move(*q)};
    }
    case Handler::kFindLedger: {
      auto q = DecodeLedgerQuery(target);
      if (!q) return std::unexpected(q.error());
      return FindLedgerEntries{std::move(*q)};
    }
    case Handler::kVerifyLedger: return VerifyLedger{};
    case Handler::kPrecheck: return from(DecodePrecheck(*body));
    case Handler::kDepositNotice: return from(DecodeDepositNotice(*body));
    case Handler::kCancelDeposit: return from(DecodeCancelDeposit(*body));
    case Handler::kCreateEndpoint: {
      auto c = DecodeCreateWebhookEndpoint(*body);
      if (!c) return std::unexpected(Refuse(c.error()));
      if (auto refused = RefuseUrl(policy, c->url)) return std::unexpected(std::move(*refused));
      return Command(std::move(*c));
    }
    case Handler::kListEndpoints: return ListWebhookEndpoints{};
    case Handler::kGetEndpoint: return GetWebhookEndpoint{p[0]};
    case Handler::kUpdateEndpoint: {
      auto c = DecodeUpdateWebhookEndpoint(p[0], *body);
      if (!c) return std::unexpected(Refuse(c.error()));
      if (c->url) {
        if (auto refused = RefuseUrl(policy, *c->url)) return std::unexpected(std::move(*refused));
      }
      return Command(std::move(*c));
    }
    case Handler::kDeleteEndpoint: return DeleteWebhookEndpoint{p[0]};
    case Handler::kRotateSecret: return from(DecodeRotateWebhookSecret(p[0], *body));
    case Handler::kListEvents: {
      auto q = DecodeEventQuery(target);
      if (!q) return std::unexpected(q.error());
      return Command(std::move(*q));
    }
    case Handler::kGetEvent: return GetEvent{p[0]};
    case Handler::kResendEvent: return from(DecodeResendEvent(p[0], *body));
    case Handler::kMetrics: return ReadGauges{};  // an admin key's: it names every merchant
    case Handler::kHealth: break;
  }
  return std::unexpected(Refuse(ErrorCode::kInternal, "route without a command"));
}

RenderedResponse Render(const Route& route, const Result<Outcome>& result) {
  if (!result) return RenderProblem(result.error());
  int status = route.success_status;
  if (const auto* view = std::get_if<AssignmentView>(&*result); view && !view->created) status = 200;
  return RenderedResponse{status, EncodeOutcome(*result), false};
}

bool TakesQuery(Handler h) {
  return h == Handler::kFindDeposits || h == Handler::kFindLedger || h == Handler::kListEvents ||
         h == Handler::kCamt054 || h == Handler::kListStatements || h == Handler::kListTransfers ||
         h == Handler::kListHolderInquiries;
}

bool IsXml(std::string_view content_type) {
  auto media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  auto lower = std::string(media);
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return lower == "application/xml" || lower == "text/xml";
}

// The transport a bank's request on this route came by: a bank is held to its channels.
std::optional<BankProtocol> ChannelOf(Handler h) {
  switch (h) {
    case Handler::kPrecheck:
    case Handler::kDepositNotice:
    case Handler::kCancelDeposit: return BankProtocol::kJson;
    case Handler::kCamt054:
    case Handler::kCamt053: return BankProtocol::kIso20022;
    default: return std::nullopt;
  }
}

// The one role that may call a route, where the engine lets only one (each command's role check
// in Relay::Do; `x-varelay-roles` in docs/openapi.yaml): Admit refuses any other before the body.
// Routes that several roles share are left to the engine.
std::optional<Role> SoleRole(Handler h) {
  switch (h) {
    case Handler::kPrecheck:
    case Handler::kDepositNotice:
    case Handler::kCancelDeposit:
    case Handler::kCamt054:
    case Handler::kCamt053: return Role::kBank;
    case Handler::kMetrics:
    case Handler::kCreateBank:
    case Handler::kUpdateBank:
    case Handler::kCreateSigningSecret:
    case Handler::kCreateMerchant:
    case Handler::kListMerchants:
    case Handler::kUpdateMerchant:
    case Handler::kCreateContract:
    case Handler::kSetPayoutLimits:
    case Handler::kCreateApiKey:
    case Handler::kListApiKeys:
    case Handler::kRevokeApiKey:
    case Handler::kLoadNumbers:
    case Handler::kVerifyLedger: return Role::kAdmin;
    default: return std::nullopt;
  }
}

// POSTs whose every field is optional: an empty body is the same as {}.
bool EmptyBodyAllowed(Handler h) {
  return h == Handler::kCancelAssignment || h == Handler::kRotateSecret || h == Handler::kResendEvent;
}

}  // namespace

bool IsJsonMediaType(std::string_view content_type) { return IsJson(content_type); }

Service::Service(const EngineStats& engine_stats, notify::UrlPolicy url_policy)
    : engine_stats_(engine_stats), url_policy_(std::move(url_policy)), metrics_([] {
        std::vector<std::pair<std::string, std::string>> labels;
        for (const auto& r : kRoutes) labels.emplace_back(r.method, r.pattern);
        for (const auto& r : DivisionRoutes()) labels.emplace_back(r.method, r.pattern);
        return labels;
      }()) {}

std::vector<std::string> Service::RouteList() {
  std::vector<std::string> list;
  for (const auto& r : kRoutes) list.push_back(std::string(r.method) + " " + std::string(r.pattern));
  for (const auto& r : DivisionRoutes()) list.push_back(std::string(r.method) + " " + std::string(r.pattern));
  return list;
}

std::size_t Service::BodyLimit(std::string_view method, std::string_view target) const {
  auto t = ParseTarget(target);
  if (!t) return 0;
  auto lookup = FindRoute(method, *t);
  if (lookup.route < 0) return 0;
  if (lookup.division) return lookup.division->max_body;
  return kRoutes[static_cast<std::size_t>(lookup.route)].max_body;
}

Service::Admission Service::Admit(std::string_view method, std::string_view target,
                                  std::string_view authorization, const KeyDirectory& keys) const {
  Admission admission;
  auto t = ParseTarget(target);
  if (!t) {
    admission.refusal = Refuse(ErrorCode::kRouteNotFound, "the request target is not a valid path");
    return admission;
  }
  auto lookup = FindRoute(method, *t);
  if (lookup.route < 0 && static_files_ && static_files_->Serves(method, target)) return admission;  // a page
  if (lookup.route < 0) {
    admission.refusal = NoRoute(lookup);  // answered now: no body is read for no route
    return admission;
  }
  if (lookup.division) {
    admission.body_limit = lookup.division->max_body;
    admission.refusal = AdmitDivision(*lookup.division, authorization, keys);
    return admission;
  }
  const Route& route = kRoutes[static_cast<std::size_t>(lookup.route)];
  admission.body_limit = route.max_body;
  if (route.handler == Handler::kHealth) return admission;
  auto bearer = BearerToken(authorization);
  if (bearer.empty()) {
    admission.refusal =
        Refuse(ErrorCode::kUnauthorized, "an API key is required: Authorization: Bearer <key>");
  } else if (auto role = keys.RoleOf(bearer); !role) {
    admission.refusal = Refuse(ErrorCode::kUnauthorized, "the API key is unknown or revoked");
  } else if (auto sole = SoleRole(route.handler); sole && *role != *sole) {
    admission.refusal = Refuse(ErrorCode::kForbidden,
                               "this operation needs a " + std::string(RoleName(*sole)) + " key");
    return admission;
  }
  if (admission.refusal) admission.refusal->headers.emplace_back("WWW-Authenticate", "Bearer");
  return admission;
}

Service::Prepared Service::Prepare(const HttpRequestView& request) const {
  Prepared prepared;
  auto target = ParseTarget(request.target);
  if (!target) {
    prepared.response = Refuse(ErrorCode::kRouteNotFound, "the request target is not a valid path");
    return prepared;
  }
  auto lookup = FindRoute(request.method, *target);
  if (lookup.route < 0 && static_files_) {  // a web page or its file (static_files.h)
    prepared.response = static_files_->Answer(request.method, request.target, request.if_none_match);
    if (prepared.response) return prepared;
  }
  if (lookup.route < 0) {
    prepared.response = NoRoute(lookup);
    return prepared;
  }
  prepared.route = lookup.route;
  if (lookup.division) {
    auto division = PrepareDivision(*lookup.division, std::move(lookup.params), target->query, request);
    if (division) {
      prepared.division = std::move(*division);
    } else {
      prepared.response = std::move(division.error());
    }
    return prepared;
  }
  const Route& route = kRoutes[static_cast<std::size_t>(lookup.route)];
  if (route.handler == Handler::kHealth) {
    prepared.response = HttpResponse{200, "application/json", R"({"status":"ok"})", {}};
    return prepared;
  }
  auto bearer = BearerToken(request.authorization);
  if (bearer.empty()) {
    prepared.response = Refuse(ErrorCode::kUnauthorized, "an API key is required: Authorization: Bearer <key>");
    prepared.response->headers.emplace_back("WWW-Authenticate", "Bearer");
    return prepared;
  }
  if (!TakesQuery(route.handler) && !target->query.empty()) {
    prepared.response = Refuse(ErrorCode::kUnknownField, "this route takes no query parameters", target->query[0].first);
    return prepared;
  }
  std::optional<json::object> body;
  if (route.xml) {
    if (!IsXml(request.content_type)) {
      prepared.response = Refuse(ErrorCode::kUnsupportedMediaType, "the body must be application/xml");
      return prepared;
    }
  } else if (route.max_body == 0) {
    if (!request.body.empty()) {
      prepared.response = Refuse(ErrorCode::kInvalidField, "this route takes no request body", "body");
      return prepared;
    }
  } else if (request.body.empty() && EmptyBodyAllowed(route.handler)) {
    body.emplace();  // an empty body is the same as {}
  } else {
    if (!IsJson(request.content_type)) {
      prepared.response = Refuse(ErrorCode::kUnsupportedMediaType, "the body must be application/json");
      return prepared;
    }
    auto parsed = ParseBody(request.body);
    if (!parsed) {
      prepared.response = Refuse(parsed.error());
      return prepared;
    }
    body = std::move(*parsed);
    if (route.handler == Handler::kCancelAssignment && !body->empty()) {
      prepared.response = Refuse(ErrorCode::kUnknownField, "cancel takes no fields", body->begin()->key());
      return prepared;
    }
  }
  std::optional<IdempotencyRequest> idempotency;
  if (route.idempotency_key) {
    if (!request.has_idempotency_key) {
      prepared.response = Refuse(ErrorCode::kIdempotencyKeyMissing, "this request needs an Idempotency-Key header");
      return prepared;
    }
    std::string_view key = request.idempotency_key;
    if (key.size() >= 2 && key.front() == '"' && key.back() == '"') key = key.substr(1, key.size() - 2);
    if (!IsIdempotencyKey(key)) {
      prepared.response = Refuse(ErrorCode::kIdempotencyKeyInvalid,
                                 "the Idempotency-Key must be 1 to 255 visible ASCII characters");
      return prepared;
    }
    std::string scope = std::string(request.method) + ' ' + std::string(request.target) + '\n';
    scope += request.body;
    idempotency = IdempotencyRequest{std::string(key), Sha256Hex(scope)};
  }
  auto command = BuildCommand(route, lookup, *target, body ? &*body : nullptr, request.body, url_policy_);
  if (!command) {
    prepared.response = std::move(command.error());
    return prepared;
  }
  if (route.handler == Handler::kHolderInquiry) prepared.holder_inquiry = *DecodeHolderInquiry(*body);
  Submission submission;
  submission.bearer = std::string(bearer);
  submission.command = std::move(*command);
  submission.idempotency = std::move(idempotency);
  submission.channel = ChannelOf(route.handler);
  if (request.has_signature) {
    std::string content(request.signature_timestamp);
    content += '.';
    content += request.method;
    content += '.';
    content += request.target;
    content += '.';
    content += request.body;
    submission.signature = RequestSignature{std::string(request.signature_timestamp),
                                            std::string(request.signature), std::move(content)};
  }
  submission.render = [&route](const Result<Outcome>& result) { return Render(route, result); };
  prepared.submission = std::move(submission);
  return prepared;
}

HttpResponse Service::FinishHolderInquiry(const HolderInquiryRequest& request, const Result<std::string>& holder) const {
  if (!holder) return Refuse(holder.error().code, holder.error().detail);
  json::object o{{"bank_code", request.bank}, {"account", request.account}, {"holder_name", *holder}};
  return HttpResponse{200, "application/json", json::serialize(o), {}};
}

Submission Service::HolderOutcome(const std::string& id, const Result<std::string>& holder) {
  Submission s;
  s.internal = true;
  const auto outcome = holder                                         ? HolderInquiryOutcome::kFound
                       : holder.error().code == ErrorCode::kNotFound ? HolderInquiryOutcome::kNotFound
                                                                     : HolderInquiryOutcome::kFailed;
  s.command = varelay::FinishHolderInquiry{id, outcome};
  return s;
}

HttpResponse Service::RateLimited(Millis wait) {
  const auto seconds = std::max<std::int64_t>(1, (wait.count() + 999) / 1000);
  HttpResponse r = Refuse(ErrorCode::kRateLimited, "too many account-holder inquiries for now: retry in " +
                                                       std::to_string(seconds) + " s");
  r.headers.emplace_back("Retry-After", std::to_string(seconds));
  return r;
}

HttpResponse Service::Finish(int route_index, const Result<Outcome>& result,
                             const std::optional<RenderedResponse>& rendered) const {
  const Route& route = kRoutes[static_cast<std::size_t>(route_index)];
  if (route.handler == Handler::kMetrics && result) {
    return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                        metrics_.Render(engine_stats_, std::get<Gauges>(*result), dispatch_stats_, bank_health_), {}};
  }
  RenderedResponse r = rendered ? *rendered : Render(route, result);
  HttpResponse response;
  response.status = r.status;
  response.body = std::move(r.body);
  if (r.status >= 400) response.content_type = "application/problem+json";
  if (r.replayed) response.headers.emplace_back("Idempotent-Replayed", "true");
  return response;
}

}  // namespace varelay::api
