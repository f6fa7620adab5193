#include "api/division_routes.h"

#include <array>
#include <boost/json.hpp>
#include <cctype>

#include "api/problem.h"
#include "api/service.h"
#include "domain/digest.h"
#include "domain/identifiers.h"

namespace varelay::api {
namespace {

using H = DivisionHandler;
using A = DivisionAuth;
constexpr std::size_t kBody = kMaxBodyBytes;

constexpr std::array kDivisionRoutes = {
    DivisionRoute{"POST", "/v1/division-payments", H::kCreatePayment, A::kMerchant, 201, true,
                  kBody},
    DivisionRoute{"GET", "/v1/division-payments/{payment_id}", H::kGetPayment, A::kMerchant},
    DivisionRoute{"POST", "/v1/division-payments/{payment_id}/refunds", H::kRefund, A::kMerchant,
                  201, true, kBody},
    DivisionRoute{"POST", "/v1/division-payments/{payment_id}/authorize", H::kAuthorize,
                  A::kPageOrMerchant, 200, false, kBody},
    DivisionRoute{"GET", "/v1/division-payments/{payment_id}/page", H::kPaymentPage,
                  A::kPageOrMerchant},
    DivisionRoute{"POST", "/v1/masters", H::kEnrol, A::kPublic, 201, false, kBody},
    DivisionRoute{"POST", "/v1/master/sessions", H::kSignIn, A::kPublic, 201, false, kBody},
    DivisionRoute{"DELETE", "/v1/master/sessions/current", H::kSignOut, A::kMaster, 204},
    DivisionRoute{"GET", "/v1/master", H::kGetMaster, A::kMaster},
    DivisionRoute{"PUT", "/v1/master/endpoint", H::kSetEndpoint, A::kMaster, 200, false, kBody},
    DivisionRoute{"POST", "/v1/master/tokens", H::kCreateToken, A::kMaster, 201, false, kBody},
    DivisionRoute{"GET", "/v1/master/division-accounts", H::kListAccounts, A::kMaster},
    DivisionRoute{"POST", "/v1/master/division-accounts", H::kIssueAccount, A::kMaster, 201, false,
                  kBody},
    DivisionRoute{"GET", "/v1/master/division-accounts/{account_id}", H::kGetAccount, A::kMaster},
    DivisionRoute{"PATCH", "/v1/master/division-accounts/{account_id}", H::kUpdateAccount,
                  A::kMaster, 200, false, kBody},
    DivisionRoute{"POST", "/v1/master/division-accounts/{account_id}/freeze", H::kFreeze,
                  A::kMaster},
    DivisionRoute{"POST", "/v1/master/division-accounts/{account_id}/unfreeze", H::kUnfreeze,
                  A::kMaster},
    DivisionRoute{"POST", "/v1/master/division-accounts/{account_id}/unlock", H::kUnlock,
                  A::kMaster},
    DivisionRoute{"POST", "/v1/master/division-accounts/{account_id}/password", H::kSetPassword,
                  A::kMaster, 200, false, kBody},
    DivisionRoute{"POST", "/v1/master/division-accounts/{account_id}/close", H::kClose, A::kMaster},
    DivisionRoute{"GET", "/v1/master/division-accounts/{account_id}/statement",
                  H::kAccountStatement, A::kMaster, 200, false, 0, true},
    DivisionRoute{"GET", "/v1/master/statement", H::kMasterStatement, A::kMaster, 200, false, 0,
                  true},
    DivisionRoute{"GET", "/v1/master/approvals", H::kListApprovals, A::kMaster},
    DivisionRoute{"POST", "/v1/master/approvals/{approval_id}/approve", H::kApprove, A::kMaster},
    DivisionRoute{"POST", "/v1/master/approvals/{approval_id}/decline", H::kDecline, A::kMaster},
};

HttpResponse Refuse(ErrorCode code, std::string detail, std::string field = {}) {
  return ProblemResponse(Error{code, std::move(detail), std::move(field)});
}

HttpResponse Unauthorized(std::string detail) {
  auto response = Refuse(ErrorCode::kUnauthorized, std::move(detail));
  response.headers.emplace_back("WWW-Authenticate", "Bearer");
  return response;
}

// A master's session or app token: the engine checks it (a session's expiry included).
bool IsMasterToken(std::string_view token) {
  return token.starts_with("vms_") || token.starts_with("vmt_");
}

// Whether an API key's role may call a route of `auth` at all (the engine checks the rest).
bool RoleFits(DivisionAuth auth, Role role) {
  switch (auth) {
    case DivisionAuth::kPublic:
      return true;
    case DivisionAuth::kMaster:
      return role == Role::kMaster;
    case DivisionAuth::kMerchant:
      return IsMerchantRole(role) || role == Role::kAdmin;
    case DivisionAuth::kPageOrMerchant:
      return IsMerchantRole(role);
  }
  return false;
}

template <typename T>
std::expected<DivisionBody, HttpResponse> From(Decoded<T> decoded) {
  if (!decoded)
    return std::unexpected(ProblemResponse(decoded.error().error, decoded.error().fields));
  return DivisionBody(std::move(*decoded));
}

// The body (or query) a route takes, decoded.
std::expected<DivisionBody, HttpResponse> DecodeFor(
    H handler, const boost::json::object* body,
    const std::vector<std::pair<std::string, std::string>>& query) {
  switch (handler) {
    case H::kEnrol:
      return From(DecodeEnrolMaster(*body));
    case H::kSignIn:
      return From(DecodeSignIn(*body));
    case H::kSetEndpoint:
      return From(DecodeMasterEndpoint(*body));
    case H::kCreateToken:
      return From(DecodeMasterToken(*body));
    case H::kIssueAccount:
      return From(DecodeIssueDivisionAccount(*body));
    case H::kUpdateAccount:
      return From(DecodeUpdateDivisionAccount(*body));
    case H::kSetPassword:
      return From(DecodeDivisionPassword(*body));
    case H::kCreatePayment:
      return From(DecodeCreateDivisionPayment(*body));
    case H::kAuthorize:
      return From(DecodeAuthorizeDivisionPayment(*body));
    case H::kRefund:
      return From(DecodeDivisionRefund(*body));
    case H::kAccountStatement:
    case H::kMasterStatement:
      return From(DecodeStatementPeriod(query));
    default:
      return DivisionBody{};
  }
}

// The {id} segments must look like ids of their kind; anything else is as unknown as a stranger's.
bool ParamsWellFormed(H handler, const std::vector<std::string>& params) {
  if (params.empty()) return true;
  const std::string& id = params[0];
  auto shaped = [&](std::string_view prefix) {
    return id.size() == prefix.size() + 20 && id.starts_with(prefix) &&
           id.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyz", prefix.size()) ==
               std::string::npos;
  };
  switch (handler) {
    case H::kApprove:
    case H::kDecline:
      return shaped("apr_");
    case H::kGetPayment:
    case H::kRefund:
    case H::kAuthorize:
    case H::kPaymentPage:
      return shaped("dvp_");
    default:
      return shaped("dva_");
  }
}

bool WantsCsv(std::string_view accept) {
  std::string lower(accept);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("text/csv") != std::string::npos;
}

// Idempotency-Key as Service reads it for its own routes.
std::expected<std::optional<IdempotencyRequest>, HttpResponse> IdempotencyOf(
    const DivisionRoute& route, const HttpRequestView& request) {
  if (!route.idempotency_key) return std::optional<IdempotencyRequest>();
  if (!request.has_idempotency_key) {
    return std::unexpected(
        Refuse(ErrorCode::kIdempotencyKeyMissing, "this request needs an Idempotency-Key header"));
  }
  std::string_view key = request.idempotency_key;
  if (key.size() >= 2 && key.front() == '"' && key.back() == '"')
    key = key.substr(1, key.size() - 2);
  if (!IsIdempotencyKey(key)) {
    return std::unexpected(Refuse(ErrorCode::kIdempotencyKeyInvalid,
                                  "the Idempotency-Key must be 1 to 255 visible ASCII characters"));
  }
  std::string scope = std::string(request.method) + ' ' + std::string(request.target) + '\n';
  scope += request.body;
  return std::optional<IdempotencyRequest>(IdempotencyRequest{std::string(key), Sha256Hex(scope)});
}

// The JSON object a route with a body takes; nullptr for a route without one.
std::expected<std::optional<boost::json::object>, HttpResponse> BodyOf(
    const DivisionRoute& route, const HttpRequestView& request) {
  if (route.max_body == 0) {
    if (!request.body.empty())
      return std::unexpected(
          Refuse(ErrorCode::kInvalidField, "this route takes no request body", "body"));
    return std::optional<boost::json::object>();
  }
  if (!IsJsonMediaType(request.content_type)) {
    return std::unexpected(
        Refuse(ErrorCode::kUnsupportedMediaType, "the body must be application/json"));
  }
  auto parsed = ParseBody(request.body);
  if (!parsed) return std::unexpected(ProblemResponse(parsed.error().error, parsed.error().fields));
  return std::optional<boost::json::object>(std::move(*parsed));
}

}  // namespace

std::span<const DivisionRoute> DivisionRoutes() { return kDivisionRoutes; }

std::string_view AuthorizationToken(std::string_view authorization, std::string_view scheme) {
  if (authorization.size() <= scheme.size() + 1) return {};
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return {};
  }
  if (authorization[scheme.size()] != ' ') return {};
  auto token = authorization.substr(scheme.size() + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return token;
}

std::optional<HttpResponse> AdmitDivision(const DivisionRoute& route,
                                          std::string_view authorization,
                                          const KeyDirectory& keys) {
  if (route.auth == DivisionAuth::kPublic) return std::nullopt;
  if (route.auth == DivisionAuth::kPageOrMerchant &&
      !AuthorizationToken(authorization, "page").empty()) {
    return std::nullopt;  // the page token is the engine's to check
  }
  auto bearer = AuthorizationToken(authorization, "bearer");
  if (bearer.empty()) {
    return Unauthorized(
        route.auth == DivisionAuth::kMaster
            ? "a master's session or token is required: Authorization: Bearer <token>"
            : "an API key is required: Authorization: Bearer <key>");
  }
  if (route.auth == DivisionAuth::kMaster && IsMasterToken(bearer))
    return std::nullopt;  // the engine's
  auto role = keys.RoleOf(bearer);
  if (!role) return Unauthorized("the API key or token is unknown or revoked");
  if (!RoleFits(route.auth, *role)) {
    return Refuse(ErrorCode::kForbidden, route.auth == DivisionAuth::kMaster
                                             ? "this operation needs a master's session or token"
                                             : "this operation needs a merchant key");
  }
  return std::nullopt;
}

std::expected<DivisionRequest, HttpResponse> PrepareDivision(
    const DivisionRoute& route, std::vector<std::string> params,
    const std::vector<std::pair<std::string, std::string>>& query, const HttpRequestView& request) {
  // Admit checked the key against the directory; here only that a credential is there at all.
  const bool page = route.auth == DivisionAuth::kPageOrMerchant &&
                    !AuthorizationToken(request.authorization, "page").empty();
  if (route.auth != DivisionAuth::kPublic && !page &&
      AuthorizationToken(request.authorization, "bearer").empty()) {
    return std::unexpected(
        Unauthorized("a key or token is required: Authorization: Bearer <token>"));
  }
  if (!route.takes_query && !query.empty()) {
    return std::unexpected(
        Refuse(ErrorCode::kUnknownField, "this route takes no query parameters", query[0].first));
  }
  if (!ParamsWellFormed(route.handler, params))
    return std::unexpected(Refuse(ErrorCode::kNotFound, "no such resource"));
  auto body = BodyOf(route, request);
  if (!body) return std::unexpected(std::move(body.error()));
  auto idempotency = IdempotencyOf(route, request);
  if (!idempotency) return std::unexpected(std::move(idempotency.error()));
  auto decoded = DecodeFor(route.handler, *body ? &**body : nullptr, query);
  if (!decoded) return std::unexpected(std::move(decoded.error()));
  DivisionRequest out;
  out.route = &route;
  out.params = std::move(params);
  out.bearer = std::string(AuthorizationToken(request.authorization, "bearer"));
  out.page_token = std::string(AuthorizationToken(request.authorization, "page"));
  out.idempotency = std::move(*idempotency);
  out.wants_csv = WantsCsv(request.accept);
  out.peer = std::string(request.peer);
  out.body = std::move(*decoded);
  return out;
}

}  // namespace varelay::api
