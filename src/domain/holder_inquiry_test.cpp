// Proves the outcomes keep stable names, and that the per-merchant rate limit lets a burst of its
// size through, then one more per interval, and says when.
#include "domain/holder_inquiry.h"

#include <gtest/gtest.h>

namespace varelay {
namespace {

TEST(HolderInquiryTest, OutcomesHaveStableNames) {
  for (auto o : {HolderInquiryOutcome::kAsked, HolderInquiryOutcome::kFound, HolderInquiryOutcome::kNotFound,
                 HolderInquiryOutcome::kFailed}) {
    EXPECT_EQ(ParseHolderInquiryOutcome(HolderInquiryOutcomeName(o)), o);
  }
  EXPECT_EQ(ParseHolderInquiryOutcome("nope"), std::nullopt);
}

TEST(HolderInquiryTest, TheRateLimitIsABucketPerMerchant) {
  const Instant t0 = *ParseRfc3339("2026-12-07T10:00:00Z");
  InquiryRateLimit limit(6);  // one every 10 s
  for (int i = 0; i < 6; ++i) EXPECT_EQ(limit.Take("shop", t0), std::nullopt) << i;
  auto wait = limit.Take("shop", t0);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, Millis(10'000));
  EXPECT_EQ(limit.Take("other", t0), std::nullopt) << "each merchant has its own";
  EXPECT_TRUE(limit.Take("shop", t0 + Millis(9'999)));
  EXPECT_EQ(limit.Take("shop", t0 + Millis(10'000)), std::nullopt);
  EXPECT_TRUE(limit.Take("shop", t0 + Millis(10'000)));
}

}  // namespace
}  // namespace varelay
