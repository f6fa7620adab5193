#include "domain/ledger.h"

#include <gtest/gtest.h>

namespace varelay {
namespace {

Deposit SplitDeposit() {
  Deposit d;
  d.id = "dep_1";
  d.bank = "004";
  d.merchant = "shop";
  d.amount = Money(1000, Currency::Krw());
  d.to_merchant_minor = 900;
  d.parked_minor = 100;
  return d;
}

// Proves a split deposit posts balanced lines and its reversal balances too.
TEST(Ledger, DepositLinesBalanceAndReverse) {
  auto lines = DepositLines(SplitDeposit());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_TRUE(IsBalanced(lines));
  EXPECT_EQ(lines[0].account, "bank/004/clearing");
  auto reversed = ReversedLines(lines);
  EXPECT_TRUE(IsBalanced(reversed));
  EXPECT_EQ(reversed[0].credit_minor, 1000);
}

// Proves the verifier accepts an intact chain and names the first tampered entry.
TEST(Ledger, ChainVerifierFindsTampering) {
  std::vector<LedgerEntry> chain;
  std::string prev(kGenesisHash);
  for (int i = 1; i <= 5; ++i) {
    chain.push_back(ChainEntry(i, prev, FromUnixMs(i * 1000), EntryKind::kDeposit, "dep_1",
                               Currency::Krw(), DepositLines(SplitDeposit())));
    prev = chain.back().hash;
  }
  ChainVerifier good;
  for (const auto& e : chain) good.Add(e);
  EXPECT_TRUE(good.ok());
  EXPECT_EQ(good.entries(), 5);

  chain[2].lines[1].credit_minor = 950;  // someone moved 50 won
  chain[2].lines[2].credit_minor = 50;
  ChainVerifier bad;
  for (const auto& e : chain) bad.Add(e);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(*bad.first_bad_seq(), 3);
}

}  // namespace
}  // namespace varelay
