// What callers ask of the division accounts component (engine/division_book.h), and what it
// answers: one alternative of Command (DivisionCommand) and one of Outcome (DivisionOutcome), so
// the capability does not widen the engine's own variants by twenty. Plain values, no HTTP.
//
// Who may send what (Relay::Do(DivisionCommand), relay_division.cpp):
// - the relay itself (Submission::internal, the API acting on a login, an enrolment or a payment
//   page it has checked): EnrolMaster, GetMasterLogin, CreateMasterSession, GetDivisionPaymentPage,
//   GetDivisionPaymentForAuthorization, AuthorizeDivisionPayment (with the page token's digest);
// - a master's key (role kMaster: a session or an app token): its own masters' commands;
// - a merchant's checkout key: CreateDivisionPayment, GetDivisionPayment, RefundDivisionPayment,
//   and the authorisation commands when the operator made it division_direct.
// Another master's or merchant's record answers kNotFound.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "domain/division/division_model.h"
#include "domain/model.h"
#include "domain/webhook.h"

namespace varelay {

// ---- masters ----
// After the API verified the holder and registered the consent at the bank. kInvalidField
// "login" / "account" when another master has that login or account.
struct EnrolMaster {
  std::string login_digest, sealed_login, sealed_holder_name, sealed_birth_date;
  std::string password_hash;  // argon2id
  std::string bank, sealed_account, account_digest;
  std::string consent_id;
  std::int64_t consent_ceiling_minor = 0;
};
// The password hash to verify a login against (kNotFound: no such login).
struct GetMasterLogin { std::string login_digest; };
// After the API verified the password hashed at `password_generation`: a session key (role
// kMaster) valid for `ttl_ms`. kConflict-like kInvalidField "password_generation" when the
// password changed meanwhile.
struct CreateMasterSession {
  std::string master;
  std::int64_t password_generation = 0;
  std::int64_t ttl_ms = 12 * 3'600'000;
};
inline constexpr std::int64_t kMasterSessionTtlMs = 12 * 3'600'000;
// Revokes the master key the request came with.
struct RevokeMasterSession {};
// A key for the master's app (role kMaster, no expiry).
struct CreateMasterToken { std::string label; };
struct GetMaster {};
// The master app's webhook URL (checked by the API against the URL policy; empty: none). The
// first URL set creates the endpoint and shows its signing secret once.
struct SetMasterEndpoint { std::string url; };

// ---- division accounts (a master's key) ----
struct DivisionAccountTermsInput {
  DivisionLimits limits;
  DivisionMerchantRules rules;
  std::optional<Instant> valid_from, valid_until;
  std::optional<std::int64_t> approval_threshold_minor;
  std::int64_t approval_timeout_ms = 600'000;
};
// The API checked the password against the policy (CheckDivisionPassword) and hashed it.
struct IssueDivisionAccount {
  std::string label, sealed_holder_name, sealed_phone;
  std::string password_hash;
  DivisionAccountTermsInput terms;
};
struct ListDivisionAccounts {};
struct GetDivisionAccount { std::string id; };
// PATCH: absent fields are left as they are; `clear_*` removes an optional term.
struct UpdateDivisionAccount {
  std::string id;
  std::optional<std::string> label{};
  std::optional<DivisionLimits> limits{};  // replaces all three
  std::optional<DivisionMerchantRules> rules{};
  std::optional<std::optional<Instant>> valid_from{}, valid_until{};
  std::optional<std::optional<std::int64_t>> approval_threshold_minor{};
  std::optional<std::int64_t> approval_timeout_ms{};
};
enum class DivisionAccountAction { kFreeze, kUnfreeze, kUnlock, kClose };
struct ChangeDivisionAccount {
  std::string id;
  DivisionAccountAction action = DivisionAccountAction::kFreeze;
};
// A new password (policy checked and hashed by the API): generation + 1, lock and failures cleared.
struct ResetDivisionPassword { std::string id, password_hash; };
// Payments of one account (or, `account` empty, of all the master's) authorised or created in
// [from, to), oldest first, at most `limit`.
struct GetDivisionStatement {
  std::string account;
  Instant from{}, to{};
  int limit = 1000;
};
inline constexpr int kMaxStatementItems = 10'000;
// The master's notifications (division_account.locked, division_approval.requested,
// division_payment.*) in write order after `after_seq`, at most `limit` (1 to 500): read from the
// tables, so the engine puts it aside while they are behind, as it does ListEvents.
struct ListMasterEvents {
  std::int64_t after_seq = 0;
  int limit = 100;
};
// Pending approvals first, then the latest decided, at most 100.
struct ListDivisionApprovals {};
struct DecideDivisionApproval {
  std::string id;
  bool approve = false;
};

// ---- payments ----
// A merchant's (checkout key). Idempotent by order id: the same order with the same
// `request_fingerprint` answers the existing payment (created false), another is kOrderIdConflict.
struct CreateDivisionPayment {
  std::string order_id;
  Money amount{0, Currency::Krw()};
  std::string return_url;         // checked by the API
  std::string page_token_digest;  // SHA-256 hex of the page token the API drew
  std::string sealed_result_key;
  std::string request_fingerprint;
};
struct GetDivisionPayment { std::string id; };
// What the payment page shows; the relay itself, with the page token's digest.
struct GetDivisionPaymentPage { std::string id, page_token_digest; };
// The password hash to check the dependant's password against, or why step 1 already declines
// (the API then submits AuthorizeDivisionPayment with password_ok false, which records it).
struct GetDivisionPaymentForAuthorization { std::string payment, number, page_token_digest; };
// The verdict of the password check (argon2id off the engine thread) at `password_generation`:
// the checks run in one step (docs/division-accounts.md, "Check order").
struct AuthorizeDivisionPayment {
  std::string payment, number, page_token_digest;
  bool password_ok = false;
  std::int64_t password_generation = 0;
};
// A merchant's refund of at most what is left (paid less refunded and refunds under way).
struct RefundDivisionPayment {
  std::string payment;
  Money amount{0, Currency::Krw()};
};

// Admin: a merchant's category and whether it may authorise with its own key.
struct SetMerchantDivision {
  std::string merchant;
  std::optional<MerchantCategory> category;
  std::optional<bool> division_direct;
};

using DivisionCommand =
    std::variant<EnrolMaster, GetMasterLogin, CreateMasterSession, RevokeMasterSession, CreateMasterToken, GetMaster,
                 SetMasterEndpoint, IssueDivisionAccount, ListDivisionAccounts, GetDivisionAccount,
                 UpdateDivisionAccount, ChangeDivisionAccount, ResetDivisionPassword, GetDivisionStatement,
                 ListDivisionApprovals, DecideDivisionApproval, CreateDivisionPayment, GetDivisionPayment,
                 GetDivisionPaymentPage, GetDivisionPaymentForAuthorization, AuthorizeDivisionPayment,
                 RefundDivisionPayment, SetMerchantDivision, ListMasterEvents>;

// ---- answers ----
struct MasterView {
  Master master;  // password_hash blanked
  std::string endpoint_secret;  // SetMasterEndpoint creating the endpoint: shown once
};
struct MasterLogin {
  std::string master;
  MasterStatus status = MasterStatus::kActive;
  std::string password_hash;
  std::int64_t password_generation = 0;
};
struct MasterKeyIssued {
  ApiKey key;
  std::string token;  // shown once: "vms_..." for a session, "vmt_..." for an app token
};
struct DivisionAccountView {
  DivisionAccount account;  // password_hash blanked
  std::int64_t spent_today_minor = 0;       // held in today's Seoul day
  std::int64_t spent_this_month_minor = 0;  // and month
};
struct DivisionAccountList { std::vector<DivisionAccountView> items; };
struct DivisionPaymentView {
  DivisionPayment payment;
  bool created = false;
  std::string refund_transfer;  // RefundDivisionPayment: the transfer under way
  int attempts_left = 0;  // a wrong password's: the wrong ones the account takes before it locks
};
struct DivisionPaymentPage {
  DivisionPayment payment;
  std::string merchant_name;
};
// GetDivisionPaymentForAuthorization: the hash to check, or the decline step 1 gives.
struct DivisionCredentials {
  std::optional<DeclineReason> decline;
  std::string password_hash;
  std::int64_t password_generation = 0;
};
struct DivisionApprovalList { std::vector<DivisionApproval> items; };
struct DivisionStatement { std::vector<DivisionPayment> items; };
struct MasterEvents { std::vector<Event> items; };

using DivisionOutcome =
    std::variant<MasterView, MasterLogin, MasterKeyIssued, DivisionAccountView, DivisionAccountList,
                 DivisionPaymentView, DivisionPaymentPage, DivisionCredentials, DivisionApproval,
                 DivisionApprovalList, DivisionStatement, Merchant, MasterEvents>;

}  // namespace varelay
