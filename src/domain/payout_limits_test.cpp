// Proves the pay-out rules: the per-transfer and daily caps and the allow-list refuse what they
// should and nothing else, the day is Seoul's, and a day's sums hold one day and release refusals.
#include "domain/payout_limits.h"

#include <gtest/gtest.h>

namespace varelay {
namespace {

const PayoutRecipient kKim{"004", "11112222333"};

TEST(PayoutLimitsTest, CapsAreInclusiveAndTheDailyOneCountsWhatIsHeld) {
  PayoutPolicy p;
  p.per_transfer_max_minor = 1000;
  p.daily_max_minor = 2500;
  EXPECT_EQ(CheckPayout(p, 1000, 0, kKim), std::nullopt);
  EXPECT_EQ(CheckPayout(p, 1001, 0, kKim), PayoutRefusal::kOverPerTransferLimit);
  EXPECT_EQ(CheckPayout(p, 1000, 1500, kKim), std::nullopt);
  EXPECT_EQ(CheckPayout(p, 1000, 1501, kKim), PayoutRefusal::kOverDailyLimit);
}

TEST(PayoutLimitsTest, DefaultsAreSetAndAnEmptyAllowListAllowsAnyone) {
  PayoutPolicy p;
  EXPECT_EQ(p.per_transfer_max_minor, kDefaultPayoutPerTransferMaxMinor);
  EXPECT_EQ(p.daily_max_minor, kDefaultPayoutDailyMaxMinor);
  EXPECT_EQ(CheckPayout(p, 1, 0, {"088", "1"}), std::nullopt);
}

TEST(PayoutLimitsTest, AnAllowListAdmitsOnlyItsPairs) {
  PayoutPolicy p;
  p.recipients = {{"004", "11112222333"}, {"088", "99990000"}};
  EXPECT_EQ(CheckPayout(p, 1, 0, kKim), std::nullopt);
  EXPECT_EQ(CheckPayout(p, 1, 0, {"088", "11112222333"}), PayoutRefusal::kRecipientNotAllowed) << "same account, other bank";
  EXPECT_EQ(CheckPayout(p, 1, 0, {"004", "1111222233"}), PayoutRefusal::kRecipientNotAllowed);
  EXPECT_EQ(CheckPayout(p, kDefaultPayoutPerTransferMaxMinor + 1, 0, {"088", "99990000"}),
            PayoutRefusal::kOverPerTransferLimit);
}

TEST(PayoutLimitsTest, TheDayIsSeouls) {
  using namespace std::chrono;
  // 14:59:59.999 UTC is still the same day in Seoul (23:59:59.999); 15:00 UTC is the next.
  EXPECT_EQ(SeoulDay(*ParseRfc3339("2026-12-07T14:59:59.999Z")), year_month_day(2026y / December / 7));
  EXPECT_EQ(SeoulDay(*ParseRfc3339("2026-12-07T15:00:00Z")), year_month_day(2026y / December / 8));
  EXPECT_EQ(SeoulDayStart(2026y / December / 8), *ParseRfc3339("2026-12-07T15:00:00Z"));
}

TEST(PayoutLimitsTest, ADaysSumsHoldOneDayAndReleaseRefusals) {
  using namespace std::chrono;
  PayoutDay day;
  const year_month_day d7 = 2026y / December / 7, d8 = 2026y / December / 8;
  day.Reserve("shop", d7, 700);
  day.Reserve("shop", d7, 300);
  day.Reserve("other", d7, 5);
  EXPECT_EQ(day.Used("shop", d7), 1000);
  day.Release("shop", d7, 300);
  EXPECT_EQ(day.Used("shop", d7), 700);
  day.Reserve("shop", d8, 100);
  EXPECT_EQ(day.Used("shop", d8), 100) << "a new day starts at zero";
  EXPECT_EQ(day.Used("other", d8), 0);
  day.Release("shop", d7, 700);  // a refusal of yesterday's transfer frees nothing today
  EXPECT_EQ(day.Used("shop", d8), 100);
  EXPECT_EQ(day.Used("shop", d7), 0);
}

}  // namespace
}  // namespace varelay
