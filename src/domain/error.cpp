#include "domain/error.h"

namespace varelay {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kMalformedRequest: return "malformed_request";
    case ErrorCode::kMalformedJson: return "malformed_json";
    case ErrorCode::kInvalidUtf8: return "invalid_utf8";
    case ErrorCode::kInvalidField: return "invalid_field";
    case ErrorCode::kMissingField: return "missing_field";
    case ErrorCode::kUnknownField: return "unknown_field";
    case ErrorCode::kInvalidAmount: return "invalid_amount";
    case ErrorCode::kUnknownCurrency: return "unknown_currency";
    case ErrorCode::kBodyTooLarge: return "body_too_large";
    case ErrorCode::kHeadersTooLarge: return "headers_too_large";
    case ErrorCode::kUnsupportedMediaType: return "unsupported_media_type";
    case ErrorCode::kIdempotencyKeyMissing: return "idempotency_key_missing";
    case ErrorCode::kIdempotencyKeyInvalid: return "idempotency_key_invalid";
    case ErrorCode::kIdempotencyKeyReused: return "idempotency_key_reused";
    case ErrorCode::kIdempotencyInFlight: return "idempotency_in_flight";
    case ErrorCode::kUnauthorized: return "unauthorized";
    case ErrorCode::kForbidden: return "forbidden";
    case ErrorCode::kChannelNotAllowed: return "channel_not_allowed";
    case ErrorCode::kRateLimited: return "rate_limited";
    case ErrorCode::kPayoutLimitExceeded: return "payout_limit_exceeded";
    case ErrorCode::kRecipientNotAllowed: return "recipient_not_allowed";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kRouteNotFound: return "route_not_found";
    case ErrorCode::kMethodNotAllowed: return "method_not_allowed";
    case ErrorCode::kUnknownBank: return "unknown_bank";
    case ErrorCode::kUnknownMerchant: return "unknown_merchant";
    case ErrorCode::kNoContract: return "no_contract";
    case ErrorCode::kOrderIdConflict: return "order_id_conflict";
    case ErrorCode::kTransactionIdConflict: return "transaction_id_conflict";
    case ErrorCode::kPoolExhausted: return "pool_exhausted";
    case ErrorCode::kAssignmentNotCancellable: return "assignment_not_cancellable";
    case ErrorCode::kBankExists: return "bank_exists";
    case ErrorCode::kMerchantExists: return "merchant_exists";
    case ErrorCode::kContractExists: return "contract_exists";
    case ErrorCode::kWebhookUrlRefused: return "webhook_url_refused";
    case ErrorCode::kEndpointLimitReached: return "endpoint_limit_reached";
    case ErrorCode::kNoEndpoint: return "no_endpoint";
    case ErrorCode::kSignatureMissing: return "signature_missing";
    case ErrorCode::kSignatureInvalid: return "signature_invalid";
    case ErrorCode::kSignatureStale: return "signature_stale";
    case ErrorCode::kBankUnavailable: return "bank_unavailable";
    case ErrorCode::kBankNumberInUse: return "bank_number_in_use";
    case ErrorCode::kMalformedXml: return "malformed_xml";
    case ErrorCode::kWeakPassword: return "weak_password";
    case ErrorCode::kHolderMismatch: return "holder_mismatch";
    case ErrorCode::kConsentRefused: return "consent_refused";
    case ErrorCode::kWrongPassword: return "wrong_password";
    case ErrorCode::kInvalidCredentials: return "invalid_credentials";
    case ErrorCode::kSessionExpired: return "session_expired";
    case ErrorCode::kRefundExceedsPayment: return "refund_exceeds_payment";
    case ErrorCode::kPaymentNotAuthorizable: return "payment_not_authorizable";
    case ErrorCode::kPaymentNotRefundable: return "payment_not_refundable";
    case ErrorCode::kLoginTaken: return "login_taken";
    case ErrorCode::kMasterExists: return "master_exists";
    case ErrorCode::kApprovalNotPending: return "approval_not_pending";
    case ErrorCode::kDivisionAccountClosed: return "division_account_closed";
    case ErrorCode::kOverloaded: return "overloaded";
    case ErrorCode::kShuttingDown: return "shutting_down";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

}  // namespace varelay
