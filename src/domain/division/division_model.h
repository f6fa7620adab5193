// Division accounts' records (docs/division-accounts.md, "Words" and "States"). Plain values: the
// engine's DivisionBook owns the live copies, the store persists them. Personal data arrives
// sealed by the API layer (src/crypto) and stays opaque here: the engine never sees it in clear.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/division/division_rules.h"
#include "domain/money.h"
#include "domain/time.h"

namespace varelay {

enum class MasterStatus { kActive, kSuspended };
std::string_view MasterStatusName(MasterStatus status);

// A bank-account holder who has division accounts. `sealed_*` fields are the crypto layer's
// sealed boxes, stored and returned as given.
struct Master {
  std::string id;  // "mst_" + 20 chars
  MasterStatus status = MasterStatus::kActive;
  std::string login_digest;  // the API's keyed digest of the login (e-mail or phone): the look-up handle
  std::string sealed_login;
  std::string sealed_holder_name;
  std::string sealed_birth_date;
  std::string password_hash;  // argon2id, PHC string
  std::int64_t password_generation = 1;  // bumped by every password change
  std::string bank;            // KFTC code of the bank holding the account
  std::string sealed_account;  // the account number, sealed
  std::string account_digest;  // keyed digest of (bank, account): one master per account
  std::string consent_id;      // the bank's withdrawal consent
  std::int64_t consent_ceiling_minor = 0;  // the bank's ceiling per debit (0: none)
  std::string endpoint_url;    // the master's app's webhook URL (empty: none)
  std::string endpoint_id;     // the webhook endpoint the outbox delivers to (whe_...; empty: none)
  Instant created_at{};
  Instant updated_at{};
};

// A dependant's account under a master.
struct DivisionAccount {
  std::string id;  // "dva_" + 20 chars
  std::string master;
  std::string number;  // 16 digits (division_rules.h)
  std::string label;   // the master's name for it ("Minji"), shown only to the master
  std::string sealed_holder_name;
  std::string sealed_phone;
  DivisionAccountStatus status = DivisionAccountStatus::kActive;
  bool locked = false;
  int consecutive_failures = 0;
  std::string password_hash;
  std::int64_t password_generation = 1;
  DivisionLimits limits;
  DivisionMerchantRules rules;
  std::optional<Instant> valid_from, valid_until;
  std::optional<std::int64_t> approval_threshold_minor;
  std::int64_t approval_timeout_ms = 600'000;  // how long an approval waits: 1 to 60 minutes
  Instant created_at{};
  Instant updated_at{};
  std::optional<Instant> closed_at;

  DivisionTerms Terms() const {
    return {status, locked, valid_from, valid_until, limits, rules, approval_threshold_minor};
  }
};
inline constexpr Millis kDefaultApprovalTimeout{std::chrono::minutes(10)};
inline constexpr Millis kMinApprovalTimeout{std::chrono::minutes(1)};
inline constexpr Millis kMaxApprovalTimeout{std::chrono::minutes(60)};
// A payment not authorised within this long after creation ends `expired`.
inline constexpr Millis kDivisionPaymentTtl{std::chrono::minutes(15)};

// awaiting_credentials -> awaiting_approval -> debiting -> approved -> partially_refunded ->
// refunded; declined from any of the first three; expired from awaiting_credentials.
enum class DivisionPaymentStatus {
  kAwaitingCredentials, kAwaitingApproval, kDebiting, kApproved, kDeclined, kExpired, kPartiallyRefunded, kRefunded,
};
std::string_view DivisionPaymentStatusName(DivisionPaymentStatus status);
std::optional<DivisionPaymentStatus> ParseDivisionPaymentStatus(std::string_view name);
// Holds its amount (less refunds) against the account's limits.
bool HoldsLimits(DivisionPaymentStatus status);

struct DivisionPayment {
  std::string id;  // "dvp_" + 20 chars
  std::string merchant;
  std::string order_id;
  Money amount{0, Currency::Krw()};
  std::string return_url;
  std::string page_token_digest;  // SHA-256 hex of the page token (the token is shown once)
  std::string sealed_result_key;  // signs the redirect; sealed by the API layer
  std::string request_fingerprint;  // the create request's meaningful fields: a replay or a conflict
  DivisionPaymentStatus status = DivisionPaymentStatus::kAwaitingCredentials;
  std::optional<DeclineReason> decline_reason;
  std::string bank_response_code;  // a bank's refusal: its code
  std::string account;  // dva_... once credentials named one (even a declined try)
  std::string master;   // mst_... likewise
  std::optional<Instant> authorised_at;  // the instant whose day and month hold the amount
  std::string approval;        // apr_... while or after co-approval was asked
  std::string debit_transfer;  // trf_... the debit, once debiting
  std::int64_t refunded_minor = 0;       // given back (refund transfers completed)
  std::int64_t refund_pending_minor = 0;  // refund transfers under way, reserved so none overdraws
  Instant created_at{};
  Instant updated_at{};
  Instant expires_at{};  // awaiting_credentials ends here
  std::optional<Instant> finished_at;  // approved, declined or expired
};

enum class ApprovalStatus { kPending, kApproved, kDeclined, kTimedOut };
std::string_view ApprovalStatusName(ApprovalStatus status);

// A co-approval request to a master.
struct DivisionApproval {
  std::string id;  // "apr_" + 20 chars
  std::string master;
  std::string account;
  std::string payment;
  std::string merchant;
  std::int64_t amount_minor = 0;
  ApprovalStatus status = ApprovalStatus::kPending;
  Instant created_at{};
  Instant deadline{};
  std::optional<Instant> decided_at;
};

}  // namespace varelay
