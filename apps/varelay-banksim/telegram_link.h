// The telegram link: the simulated bank speaks the fixed-length EUC-KR telegrams of
// docs/telegrams.md (codec: src/banks/telegram) to the relay's telegram listener (`varelayd
// --telegram-listen`). One TCP connection, opened on first use and again whenever it drops; one
// telegram in flight at a time (the relay answers in order), each answer awaited with a timeout.
//
//   pre-check     0900/100 receivability inquiry -> 0910: "0000" accept with the holder name,
//                 any other code refuses (a default code of reject_codes.h maps back to its
//                 reason, another code becomes "bank_code_XXXX")
//   deposit       0200/300 kind 20 -> 0210 "0000" acknowledged
//   cancellation  0200/300 kind 51, the header's original date and sequence naming the deposit's
//                 telegram -> 0210 "0000" acknowledged
//
// A notice carries the sequence number and send time it got when queued (Notice::telegram) on
// every re-send, only the send count rises: the relay's duplicate key is send date + sequence +
// number. For a notice, "0999" (system error) and no answer mean "send again later"; so does
// "0101" for a cancellation (the relay does not know the deposit yet, as a JSON 404); any other
// code fails the notice at once with that code.
//
// The relay may ask on the same connection, after an answer, for numbers it never saw
// (0600/200, `varelayd --telegram-request-missing`): the link answers 0610 "0000" and hands the
// range to `on_missing_request`, which makes the pending notices among them due at once. Such a
// request is read when it arrives with an answer or before the next telegram is sent.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "banks/telegram/frame.h"
#include "banks/telegram/telegram.h"
#include "relay_link.h"

namespace varelay::banksim {

struct TelegramLinkOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  std::string bank_code = "004";  // 3 digits: the header's bank code, how the relay knows us
  std::chrono::milliseconds timeout{10'000};      // to connect, and for each answer
  std::string identification_code = "VARELAY01";  // header text fields, per contract
  std::string institution_code = "VR000001";
  // The relay asked for the notices numbered `from`..`to` of KST day `day` to be sent again.
  // Called on the thread that talks to the relay, with the link's lock held.
  std::function<void(std::chrono::sys_days day, std::uint32_t from, std::uint32_t to)>
      on_missing_request{};
};


// The telegrams the link sends. Pure functions of their inputs.
telegram::Telegram InquiryTelegram(const PrecheckQuery& query, const TelegramLinkOptions& options);
telegram::Telegram DepositTelegram(const DepositMessage& message,
                                   const TelegramLinkOptions& options);
telegram::Telegram CancellationTelegram(const CancellationMessage& message,
                                        const TelegramLinkOptions& options);

// A refusal code as a reason: the reason whose default code (reject_codes.h) it is
// ("0104" -> "amount_mismatch"), else "bank_code_" + the code.
std::string ReasonForCode(std::string_view code);

// What the relay's answer to an inquiry means for the payment.
LinkResult<PrecheckVerdict> VerdictFrom(const telegram::Telegram& answer);
// What the relay's answer to a deposit or cancellation notice means for the outbox.
LinkResult<NoticeReceipt> ReceiptFrom(const telegram::Telegram& request,
                                      const telegram::Telegram& answer);

// The relay's transaction id for a notice telegram: "tg:<KST send date>:<sequence>:<number>".
std::string RelayTransactionId(const telegram::Telegram& notice);

class TelegramRelayLink final : public RelayLink {
 public:
  // Fails (kInvalidField) on a bank code that is not 3 digits or an empty host or port 0.
  static Result<std::unique_ptr<TelegramRelayLink>> Create(TelegramLinkOptions options);
  ~TelegramRelayLink() override;

  LinkResult<PrecheckVerdict> Precheck(const PrecheckQuery& query) override;
  LinkResult<NoticeReceipt> NotifyDeposit(const DepositMessage& message) override;
  LinkResult<NoticeReceipt> NotifyCancellation(const CancellationMessage& message) override;
  std::string Describe() const override;

 private:
  explicit TelegramRelayLink(TelegramLinkOptions options) : options_(std::move(options)) {}

  // Sends `request` and returns the relay's answer to it. On a kept connection that turns out to
  // be closed (the relay's idle timeout) it reconnects and sends once more: every telegram the
  // link sends is safe to repeat (inquiries change nothing, notices are deduplicated).
  LinkResult<telegram::Telegram> Exchange(const telegram::Telegram& request);
  // One attempt; sets `retry_on_new_connection` when a kept connection turned out to be closed
  // before any answer byte came (worth one more try on a new one).
  LinkResult<telegram::Telegram> ExchangeOnce(const std::string& frame,
                                              const telegram::Telegram& request,
                                              bool& retry_on_new_connection);
  std::optional<std::string> Connect();  // an error text, or nullopt when connected
  void Close();
  // Writes all of `bytes` before `deadline`; an error text otherwise.
  std::optional<std::string> SendAll(std::string_view bytes,
                                     std::chrono::steady_clock::time_point deadline);
  // Reads what the relay sent unasked on a kept connection (requests after an answer) without
  // waiting, and handles it. False when the connection is gone or out of step (then closed).
  bool TakeUnasked(std::chrono::steady_clock::time_point deadline);
  // Answers a request from the relay (0600/200 -> 0610 "0000"). False when it could not.
  bool HandleRelayRequest(const telegram::Telegram& request,
                          std::chrono::steady_clock::time_point deadline);

  TelegramLinkOptions options_;
  std::mutex mutex_;  // one telegram in flight
  int fd_ = -1;
  telegram::FrameReader reader_;
};

}  // namespace varelay::banksim
