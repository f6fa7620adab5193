// Expected failures as values: every error has a stable code that the API maps to a status and
// that clients can branch on. Exceptions are reserved for what should never happen.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace varelay {

enum class ErrorCode {
  kMalformedRequest,
  kMalformedJson,
  kInvalidUtf8,
  kInvalidField,
  kMissingField,
  kUnknownField,
  kInvalidAmount,
  kUnknownCurrency,
  kBodyTooLarge,
  kHeadersTooLarge,
  kUnsupportedMediaType,
  kIdempotencyKeyMissing,
  kIdempotencyKeyInvalid,
  kIdempotencyKeyReused,
  kIdempotencyInFlight,
  kUnauthorized,
  kForbidden,
  kNotFound,
  kRouteNotFound,
  kMethodNotAllowed,
  kUnknownBank,
  kUnknownMerchant,
  kNoContract,
  kOrderIdConflict,
  kTransactionIdConflict,
  kPoolExhausted,
  kAssignmentNotCancellable,
  kBankExists,
  kMerchantExists,
  kContractExists,
  kWebhookUrlRefused,
  kEndpointLimitReached,
  kNoEndpoint,
  kSignatureMissing,
  kSignatureInvalid,
  kSignatureStale,
  kBankUnavailable,
  kBankNumberInUse,
  kChannelNotAllowed,     // a bank reported by a channel it is not allowed (bank_channels.h)
  kRateLimited,           // too many requests of this kind for now: Retry-After says when
  kPayoutLimitExceeded,   // a transfer over its merchant's per-transfer or daily limit
  kRecipientNotAllowed,   // a transfer to a recipient off its merchant's allow-list
  kMalformedXml,  // a bank's XML message that is not well-formed or that the reader refuses
  kWeakPassword,          // a password that breaks a rule (domain/division): the detail names it
  kHolderMismatch,        // the bank names another holder of the account a master enrols with
  kConsentRefused,        // the bank refused a master's withdrawal consent
  kWrongPassword,         // a division account's number and password do not match
  kInvalidCredentials,    // a master's login and password do not match (or no such login)
  kSessionExpired,        // a master's session is over its 12 hours
  kRefundExceedsPayment,  // a refund above what is left of its payment
  kPaymentNotAuthorizable, // a division payment no longer waiting for credentials
  kPaymentNotRefundable,  // a division payment not approved, or refunded in full
  kLoginTaken,            // another master signs in with this login
  kMasterExists,          // the bank account is enrolled already
  kApprovalNotPending,    // a co-approval already answered or timed out
  kDivisionAccountClosed, // a division account closed for good
  kOverloaded,
  kShuttingDown,
  kInternal,  // stays last: varelayd --print-error-codes lists the codes up to it
};

// The stable snake_case name of a code, as sent to clients in problem+json `code`.
std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string detail;
  // The request field the error is about, when there is one ("amount", "customer.email").
  std::string field;
};

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> Fail(ErrorCode code, std::string detail, std::string field = {}) {
  return std::unexpected<Error>(Error{code, std::move(detail), std::move(field)});
}

}  // namespace varelay
