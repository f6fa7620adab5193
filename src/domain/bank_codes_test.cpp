// Proves a refused transfer's response code, from a telegram or a JSON bank, gives the division
// payment decline reason the design names, and a success code gives none.
#include "domain/bank_codes.h"

#include <gtest/gtest.h>

namespace varelay {
namespace {

TEST(DivisionDeclineFor, MapsBothProtocolsCodes) {
  EXPECT_EQ(DivisionDeclineFor("0201"), "insufficient_funds");
  EXPECT_EQ(DivisionDeclineFor("201"), "insufficient_funds");
  EXPECT_EQ(DivisionDeclineFor("0203"), "over_consent_ceiling");
  EXPECT_EQ(DivisionDeclineFor("203"), "over_consent_ceiling");
  EXPECT_EQ(DivisionDeclineFor("0202"), "consent_missing");
  EXPECT_EQ(DivisionDeclineFor("202"), "consent_missing");
  EXPECT_EQ(DivisionDeclineFor("0101"), "bank_refused");
  EXPECT_EQ(DivisionDeclineFor("103"), "bank_refused");
  EXPECT_EQ(DivisionDeclineFor("V713"), "bank_refused");
  EXPECT_EQ(DivisionDeclineFor("0000"), "");
  EXPECT_EQ(DivisionDeclineFor("000"), "");
  EXPECT_EQ(DivisionDeclineFor(""), "");
}

TEST(BankRefusalText, NamesBothProtocolsCodes) {
  EXPECT_EQ(BankRefusalText("0202"), "no withdrawal consent for the debit account");
  EXPECT_EQ(BankRefusalText("203"), "above the consent's ceiling per debit");
  EXPECT_EQ(BankRefusalText("V713"), "the bank refused with code V713");
}

}  // namespace
}  // namespace varelay
