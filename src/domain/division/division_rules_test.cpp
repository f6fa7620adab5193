// Proves the division accounts' pure rules: numbers (prefix, Luhn, the reserved range), the
// password policy naming the rule broken, limits per Asia/Seoul day and month at their
// boundaries, merchant rules, the validity window, and that Evaluate applies the design's order.
#include "domain/division/division_rules.h"

#include <gtest/gtest.h>

#include "domain/payout_limits.h"

namespace varelay {
namespace {

Instant Utc(int y, unsigned m, unsigned d, int h, int min = 0, int s = 0) {
  using namespace std::chrono;
  return time_point_cast<Millis>(sys_days(year(y) / month(m) / day(d)) + hours(h) + minutes(min) + seconds(s));
}
// 00:00:00 Seoul on that date is 15:00 UTC the day before.
Instant SeoulMidnight(int y, unsigned m, unsigned d) { return Utc(y, m, d, 0) - std::chrono::hours(9); }

TEST(DivisionNumberTest, IssuedNumbersArePrefixedSixteenDigitsWithTheirLuhnDigit) {
  int next = 0;
  auto digits = [&] { return next++ % 10; };
  const std::string n = IssueDivisionNumber(digits);
  EXPECT_EQ(n.size(), 16u);
  EXPECT_TRUE(n.starts_with("94"));
  EXPECT_EQ(n.substr(2, 13), "0123456789012");
  EXPECT_TRUE(IsDivisionNumber(n));
  std::string wrong = n;
  wrong.back() = static_cast<char>('0' + (wrong.back() - '0' + 1) % 10);
  EXPECT_FALSE(IsDivisionNumber(wrong));
  EXPECT_TRUE(IsReservedVirtualAccountNumber(wrong));
}

TEST(DivisionNumberTest, LuhnMatchesTheKnownExample) {
  EXPECT_EQ(LuhnCheckDigit("7992739871"), '3');  // the textbook 79927398713
  EXPECT_EQ(LuhnCheckDigit("453201511283036"), '6');
}

TEST(DivisionNumberTest, OnlySixteenDigitsStartingWith94AreReserved) {
  EXPECT_TRUE(IsReservedVirtualAccountNumber("9400000000000000"));
  EXPECT_FALSE(IsReservedVirtualAccountNumber("940000000000000"));    // 15
  EXPECT_FALSE(IsReservedVirtualAccountNumber("94000000000000000"));  // 17
  EXPECT_FALSE(IsReservedVirtualAccountNumber("9300000000000000"));
  EXPECT_FALSE(IsReservedVirtualAccountNumber("94000000000000a0"));
  EXPECT_FALSE(IsDivisionNumber("9300000000000000"));
}

TEST(DivisionPasswordTest, EachRuleIsNamed) {
  EXPECT_EQ(CheckDivisionPassword("402918", ""), std::nullopt);
  EXPECT_EQ(CheckDivisionPassword("40291", ""), PasswordRule::kLength);
  EXPECT_EQ(CheckDivisionPassword("4029184029184", ""), PasswordRule::kLength);  // 13 digits
  EXPECT_EQ(CheckDivisionPassword("777777", ""), PasswordRule::kAllSameDigit);
  EXPECT_EQ(CheckDivisionPassword("123456", ""), PasswordRule::kSequentialDigits);
  EXPECT_EQ(CheckDivisionPassword("987654", ""), PasswordRule::kSequentialDigits);
  EXPECT_EQ(CheckDivisionPassword("56781234", "01056781234"), PasswordRule::kPhoneDigits);
  EXPECT_EQ(CheckDivisionPassword("short-1", ""), PasswordRule::kLength);
  EXPECT_EQ(CheckDivisionPassword("onlyletterswords", ""), PasswordRule::kLetterAndNonLetter);
  EXPECT_EQ(CheckDivisionPassword("!!!!!!!!!!", ""), PasswordRule::kLetterAndNonLetter);
  EXPECT_EQ(CheckDivisionPassword("blue horse 7", ""), std::nullopt);
  EXPECT_EQ(CheckDivisionPassword("call 010-5678-1234", "01056781234"), PasswordRule::kPhoneDigits);
  EXPECT_EQ(CheckDivisionPassword(std::string(65, 'a') + "1", ""), PasswordRule::kLength);
  EXPECT_EQ(CheckDivisionPassword("\xED\x95\x9C\xEA\xB8\x80 \xED\x95\x9C\xEA\xB8\x80 1234", ""), std::nullopt);
  EXPECT_EQ(PasswordRuleName(PasswordRule::kPhoneDigits), "phone_digits");
}

TEST(DivisionLimitsTest, TheDayIsSeoulsAndEndsAtMidnightThere) {
  DivisionSpending spending;
  const Instant last_second = SeoulMidnight(2027, 3, 10) - std::chrono::seconds(1);  // 23:59:59 KST on the 9th
  spending.Reserve(last_second, 7000);
  DivisionLimits limits{std::nullopt, 10'000, std::nullopt};
  EXPECT_EQ(CheckLimits(limits, spending, last_second, 3000), std::nullopt);
  EXPECT_EQ(CheckLimits(limits, spending, last_second, 3001), DeclineReason::kOverDailyLimit);
  // One second later it is the 10th in Seoul: the 9th's payments no longer count.
  EXPECT_EQ(CheckLimits(limits, spending, SeoulMidnight(2027, 3, 10), 10'000), std::nullopt);
}

TEST(DivisionLimitsTest, TheMonthTurnsAtSeoulMidnightOnTheFirst) {
  DivisionSpending spending;
  const Instant jan31 = SeoulMidnight(2027, 2, 1) - std::chrono::seconds(1);
  spending.Reserve(jan31, 9000);
  DivisionLimits limits{std::nullopt, std::nullopt, 10'000};
  EXPECT_EQ(CheckLimits(limits, spending, jan31, 1001), DeclineReason::kOverMonthlyLimit);
  EXPECT_EQ(CheckLimits(limits, spending, SeoulMidnight(2027, 2, 1), 10'000), std::nullopt);
  EXPECT_EQ(SeoulMonth(jan31), std::chrono::year(2027) / std::chrono::January);
  // 15:00 UTC on 31 January is already February in Seoul.
  EXPECT_EQ(SeoulMonth(Utc(2027, 1, 31, 15)), std::chrono::year(2027) / std::chrono::February);
}

TEST(DivisionLimitsTest, LeapDayIsADayOfItsOwnInFebruary) {
  DivisionSpending spending;
  const Instant leap = SeoulMidnight(2028, 2, 29) + std::chrono::hours(12);
  spending.Reserve(leap, 5000);
  EXPECT_EQ(spending.Day(std::chrono::year(2028) / 2 / 29), 5000);
  EXPECT_EQ(spending.Month(std::chrono::year(2028) / 2), 5000);
  EXPECT_EQ(spending.DayAt(SeoulMidnight(2028, 3, 1)), 0);
  EXPECT_EQ(spending.MonthAt(SeoulMidnight(2028, 3, 1)), 0);
  EXPECT_EQ(spending.MonthAt(SeoulMidnight(2028, 3, 1) - std::chrono::milliseconds(1)), 5000);
}

TEST(DivisionLimitsTest, ReleaseAndRestoreGiveBackToThePaymentsOwnPeriods) {
  DivisionSpending spending;
  const Instant day1 = Utc(2027, 5, 10, 3);
  spending.Reserve(day1, 4000);
  spending.Reserve(day1, 2000);
  spending.Release(day1, 2000);  // declined
  EXPECT_EQ(spending.DayAt(day1), 4000);
  spending.Restore(day1, 1500);  // refunded in part
  EXPECT_EQ(spending.DayAt(day1), 2500);
  EXPECT_EQ(spending.MonthAt(day1), 2500);
  // The next day's payment forgets the past day; a refund of it then changes nothing today.
  const Instant day2 = day1 + std::chrono::days(1);
  spending.Reserve(day2, 1000);
  spending.Restore(day1, 2500);
  EXPECT_EQ(spending.DayAt(day2), 1000);
  EXPECT_EQ(spending.MonthAt(day2), 1000);  // the month's sum gave the refund back
  spending.Release(day2, 5000);
  EXPECT_EQ(spending.DayAt(day2), 0);  // never below zero
}

TEST(DivisionRulesTest, MerchantAllowListAndCategoryDenyList) {
  DivisionMerchantRules rules;
  EXPECT_EQ(CheckMerchant(rules, "shop", MerchantCategory::kGames), std::nullopt);
  rules.denied_categories = {MerchantCategory::kGames, MerchantCategory::kAlcohol};
  EXPECT_EQ(CheckMerchant(rules, "shop", MerchantCategory::kGames), DeclineReason::kCategoryDenied);
  rules.allowed_merchants = {"school"};
  EXPECT_EQ(CheckMerchant(rules, "shop", MerchantCategory::kBooks), DeclineReason::kMerchantNotAllowed);
  EXPECT_EQ(CheckMerchant(rules, "school", MerchantCategory::kBooks), std::nullopt);
  EXPECT_EQ(ParseMerchantCategory("gambling"), MerchantCategory::kGambling);
  EXPECT_EQ(ParseMerchantCategory("casino"), std::nullopt);
}

TEST(DivisionRulesTest, ValidityWindowIsFromInclusiveUntilExclusive) {
  DivisionTerms t;
  t.valid_from = Utc(2027, 1, 1, 0);
  t.valid_until = Utc(2027, 2, 1, 0);
  EXPECT_EQ(CheckAccountUsable(&t, Utc(2026, 12, 31, 23, 59, 59)), DeclineReason::kAccountNotYetValid);
  EXPECT_EQ(CheckAccountUsable(&t, Utc(2027, 1, 1, 0)), std::nullopt);
  EXPECT_EQ(CheckAccountUsable(&t, Utc(2027, 2, 1, 0)), DeclineReason::kAccountExpired);
}

TEST(DivisionRulesTest, EvaluateAppliesTheDesignsOrder) {
  DivisionSpending spending;
  const Instant now = Utc(2027, 4, 1, 3);
  PaymentFacts p{"shop", MerchantCategory::kGames, 5000, now};
  EXPECT_EQ(Evaluate(nullptr, spending, p, true).decline, DeclineReason::kAccountNotFound);
  DivisionTerms t;
  t.status = DivisionAccountStatus::kClosed;
  t.locked = true;
  EXPECT_EQ(Evaluate(&t, spending, p, false).decline, DeclineReason::kAccountClosed);
  t.status = DivisionAccountStatus::kFrozen;
  EXPECT_EQ(Evaluate(&t, spending, p, false).decline, DeclineReason::kAccountFrozen);
  t.status = DivisionAccountStatus::kActive;
  EXPECT_EQ(Evaluate(&t, spending, p, false).decline, DeclineReason::kAccountLocked);
  t.locked = false;
  t.valid_from = now + std::chrono::hours(1);
  EXPECT_EQ(Evaluate(&t, spending, p, false).decline, DeclineReason::kAccountNotYetValid);
  t.valid_from.reset();
  t.valid_until = now;
  EXPECT_EQ(Evaluate(&t, spending, p, false).decline, DeclineReason::kAccountExpired);
  t.valid_until.reset();
  t.rules.allowed_merchants = {"school"};
  t.rules.denied_categories = {MerchantCategory::kGames};
  t.limits.per_payment_minor = 100;
  EXPECT_EQ(Evaluate(&t, spending, p, false).decline, DeclineReason::kWrongPassword);
  EXPECT_EQ(Evaluate(&t, spending, p, true).decline, DeclineReason::kMerchantNotAllowed);
  t.rules.allowed_merchants.clear();
  EXPECT_EQ(Evaluate(&t, spending, p, true).decline, DeclineReason::kCategoryDenied);
  t.rules.denied_categories.clear();
  EXPECT_EQ(Evaluate(&t, spending, p, true).decline, DeclineReason::kOverPaymentLimit);
  t.limits = {std::nullopt, 4000, 3000};
  EXPECT_EQ(Evaluate(&t, spending, p, true).decline, DeclineReason::kOverDailyLimit);
  t.limits = {std::nullopt, 9000, 3000};
  EXPECT_EQ(Evaluate(&t, spending, p, true).decline, DeclineReason::kOverMonthlyLimit);
  t.limits = {};
  t.approval_threshold_minor = 5000;
  EXPECT_FALSE(Evaluate(&t, spending, p, true).needs_approval);  // at the threshold: no approval
  t.approval_threshold_minor = 4999;
  auto e = Evaluate(&t, spending, p, true);
  EXPECT_EQ(e.decline, std::nullopt);
  EXPECT_TRUE(e.needs_approval);
}

TEST(DivisionRulesTest, DeclineReasonsHaveTheDesignsNamesInItsOrder) {
  const char* names[] = {"account_not_found", "account_closed", "account_frozen", "account_locked",
                         "account_not_yet_valid", "account_expired", "wrong_password", "merchant_not_allowed",
                         "category_denied", "over_payment_limit", "over_daily_limit", "over_monthly_limit",
                         "approval_declined", "approval_timed_out", "insufficient_funds", "over_consent_ceiling",
                         "bank_refused", "consent_missing"};
  for (int i = 0; i < kDeclineReasonCount; ++i) {
    EXPECT_EQ(DeclineReasonName(static_cast<DeclineReason>(i)), names[i]);
    EXPECT_EQ(ParseDeclineReason(names[i]), static_cast<DeclineReason>(i));
  }
}

}  // namespace
}  // namespace varelay
