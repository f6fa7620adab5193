// Which transports a bank may report on, and the key that names one credit on all of them
// (docs/architecture.md, "Bank channels"). A bank speaks its configured protocol; an operator may allow
// more (`Bank::extra_channels`). Each transport forms its transaction id its own way, so a bank on
// two channels must name a credit by the same reference on both, and the relay compares them
// without the transport's prefix.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "domain/model.h"

namespace varelay {

constexpr std::uint32_t ChannelBit(BankProtocol channel) { return std::uint32_t{1} << static_cast<unsigned>(channel); }
// Every channel there is, as bits.
inline constexpr std::uint32_t kAllChannels = ChannelBit(BankProtocol::kJson) |
                                              ChannelBit(BankProtocol::kTelegram) |
                                              ChannelBit(BankProtocol::kIso20022);

// Whether `bank` may report through `channel`: its protocol, or one an operator allowed.
bool AcceptsChannel(const Bank& bank, BankProtocol channel);
// Whether it reports through more than one: then its credits are deduplicated across channels.
bool HasSeveralChannels(const Bank& bank);

// The prefix the telegram connector puts before a telegram's reference (KST send date, sequence
// and virtual account, "YYYYMMDD:NNNNNN:<number>").
inline constexpr std::string_view kTelegramIdPrefix = "tg:";
// The bank's own reference of a credit: the transaction id without a transport's prefix.
std::string_view CreditReference(std::string_view transaction_id);
// The other form the same credit's id takes on another channel: the reference with the telegram
// prefix when it has none, without it when it has.
std::string OtherChannelForm(std::string_view transaction_id);

}  // namespace varelay
