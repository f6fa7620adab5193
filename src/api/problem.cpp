#include "api/problem.h"

#include <boost/json.hpp>

namespace varelay::api {
namespace json = boost::json;

int StatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kMalformedRequest:
    case ErrorCode::kMalformedJson:
    case ErrorCode::kMalformedXml:
    case ErrorCode::kInvalidUtf8:
    case ErrorCode::kInvalidField:
    case ErrorCode::kMissingField:
    case ErrorCode::kUnknownField:
    case ErrorCode::kInvalidAmount:
    case ErrorCode::kUnknownCurrency:
    case ErrorCode::kIdempotencyKeyMissing:
    case ErrorCode::kIdempotencyKeyInvalid: return 400;
    case ErrorCode::kUnauthorized:
    case ErrorCode::kSignatureMissing:
    case ErrorCode::kSignatureInvalid:
    case ErrorCode::kSignatureStale:
    case ErrorCode::kInvalidCredentials:
    case ErrorCode::kSessionExpired: return 401;
    case ErrorCode::kForbidden:
    case ErrorCode::kChannelNotAllowed: return 403;
    case ErrorCode::kRateLimited: return 429;
    case ErrorCode::kNotFound:
    case ErrorCode::kRouteNotFound: return 404;
    case ErrorCode::kMethodNotAllowed: return 405;
    case ErrorCode::kIdempotencyInFlight:
    case ErrorCode::kOrderIdConflict:
    case ErrorCode::kTransactionIdConflict:
    case ErrorCode::kPoolExhausted:
    case ErrorCode::kAssignmentNotCancellable:
    case ErrorCode::kBankExists:
    case ErrorCode::kMerchantExists:
    case ErrorCode::kContractExists:
    case ErrorCode::kEndpointLimitReached:
    case ErrorCode::kNoEndpoint:
    case ErrorCode::kPaymentNotAuthorizable:
    case ErrorCode::kPaymentNotRefundable:
    case ErrorCode::kLoginTaken:
    case ErrorCode::kMasterExists:
    case ErrorCode::kApprovalNotPending:
    case ErrorCode::kDivisionAccountClosed: return 409;
    case ErrorCode::kBodyTooLarge: return 413;
    case ErrorCode::kHeadersTooLarge: return 431;
    case ErrorCode::kUnsupportedMediaType: return 415;
    case ErrorCode::kIdempotencyKeyReused:
    case ErrorCode::kUnknownBank:
    case ErrorCode::kUnknownMerchant:
    case ErrorCode::kNoContract:
    case ErrorCode::kPayoutLimitExceeded:
    case ErrorCode::kRecipientNotAllowed:
    case ErrorCode::kWebhookUrlRefused:
    case ErrorCode::kWeakPassword:
    case ErrorCode::kHolderMismatch:
    case ErrorCode::kConsentRefused:
    case ErrorCode::kWrongPassword:
    case ErrorCode::kRefundExceedsPayment: return 422;
    case ErrorCode::kOverloaded:
    case ErrorCode::kShuttingDown: return 503;
    case ErrorCode::kInternal: return 500;
    case ErrorCode::kBankUnavailable:
    case ErrorCode::kBankNumberInUse: return 502;
  }
  return 500;
}

namespace {

std::string Title(ErrorCode code) {
  // "pool_exhausted" -> "Pool exhausted"
  std::string title(ErrorCodeName(code));
  for (char& c : title) {
    if (c == '_') c = ' ';
  }
  if (!title.empty()) title[0] = static_cast<char>(title[0] - 'a' + 'A');
  return title;
}

std::string ProblemBody(const Error& error, const std::vector<FieldError>& fields) {
  json::object body{{"type", "urn:varelay:problem:" + std::string(ErrorCodeName(error.code))},
                    {"title", Title(error.code)},
                    {"status", StatusFor(error.code)},
                    {"detail", error.detail},
                    {"code", ErrorCodeName(error.code)}};
  if (!fields.empty()) {
    json::array errors;
    for (const auto& f : fields) errors.push_back({{"field", f.field}, {"reason", f.reason}});
    body["errors"] = std::move(errors);
  } else if (!error.field.empty()) {
    body["errors"] = json::array{{{"field", error.field}, {"reason", error.detail}}};
  }
  return json::serialize(body);
}

}  // namespace

HttpResponse ProblemResponse(const Error& error, const std::vector<FieldError>& fields) {
  HttpResponse response;
  response.status = StatusFor(error.code);
  response.content_type = "application/problem+json";
  response.body = ProblemBody(error, fields);
  return response;
}

RenderedResponse RenderProblem(const Error& error) {
  return RenderedResponse{StatusFor(error.code), ProblemBody(error, {}), false};
}

}  // namespace varelay::api
