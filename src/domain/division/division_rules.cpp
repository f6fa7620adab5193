#include "domain/division/division_rules.h"

#include <algorithm>
#include <array>

#include "domain/payout_limits.h"

namespace varelay {
namespace {

bool AllDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

constexpr std::array<std::string_view, kMerchantCategoryCount> kCategoryNames = {
    "general", "food", "education", "books", "transport", "games", "alcohol", "tobacco", "gambling", "adult", "other"};

constexpr std::array<std::string_view, kDeclineReasonCount> kDeclineNames = {
    "account_not_found", "account_closed", "account_frozen", "account_locked", "account_not_yet_valid",
    "account_expired", "wrong_password", "merchant_not_allowed", "category_denied", "over_payment_limit",
    "over_daily_limit", "over_monthly_limit", "approval_declined", "approval_timed_out", "insufficient_funds",
    "over_consent_ceiling", "bank_refused", "consent_missing"};

// How many code points a UTF-8 string holds, and whether a letter and a non-letter are among them.
struct CharCounts {
  std::size_t chars = 0;
  bool letter = false, non_letter = false;
};
CharCounts CountChars(std::string_view s) {
  CharCounts counts;
  for (unsigned char c : s) {
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: part of the last code point
    ++counts.chars;
    const bool letter = c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    (letter ? counts.letter : counts.non_letter) = true;
  }
  return counts;
}

bool Sequential(std::string_view digits, int step) {
  for (std::size_t i = 1; i < digits.size(); ++i) {
    if (digits[i] - digits[i - 1] != step) return false;
  }
  return true;
}

}  // namespace

// ---- numbers -------------------------------------------------------------------------------

char LuhnCheckDigit(std::string_view payload) {
  // From the right, every second digit of the payload (starting with its last) is doubled, as the
  // check digit will stand to its right.
  int sum = 0;
  bool twice = true;
  for (auto it = payload.rbegin(); it != payload.rend(); ++it) {
    int d = *it - '0';
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    twice = !twice;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

std::string IssueDivisionNumber(const std::function<int()>& random_digit) {
  std::string number(kDivisionNumberPrefix);
  while (number.size() < kDivisionNumberLength - 1) number += static_cast<char>('0' + random_digit() % 10);
  number += LuhnCheckDigit(number);
  return number;
}

bool IsReservedVirtualAccountNumber(std::string_view s) {
  return s.size() == kDivisionNumberLength && s.starts_with(kDivisionNumberPrefix) && AllDigits(s);
}

bool IsDivisionNumber(std::string_view s) {
  return IsReservedVirtualAccountNumber(s) && LuhnCheckDigit(s.substr(0, s.size() - 1)) == s.back();
}

// ---- passwords -----------------------------------------------------------------------------

std::string_view PasswordRuleName(PasswordRule rule) {
  switch (rule) {
    case PasswordRule::kLength: return "length";
    case PasswordRule::kLetterAndNonLetter: return "letter_and_non_letter";
    case PasswordRule::kAllSameDigit: return "all_same_digit";
    case PasswordRule::kSequentialDigits: return "sequential_digits";
    case PasswordRule::kPhoneDigits: return "phone_digits";
  }
  return "length";
}

std::optional<PasswordRule> CheckDivisionPassword(std::string_view password, std::string_view phone_digits) {
  // Phone numbers shorter than a PIN say nothing a guesser could use.
  const bool phone = phone_digits.size() >= kMinPinDigits;
  if (!password.empty() && AllDigits(password)) {
    if (password.size() < kMinPinDigits || password.size() > kMaxPinDigits) return PasswordRule::kLength;
    if (std::all_of(password.begin(), password.end(), [&](char c) { return c == password[0]; })) {
      return PasswordRule::kAllSameDigit;
    }
    if (Sequential(password, 1) || Sequential(password, -1)) return PasswordRule::kSequentialDigits;
    if (phone && phone_digits.find(password) != std::string_view::npos) return PasswordRule::kPhoneDigits;
    return std::nullopt;
  }
  const CharCounts counts = CountChars(password);
  if (counts.chars < kMinPassphraseChars || counts.chars > kMaxPassphraseChars) return PasswordRule::kLength;
  if (!counts.letter || !counts.non_letter) return PasswordRule::kLetterAndNonLetter;
  std::string digits;
  for (char c : password) {
    if (c >= '0' && c <= '9') digits += c;
  }
  if (phone && digits.find(phone_digits) != std::string::npos) return PasswordRule::kPhoneDigits;
  return std::nullopt;
}

// ---- names ---------------------------------------------------------------------------------

std::string_view MerchantCategoryName(MerchantCategory category) {
  return kCategoryNames[static_cast<std::size_t>(category)];
}

std::optional<MerchantCategory> ParseMerchantCategory(std::string_view name) {
  for (std::size_t i = 0; i < kCategoryNames.size(); ++i) {
    if (kCategoryNames[i] == name) return static_cast<MerchantCategory>(i);
  }
  return std::nullopt;
}

std::string_view DeclineReasonName(DeclineReason reason) { return kDeclineNames[static_cast<std::size_t>(reason)]; }

std::optional<DeclineReason> ParseDeclineReason(std::string_view name) {
  for (std::size_t i = 0; i < kDeclineNames.size(); ++i) {
    if (kDeclineNames[i] == name) return static_cast<DeclineReason>(i);
  }
  return std::nullopt;
}

std::string_view DivisionAccountStatusName(DivisionAccountStatus status) {
  switch (status) {
    case DivisionAccountStatus::kActive: return "active";
    case DivisionAccountStatus::kFrozen: return "frozen";
    case DivisionAccountStatus::kClosed: return "closed";
  }
  return "active";
}

std::optional<DivisionAccountStatus> ParseDivisionAccountStatus(std::string_view name) {
  if (name == "active") return DivisionAccountStatus::kActive;
  if (name == "frozen") return DivisionAccountStatus::kFrozen;
  if (name == "closed") return DivisionAccountStatus::kClosed;
  return std::nullopt;
}

// ---- limits --------------------------------------------------------------------------------

std::chrono::year_month SeoulMonth(Instant at) {
  const auto day = SeoulDay(at);
  return day.year() / day.month();
}

std::int64_t DivisionSpending::Day(std::chrono::year_month_day day) const {
  auto it = days_.find(day);
  return it == days_.end() ? 0 : it->second;
}

std::int64_t DivisionSpending::Month(std::chrono::year_month month) const {
  auto it = months_.find(month);
  return it == months_.end() ? 0 : it->second;
}

std::int64_t DivisionSpending::DayAt(Instant at) const { return Day(SeoulDay(at)); }
std::int64_t DivisionSpending::MonthAt(Instant at) const { return Month(SeoulMonth(at)); }

void DivisionSpending::Recount(Instant authorised_at, std::int64_t amount_minor) {
  days_[SeoulDay(authorised_at)] += amount_minor;
  months_[SeoulMonth(authorised_at)] += amount_minor;
}

void DivisionSpending::Reserve(Instant authorised_at, std::int64_t amount_minor) {
  const auto day = SeoulDay(authorised_at);
  const auto month = SeoulMonth(authorised_at);
  days_.erase(days_.begin(), days_.lower_bound(day));
  months_.erase(months_.begin(), months_.lower_bound(month));
  Recount(authorised_at, amount_minor);
}

void DivisionSpending::Release(Instant authorised_at, std::int64_t amount_minor) {
  auto give_back = [&](auto& sums, auto period) {
    auto it = sums.find(period);
    if (it == sums.end()) return;
    it->second = std::max<std::int64_t>(0, it->second - amount_minor);
    if (it->second == 0) sums.erase(it);
  };
  give_back(days_, SeoulDay(authorised_at));
  give_back(months_, SeoulMonth(authorised_at));
}

std::optional<DeclineReason> CheckLimits(const DivisionLimits& limits, const DivisionSpending& spending, Instant at,
                                         std::int64_t amount_minor) {
  if (limits.per_payment_minor && amount_minor > *limits.per_payment_minor) return DeclineReason::kOverPaymentLimit;
  if (limits.daily_minor && spending.DayAt(at) + amount_minor > *limits.daily_minor) {
    return DeclineReason::kOverDailyLimit;
  }
  if (limits.monthly_minor && spending.MonthAt(at) + amount_minor > *limits.monthly_minor) {
    return DeclineReason::kOverMonthlyLimit;
  }
  return std::nullopt;
}

// ---- the check order -----------------------------------------------------------------------

std::optional<DeclineReason> CheckAccountUsable(const DivisionTerms* terms, Instant at) {
  if (!terms) return DeclineReason::kAccountNotFound;
  if (terms->status == DivisionAccountStatus::kClosed) return DeclineReason::kAccountClosed;
  if (terms->status == DivisionAccountStatus::kFrozen) return DeclineReason::kAccountFrozen;
  if (terms->locked) return DeclineReason::kAccountLocked;
  if (terms->valid_from && at < *terms->valid_from) return DeclineReason::kAccountNotYetValid;
  if (terms->valid_until && at >= *terms->valid_until) return DeclineReason::kAccountExpired;
  return std::nullopt;
}

std::optional<DeclineReason> CheckMerchant(const DivisionMerchantRules& rules, std::string_view merchant,
                                           MerchantCategory category) {
  const auto& allowed = rules.allowed_merchants;
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), merchant) == allowed.end()) {
    return DeclineReason::kMerchantNotAllowed;
  }
  const auto& denied = rules.denied_categories;
  if (std::find(denied.begin(), denied.end(), category) != denied.end()) return DeclineReason::kCategoryDenied;
  return std::nullopt;
}

Evaluation Evaluate(const DivisionTerms* terms, const DivisionSpending& spending, const PaymentFacts& payment,
                    bool password_ok) {
  if (auto why = CheckAccountUsable(terms, payment.at)) return {why, false};
  if (!password_ok) return {DeclineReason::kWrongPassword, false};
  if (auto why = CheckMerchant(terms->rules, payment.merchant, payment.category)) return {why, false};
  if (auto why = CheckLimits(terms->limits, spending, payment.at, payment.amount_minor)) return {why, false};
  const bool above = terms->approval_threshold_minor && payment.amount_minor > *terms->approval_threshold_minor;
  return {std::nullopt, above};
}

}  // namespace varelay
