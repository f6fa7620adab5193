// The relay's own telegrams to a bank (docs/telegrams.md, "Requests from the relay"): account-holder
// inquiries (0600/400), withdrawals (0100/100) and result inquiries (0600/101). Builders and answer
// readers are pure; Exchange sends one request over its own TCP connection (the bank's endpoint,
// 4-byte length framing) and reads the one answer, within a time limit.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "banks/telegram/telegram.h"
#include "domain/transfer.h"

namespace varelay::banks {

// The codes a bank answers the relay's requests with (the header's bank response code). Others
// than these are the bank's own refusal reasons, kept as given.
inline constexpr std::string_view kBankNoSuchAccount = "0101";
inline constexpr std::string_view kBankInsufficientFunds = "0201";
inline constexpr std::string_view kBankNoSuchTransfer = "0301";  // result inquiry: never received
inline constexpr std::string_view kBankSystemError = "0999";     // not done; ask again later

// Header fields per contract, as the bank knows the relay.
struct OutboundHeader {
  std::string identification_code = "VARELAY01";
  std::string institution_code = "VR000001";
  // A JSON bank's 10-character institution code, the first part of every bank_tran_id.
  std::string json_institution_code = "VR00000001";
};

telegram::Telegram HolderInquiryTelegram(std::string_view bank_code, std::string_view account,
                                         std::string_view holder_id, std::uint32_t sequence, Instant now,
                                         const OutboundHeader& ids = {});
// Every send of a transfer carries its fixed date, time and sequence (from its creation); only
// the send count rises, so the bank recognises a re-send and books it once.
telegram::Telegram WithdrawalTelegram(const Transfer& transfer, int send_count, const OutboundHeader& ids = {});
// Asks what became of `transfer`'s withdrawal: the header's original date and sequence name it.
telegram::Telegram ResultInquiryTelegram(const Transfer& transfer, std::uint32_t sequence, Instant now,
                                         const OutboundHeader& ids = {});

// What a bank's answer says about a transfer.
enum class TransferVerdict {
  kCompleted,    // debited and credited
  kRefused,      // refused for good; nothing moved
  kUnknown,      // no usable answer: still in doubt
  kNotReceived,  // (result inquiry) the bank never got it: safe to send again
};
struct TransferAnswer {
  TransferVerdict verdict = TransferVerdict::kUnknown;
  std::string response_code;   // the bank's code for the transfer
  std::string bank_reference;  // the bank's transaction id, when it gave one
  std::string detail;          // for people: why, in a few words
};
// `answer` nullopt: none came (timeout, connection failure); `error` says why.
TransferAnswer ReadWithdrawalAnswer(const telegram::Telegram& request, const std::optional<telegram::Telegram>& answer,
                                    std::string_view error = {});
TransferAnswer ReadResultAnswer(const telegram::Telegram& request, const std::optional<telegram::Telegram>& answer,
                                std::string_view error = {});
// The holder name, or: kNotFound (no such account), kBankUnavailable (anything else).
Result<std::string> ReadHolderAnswer(const telegram::Telegram& request, const telegram::Telegram& answer);

// Connects to `endpoint`, sends `request`, reads one framed answer and checks that it answers the
// request (message code + 10, same business code and sequence). Fails kBankUnavailable on a
// timeout, a refused connection or an answer that does not fit.
boost::asio::awaitable<Result<telegram::Telegram>> Exchange(boost::asio::any_io_executor executor,
                                                            std::string endpoint, telegram::Telegram request,
                                                            std::chrono::milliseconds timeout);

// Sequence numbers for queries (nothing booked), per process: kFirstQuerySequence..999999, then
// round again. Thread-safe.
std::uint32_t NextQuerySequence();

}  // namespace varelay::banks
