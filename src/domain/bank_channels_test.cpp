// Proves a bank is held to its protocol unless a channel was added for it, and that one credit's
// telegram id and its reference on another channel name the same credit.
#include "domain/bank_channels.h"

#include <gtest/gtest.h>

namespace varelay {
namespace {

TEST(BankChannelsTest, ABankSpeaksItsProtocolAndWhatWasAdded) {
  Bank b;
  b.protocol = BankProtocol::kTelegram;
  EXPECT_TRUE(AcceptsChannel(b, BankProtocol::kTelegram));
  EXPECT_FALSE(AcceptsChannel(b, BankProtocol::kJson));
  EXPECT_FALSE(AcceptsChannel(b, BankProtocol::kIso20022));
  EXPECT_FALSE(HasSeveralChannels(b));
  b.extra_channels = ChannelBit(BankProtocol::kTelegram);
  EXPECT_FALSE(HasSeveralChannels(b)) << "its own protocol again is not a second channel";
  b.extra_channels = ChannelBit(BankProtocol::kIso20022);
  EXPECT_TRUE(AcceptsChannel(b, BankProtocol::kIso20022));
  EXPECT_FALSE(AcceptsChannel(b, BankProtocol::kJson));
  EXPECT_TRUE(HasSeveralChannels(b));
}

TEST(BankChannelsTest, ATelegramIdAndTheBanksReferenceNameOneCredit) {
  EXPECT_EQ(CreditReference("tg:20261207:000123:12345678901234"), "20261207:000123:12345678901234");
  EXPECT_EQ(CreditReference("20261207:000123:12345678901234"), "20261207:000123:12345678901234");
  EXPECT_EQ(OtherChannelForm("tg:20261207:000123:1234"), "20261207:000123:1234");
  EXPECT_EQ(OtherChannelForm("20261207:000123:1234"), "tg:20261207:000123:1234");
  EXPECT_EQ(CreditReference("tg:"), "");
}

}  // namespace
}  // namespace varelay
