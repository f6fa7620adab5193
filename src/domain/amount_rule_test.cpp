#include "domain/amount_rule.h"

#include <gtest/gtest.h>

namespace varelay {
namespace {

Expectation Expect(AmountRule rule, std::int64_t amount, std::int64_t paid = 0) {
  return Expectation{rule, amount, paid};
}

// Proves the exact rule takes only the order's amount and parks anything else whole.
TEST(AmountRule, ExactMatchesOnlyTheAmount) {
  auto e = Expect({AmountRuleKind::kExact}, 15000);
  EXPECT_TRUE(AcceptsAmount(e, 15000));
  EXPECT_FALSE(AcceptsAmount(e, 15001));
  auto a = Allocate(e, 14000);
  EXPECT_EQ(a.outcome, DepositOutcome::kAmountMismatch);
  EXPECT_EQ(a.to_suspense_minor, 14000);
  EXPECT_FALSE(a.completes_order);
  EXPECT_EQ(Allocate(e, 15000).outcome, DepositOutcome::kMatched);
}

// Proves the range rule is inclusive at both ends.
TEST(AmountRule, RangeIsInclusive) {
  auto e = Expect({AmountRuleKind::kRange, 100, 200}, 150);
  EXPECT_TRUE(AcceptsAmount(e, 100));
  EXPECT_TRUE(AcceptsAmount(e, 200));
  EXPECT_FALSE(AcceptsAmount(e, 201));
  EXPECT_TRUE(Allocate(e, 200).completes_order);
}

// Proves accumulate books partials, completes on the total and splits or parks an overpayment.
TEST(AmountRule, AccumulateSplitsOrParksOverpayment) {
  AmountRule refuse{AmountRuleKind::kAccumulate, 0, 0, Overpayment::kRefuse};
  AmountRule park{AmountRuleKind::kAccumulate, 0, 0, Overpayment::kPark};
  EXPECT_EQ(Allocate(Expect(refuse, 1000), 400).outcome, DepositOutcome::kPartial);
  EXPECT_EQ(Allocate(Expect(refuse, 1000, 400), 600).outcome, DepositOutcome::kMatched);
  EXPECT_FALSE(AcceptsAmount(Expect(refuse, 1000, 400), 700));
  EXPECT_EQ(Allocate(Expect(refuse, 1000, 400), 700).to_suspense_minor, 700);
  EXPECT_TRUE(AcceptsAmount(Expect(park, 1000, 400), 700));
  auto over = Allocate(Expect(park, 1000, 400), 700);
  EXPECT_EQ(over.outcome, DepositOutcome::kOverpaid);
  EXPECT_EQ(over.to_merchant_minor, 600);
  EXPECT_EQ(over.to_suspense_minor, 100);
  EXPECT_TRUE(over.completes_order);
}

// Proves no allocation ever loses or invents money, for every rule and amount tried.
TEST(AmountRule, AllocationConservesMoney) {
  for (auto kind : {AmountRuleKind::kExact, AmountRuleKind::kRange, AmountRuleKind::kOpen,
                    AmountRuleKind::kAccumulate}) {
    for (auto over : {Overpayment::kRefuse, Overpayment::kPark}) {
      for (std::int64_t amount : {1, 99, 100, 500, 1000, 1001, 5000}) {
        for (std::int64_t paid : {0, 300, 999}) {
          auto a = Allocate(Expect({kind, 100, 1000, over}, 1000, paid), amount);
          EXPECT_EQ(a.to_merchant_minor + a.to_suspense_minor, amount);
          EXPECT_GE(a.to_merchant_minor, 0);
          EXPECT_GE(a.to_suspense_minor, 0);
        }
      }
    }
  }
}

}  // namespace
}  // namespace varelay
