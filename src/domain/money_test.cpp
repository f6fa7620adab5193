#include "domain/money.h"

#include <gtest/gtest.h>

namespace varelay {
namespace {

// Proves ISO 4217 exponents are known and unknown codes are refused.
TEST(Currency, KnowsExponentsAndRefusesUnknownCodes) {
  EXPECT_EQ(Currency::FromCode("KRW")->exponent(), 0);
  EXPECT_EQ(Currency::FromCode("USD")->exponent(), 2);
  EXPECT_EQ(Currency::FromCode("KWD")->exponent(), 3);
  EXPECT_FALSE(Currency::FromCode("XXX"));
  EXPECT_FALSE(Currency::FromCode("krw"));
  EXPECT_FALSE(Currency::FromCode(""));
}

// Proves decimal strings convert exactly to minor units and excess precision is refused.
TEST(Money, ParsesDecimalAmountsExactly) {
  auto chf = *Currency::FromCode("CHF");
  EXPECT_EQ(ParseDecimalAmount("1234.50", chf).value(), 123450);
  EXPECT_EQ(ParseDecimalAmount("12.50000", chf).value(), 1250);
  EXPECT_EQ(ParseDecimalAmount("7", chf).value(), 700);
  EXPECT_FALSE(ParseDecimalAmount("1.005", chf));
  EXPECT_FALSE(ParseDecimalAmount("-1", chf));
  EXPECT_FALSE(ParseDecimalAmount("1e3", chf));
  EXPECT_FALSE(ParseDecimalAmount(".5", chf));
  EXPECT_FALSE(ParseDecimalAmount("5.", chf));
  EXPECT_FALSE(ParseDecimalAmount("99999999999999999999", chf));
  EXPECT_EQ(ParseDecimalAmount("15000", Currency::Krw()).value(), 15000);
  EXPECT_FALSE(ParseDecimalAmount("15000.5", Currency::Krw()));
}

// Proves formatting is the inverse of parsing.
TEST(Money, FormatsWithTheCurrencyExponent) {
  auto usd = *Currency::FromCode("USD");
  EXPECT_EQ(FormatDecimalAmount(5, usd), "0.05");
  EXPECT_EQ(FormatDecimalAmount(123450, usd), "1234.50");
  EXPECT_EQ(FormatDecimalAmount(15000, Currency::Krw()), "15000");
}

// Proves zero, negative and oversized amounts are refused with invalid_amount.
TEST(Money, ChecksPositiveBoundedAmounts) {
  EXPECT_TRUE(CheckPositiveAmount(1, "amount"));
  EXPECT_TRUE(CheckPositiveAmount(kMaxAmountMinor, "amount"));
  EXPECT_EQ(CheckPositiveAmount(0, "amount").error().code, ErrorCode::kInvalidAmount);
  EXPECT_EQ(CheckPositiveAmount(-5, "amount").error().code, ErrorCode::kInvalidAmount);
  EXPECT_EQ(CheckPositiveAmount(kMaxAmountMinor + 1, "amount").error().field, "amount");
}

}  // namespace
}  // namespace varelay
