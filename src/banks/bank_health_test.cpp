// Proves the per-bank circuit breaker: it opens after the threshold of consecutive failures,
// refuses calls while open, lets exactly one probe through after the wait, and closes on a
// successful probe or re-opens on a failed one; a success in between resets the count.
#include "banks/bank_health.h"

#include <gtest/gtest.h>

namespace varelay::banks {
namespace {

using namespace std::chrono_literals;

TEST(CircuitBreaker, OpensProbesAndCloses) {
  CircuitBreaker b({3, Millis(10s)});
  Instant t = FromUnixMs(1'000'000);
  b.Record(false, t);
  b.Record(false, t);
  b.Record(true, t);  // resets the run
  b.Record(false, t);
  b.Record(false, t);
  EXPECT_TRUE(b.Allow(t));
  b.Record(false, t);  // third in a row
  EXPECT_EQ(b.State(t), BreakerState::kOpen);
  EXPECT_FALSE(b.Allow(t + 9s));
  EXPECT_EQ(b.State(t + 10s), BreakerState::kHalfOpen);
  EXPECT_TRUE(b.Allow(t + 10s));   // the probe
  EXPECT_FALSE(b.Allow(t + 10s));  // only one
  b.Record(false, t + 11s);        // failed probe: open again for another wait
  EXPECT_FALSE(b.Allow(t + 20s));
  EXPECT_TRUE(b.Allow(t + 21s));
  b.Record(true, t + 21s);
  EXPECT_EQ(b.State(t + 21s), BreakerState::kClosed);
  EXPECT_TRUE(b.Allow(t + 21s));
}

TEST(BankHealth, CountsPerBank) {
  BankHealth health({1, Millis(5s)});
  Instant t = FromUnixMs(0);
  health.Record("004", true, t);
  health.Record("088", false, t);
  EXPECT_TRUE(health.Allow("004", t));
  EXPECT_FALSE(health.Allow("088", t));
  auto rows = health.Rows(t);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].bank, "004");
  EXPECT_EQ(rows[0].ok, 1u);
  EXPECT_EQ(rows[1].state, BreakerState::kOpen);
  EXPECT_EQ(rows[1].failed, 1u);
  EXPECT_EQ(rows[1].refused, 1u);
}

}  // namespace
}  // namespace varelay::banks
