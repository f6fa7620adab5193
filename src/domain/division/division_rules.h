// Division accounts' pure rules (docs/division-accounts.md, "Rules"): numbers, passwords, limits
// per Asia/Seoul day and month, merchant rules, the validity window and the order the checks of an
// authorisation run in, each with its stable decline reason. No clock, no randomness of its own:
// time and random digits are passed in. The engine (engine/division_book.h) holds the state and
// applies these under its single writer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/time.h"

namespace varelay {

// ---- numbers -------------------------------------------------------------------------------

// A division account's number: 16 digits, "94", 13 random digits, a Luhn check digit.
inline constexpr std::string_view kDivisionNumberPrefix = "94";
inline constexpr std::size_t kDivisionNumberLength = 16;

// The Luhn check digit ('0'..'9') that completes `payload` (digits only).
char LuhnCheckDigit(std::string_view payload);
// A new number from `random_digit`, which returns a uniformly drawn digit 0..9 each call (the
// engine injects its generator; tests a fixed sequence). The caller checks it is not in use.
std::string IssueDivisionNumber(const std::function<int()>& random_digit);
// 16 digits, prefix 94, and its Luhn digit right: a number IssueDivisionNumber could have made.
bool IsDivisionNumber(std::string_view s);
// 16 digits starting with 94, Luhn right or not: never loaded as a virtual account number
// (LoadNumbers skips it as `reserved_number`), so a virtual account and a division account are
// never mistaken for each other.
bool IsReservedVirtualAccountNumber(std::string_view s);

// ---- passwords -----------------------------------------------------------------------------

// Which rule a password broke (reported in `weak_password`'s field). A password is either a PIN
// of 6 to 12 digits or a passphrase of 10 to 64 characters with a letter and a non-letter.
enum class PasswordRule {
  kLength,              // a PIN not 6..12 digits, a passphrase not 10..64 characters
  kLetterAndNonLetter,  // a passphrase without a letter or without a non-letter
  kAllSameDigit,        // 111111
  kSequentialDigits,    // 123456, 987654
  kPhoneDigits,         // the dependant's phone digits (a PIN within them, or a phrase holding them)
};
std::string_view PasswordRuleName(PasswordRule rule);
inline constexpr std::size_t kMinPinDigits = 6, kMaxPinDigits = 12;
inline constexpr std::size_t kMinPassphraseChars = 10, kMaxPassphraseChars = 64;
// nullopt: acceptable. `phone_digits` is the dependant's phone number's digits (empty: none).
// Characters are UTF-8 code points; any non-ASCII one counts as a letter (Hangul, say).
std::optional<PasswordRule> CheckDivisionPassword(std::string_view password, std::string_view phone_digits);

// ---- merchants -----------------------------------------------------------------------------

// A merchant's category, set by an operator; an account may deny some.
enum class MerchantCategory {
  kGeneral, kFood, kEducation, kBooks, kTransport, kGames, kAlcohol, kTobacco, kGambling, kAdult, kOther,
};
inline constexpr int kMerchantCategoryCount = 11;
std::string_view MerchantCategoryName(MerchantCategory category);
std::optional<MerchantCategory> ParseMerchantCategory(std::string_view name);

// ---- decline reasons -----------------------------------------------------------------------

// Why a division payment was declined, in the order the checks run (the design's order; the
// values are stored: append only).
enum class DeclineReason {
  kAccountNotFound, kAccountClosed, kAccountFrozen, kAccountLocked, kAccountNotYetValid, kAccountExpired,
  kWrongPassword,
  kMerchantNotAllowed, kCategoryDenied,
  kOverPaymentLimit, kOverDailyLimit, kOverMonthlyLimit,
  kApprovalDeclined, kApprovalTimedOut,
  kInsufficientFunds, kOverConsentCeiling, kBankRefused, kConsentMissing,
};
inline constexpr int kDeclineReasonCount = 18;
std::string_view DeclineReasonName(DeclineReason reason);
std::optional<DeclineReason> ParseDeclineReason(std::string_view name);

// ---- limits --------------------------------------------------------------------------------

// The Asia/Seoul calendar month `at` falls in (UTC+9, no daylight saving). SeoulDay is in
// domain/payout_limits.h.
std::chrono::year_month SeoulMonth(Instant at);

// Integer won; each optional (nullopt: no limit).
struct DivisionLimits {
  std::optional<std::int64_t> per_payment_minor, daily_minor, monthly_minor;
  friend bool operator==(const DivisionLimits&, const DivisionLimits&) = default;
};
inline constexpr std::int64_t kMaxDivisionLimitMinor = 9'999'999'999'999;

// What one account's payments hold per Seoul day and month. A payment holds its amount in the
// day and month of the instant it was authorised, from then until it is declined (Release) or
// refunded (Restore, the same); a period that has passed no longer limits anything, so a
// reservation forgets the periods before its own.
class DivisionSpending {
 public:
  std::int64_t Day(std::chrono::year_month_day day) const;
  std::int64_t Month(std::chrono::year_month month) const;
  std::int64_t DayAt(Instant at) const;
  std::int64_t MonthAt(Instant at) const;
  // Holds `amount_minor` in the day and month of `authorised_at`.
  void Reserve(Instant authorised_at, std::int64_t amount_minor);
  // Gives back what a payment authorised at `authorised_at` held (declined, or refunded in part
  // or whole); never below zero; a period forgotten changes nothing.
  void Release(Instant authorised_at, std::int64_t amount_minor);
  void Restore(Instant authorised_at, std::int64_t amount_minor) { Release(authorised_at, amount_minor); }
  // As Reserve, forgetting nothing: for recounting at start, in any order.
  void Recount(Instant authorised_at, std::int64_t amount_minor);

 private:
  std::map<std::chrono::year_month_day, std::int64_t> days_;
  std::map<std::chrono::year_month, std::int64_t> months_;
};

// The first limit a payment of `amount_minor` at `at` would pass, given what `spending` holds.
std::optional<DeclineReason> CheckLimits(const DivisionLimits& limits, const DivisionSpending& spending,
                                         Instant at, std::int64_t amount_minor);

// ---- the account's terms and the check order ------------------------------------------------

enum class DivisionAccountStatus { kActive, kFrozen, kClosed };
std::string_view DivisionAccountStatusName(DivisionAccountStatus status);
std::optional<DivisionAccountStatus> ParseDivisionAccountStatus(std::string_view name);

// Where an account may be used.
struct DivisionMerchantRules {
  std::vector<std::string> allowed_merchants;          // empty: any merchant
  std::vector<MerchantCategory> denied_categories;     // none: every category
  friend bool operator==(const DivisionMerchantRules&, const DivisionMerchantRules&) = default;
};
inline constexpr std::size_t kMaxAllowedMerchants = 100;

// What an authorisation is checked against: the account's state and terms.
struct DivisionTerms {
  DivisionAccountStatus status = DivisionAccountStatus::kActive;
  bool locked = false;
  std::optional<Instant> valid_from, valid_until;
  DivisionLimits limits;
  DivisionMerchantRules rules;
  std::optional<std::int64_t> approval_threshold_minor;  // above it: the master approves
};

// Step 1: whether the account may be used at all at `at` (`terms` null: no such number).
std::optional<DeclineReason> CheckAccountUsable(const DivisionTerms* terms, Instant at);
// Step 3.
std::optional<DeclineReason> CheckMerchant(const DivisionMerchantRules& rules, std::string_view merchant,
                                           MerchantCategory category);

struct PaymentFacts {
  std::string merchant;
  MerchantCategory category = MerchantCategory::kGeneral;
  std::int64_t amount_minor = 0;
  Instant at{};  // the authorisation's instant
};
struct Evaluation {
  std::optional<DeclineReason> decline;  // nullopt: passed steps 1 to 4 (the limits may be reserved)
  bool needs_approval = false;           // passed, and above the co-approval threshold
};
// Steps 1 to 4 of the check order, in order; step 5 (co-approval) is only flagged, step 6 is the
// bank's. `password_ok` is the verdict of the argon2id check made off the engine thread.
Evaluation Evaluate(const DivisionTerms* terms, const DivisionSpending& spending, const PaymentFacts& payment,
                    bool password_ok);

// Consecutive wrong passwords that lock an account.
inline constexpr int kDivisionLockAfterFailures = 5;

}  // namespace varelay
