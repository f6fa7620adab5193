// Proves the retry schedule: the documented default, strict parsing of --webhook-retry-schedule,
// jitter within its bounds, Retry-After honoured up to its cap, and an end once the schedule is spent.
#include "notify/dispatcher.h"

#include <gtest/gtest.h>

namespace varelay::notify {
namespace {

using namespace std::chrono_literals;

const Instant kNow = FromUnixMs(1'800'000'000'000);

TEST(RetrySchedule, DefaultSpansAboutThreeDaysInThirteenAttempts) {
  auto schedule = DefaultRetrySchedule();
  EXPECT_EQ(schedule.size() + 1, 13u);
  Millis total{0};
  for (auto d : schedule) total += d;
  EXPECT_GT(total, Millis(3 * 24h));
  EXPECT_LT(total, Millis(4 * 24h));
}

TEST(RetrySchedule, ParsesUnitsAndRefusesAnythingElse) {
  auto parsed = ParseRetrySchedule("100ms,2s,3m,1h");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, (std::vector<Millis>{100ms, 2s, 3min, 1h}));
  for (const char* bad : {"", ",", "5s,", "5", "5x", "0s", "-1s", "1.5s", "8d", "200h", "5s,,5s", " 5s"}) {
    EXPECT_FALSE(ParseRetrySchedule(bad)) << bad;
  }
}

TEST(RetrySchedule, NextAttemptAppliesJitterRetryAfterAndEnds) {
  std::vector<Millis> schedule{10s, 20s};
  EXPECT_EQ(NextAttemptAt(schedule, 1, kNow, std::nullopt, 0.1, 0.0, 24h), kNow + 10s);
  EXPECT_EQ(NextAttemptAt(schedule, 1, kNow, std::nullopt, 0.1, 1.0, 24h), kNow + 11s);
  EXPECT_EQ(NextAttemptAt(schedule, 2, kNow, std::nullopt, 0.1, -1.0, 24h), kNow + 18s);
  EXPECT_EQ(NextAttemptAt(schedule, 1, kNow, 60s, 0.1, 0.0, 24h), kNow + 60s);
  EXPECT_EQ(NextAttemptAt(schedule, 1, kNow, 5s, 0.1, 0.0, 24h), kNow + 10s);  // never sooner than the schedule
  EXPECT_EQ(NextAttemptAt(schedule, 1, kNow, std::chrono::seconds(999'999), 0.1, 0.0, 1h), kNow + 1h);
  EXPECT_FALSE(NextAttemptAt(schedule, 3, kNow, std::nullopt, 0.1, 0.0, 24h));
  EXPECT_FALSE(NextAttemptAt(schedule, 0, kNow, std::nullopt, 0.1, 0.0, 24h));
}

}  // namespace
}  // namespace varelay::notify
