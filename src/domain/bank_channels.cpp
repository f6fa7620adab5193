#include "domain/bank_channels.h"

namespace varelay {

bool AcceptsChannel(const Bank& bank, BankProtocol channel) {
  return bank.protocol == channel || (bank.extra_channels & ChannelBit(channel)) != 0;
}

bool HasSeveralChannels(const Bank& bank) {
  return (bank.extra_channels & ~ChannelBit(bank.protocol) & kAllChannels) != 0;
}

std::string_view CreditReference(std::string_view transaction_id) {
  if (transaction_id.starts_with(kTelegramIdPrefix)) transaction_id.remove_prefix(kTelegramIdPrefix.size());
  return transaction_id;
}

std::string OtherChannelForm(std::string_view transaction_id) {
  if (transaction_id.starts_with(kTelegramIdPrefix)) return std::string(CreditReference(transaction_id));
  return std::string(kTelegramIdPrefix) + std::string(transaction_id);
}

}  // namespace varelay
