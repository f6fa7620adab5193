// The division-account routes (docs/division-accounts.md, "Routes"): their table, who may call
// each, and the request each becomes once its body and query are decoded. Service finds them
// beside its own routes (FindRoute) and hands a matched request here; the I/O side then runs it
// through DivisionGateway (division_gateway.h), since most of them take more than one engine
// step (a bank, a password hash off the engine thread).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/division_codec.h"
#include "api/http_types.h"
#include "engine/commands.h"
#include "engine/key_directory.h"

namespace varelay::api {

enum class DivisionHandler {
  kEnrol,
  kSignIn,
  kSignOut,
  kGetMaster,
  kSetEndpoint,
  kCreateToken,
  kListAccounts,
  kIssueAccount,
  kGetAccount,
  kUpdateAccount,
  kFreeze,
  kUnfreeze,
  kUnlock,
  kSetPassword,
  kClose,
  kAccountStatement,
  kMasterStatement,
  kListApprovals,
  kApprove,
  kDecline,
  kCreatePayment,
  kGetPayment,
  kRefund,
  kAuthorize,
  kPaymentPage,
};

// Who may call a route: anyone (enrolment, sign-in), a master (session `vms_` or token of role
// master), a merchant's key, or the payment page's token (`Authorization: Page <token>`) or a
// merchant's key.
enum class DivisionAuth { kPublic, kMaster, kMerchant, kPageOrMerchant };

struct DivisionRoute {
  std::string_view method;
  std::string_view pattern;
  DivisionHandler handler;
  DivisionAuth auth;
  int success_status = 200;
  bool idempotency_key = false;
  std::size_t max_body = 0;  // 0: no body accepted
  bool takes_query = false;
};

std::span<const DivisionRoute> DivisionRoutes();

using DivisionBody =
    std::variant<std::monostate, EnrolMasterRequest, SignInRequest, MasterEndpointRequest,
                 MasterTokenRequest, IssueDivisionAccountRequest, UpdateDivisionAccountRequest,
                 DivisionPasswordRequest, CreateDivisionPaymentRequest,
                 AuthorizeDivisionPaymentRequest, DivisionRefundRequest, StatementPeriod>;

// A request on a division route, decoded and ready to run.
struct DivisionRequest {
  const DivisionRoute* route = nullptr;
  std::vector<std::string> params;  // the {name} segments, in order
  std::string bearer;               // Authorization: Bearer <token>
  std::string page_token;           // Authorization: Page <token>
  std::optional<IdempotencyRequest> idempotency;
  bool wants_csv = false;  // Accept: text/csv (statements)
  std::string peer;        // the client's address (enrolment and sign-in are limited by it)
  DivisionBody body;
};

// The token of `authorization` under `scheme` ("bearer", "page"; case-insensitive), or "".
std::string_view AuthorizationToken(std::string_view authorization, std::string_view scheme);

// What the I/O thread answers from a request's head alone (see Service::Admit), or nullopt to
// read the body: a route that needs a key or token without one, an API key that is unknown, or
// known with a role the route never takes.
std::optional<HttpResponse> AdmitDivision(const DivisionRoute& route,
                                          std::string_view authorization, const KeyDirectory& keys);

// Decodes a whole request on `route`: the refusal to answer (problem+json, nothing run), or the
// request for DivisionGateway.
std::expected<DivisionRequest, HttpResponse> PrepareDivision(
    const DivisionRoute& route, std::vector<std::string> params,
    const std::vector<std::pair<std::string, std::string>>& query, const HttpRequestView& request);

}  // namespace varelay::api
