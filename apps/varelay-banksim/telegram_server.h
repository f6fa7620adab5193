// The telegram server (`--telegram-serve HOST:PORT`): the simulated bank answers the requests the
// relay sends to a bank, in the fixed-length EUC-KR telegrams of docs/telegrams.md (codec:
// src/banks/telegram) with 4-digit length framing over TCP. It is the other direction of the
// telegram link (telegram_link.h), where the bank asks and the relay answers.
//
//   holder inquiry  0600/400 -> 0610/400  body holder_name = Bank::HolderOf(account_number)
//                                         (accounts and issued virtual numbers)
//   withdrawal      0100/100 -> 0110/100  Bank::Withdraw(debit_account, amount_won KRW) under
//                                         the reference "tg:<send date YYYYMMDD>:<sequence>"
//                                         (the header's KST send date, 6-digit sequence); body
//                                         processed_at = when it was done (completed only)
//   consent         0600/500 -> 0610/500  Bank::RegisterConsent(account, holder id, name, R/C):
//                                         body consent_id and ceiling per debit (0 = none)
//   result inquiry  0600/101 -> 0610/101  the withdrawal "tg:<original date>:<original sequence>"
//                                         of the header; body original_response_code = the
//                                         original's code (0000 or 0201), processed_at = when the
//                                         bank executed it (completed or refused)
//
// Bank response codes (header offset 51, "bank response code"; offset 47 stays as sent):
//   0000  done: the holder's name / the withdrawal completed / the result inquiry found the
//         transfer (its outcome is in the body's original_response_code)
//   0101  no such account (holder inquiry, or a withdrawal's debit account; nothing recorded)
//   0102  holder mismatch (consent): the name, or the holder id when the account has one, differs
//   0201  insufficient funds: the withdrawal is refused, and the refusal is recorded, so a re-send
//         or a result inquiry gets 0201 again even after the balance has grown
//   0202  no withdrawal consent: a debit from a customer account without a registered consent
//   0203  over the consent's ceiling per debit (a customer account's ceiling)
// A completed withdrawal whose recipient (bank code = this bank's) is one of its accounts credits it.
//   0301  no such transfer: the bank never received (or never recorded) the withdrawal a result
//         inquiry names; the relay may safely send the withdrawal again
//   0302  not supported: a request this bank does not serve (any other message/business code)
//   0303  conflict: a withdrawal re-sent under a used date + sequence with another debit account
//         or amount, or a result inquiry whose account or amount (when given) differ from the
//         transfer it names; nothing executed
//   0901  format error: a served telegram that does not decode (a bad field, a frame that is not
//         300 bytes), a withdrawal of 0 won, a result inquiry without an original date. One that
//         does not decode is answered from its header alone: message code + 10, the received
//         body echoed byte for byte
//   0999  system error: the bank could not decide (its journal is full)
//
// A re-send of a withdrawal (same send date and sequence, higher send count) replays the
// recorded result and never debits twice. Everything the bank does goes through Bank and its
// journal (--state), so a restarted simulator still answers a result inquiry.
//
// Connections: several at once (max_connections, more are closed at once), each handling one
// telegram at a time in the order received, so at most max_connections telegrams wait for the
// workers. A connection silent for idle_timeout, or an answer the relay does not take within it,
// is closed. A frame whose header cannot be read (shorter than 100 bytes, a bad header field), an
// answer telegram (message code xx10), or a stream that cannot be framed (non-digit length, 0, or
// above max_frame_bytes) closes the connection unanswered.
//
// Faults (faults.h; off by default): drop_transfer_answer_p executes and records a withdrawal but
// sends no answer (rolled by send date, sequence and send count: the relay times out and must use
// the result inquiry); transfer_outage closes the connection on any telegram received inside the
// window (counted from the simulator's start) without executing it; answer_delay waits before every
// answer is written (after the bank acted); debit_delay waits before a withdrawal's answer only
// (the relay gives up first: a debit timeout).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "bank.h"
#include "banks/telegram/frame.h"
#include "banks/telegram/telegram.h"
#include "domain/error.h"
#include "faults.h"

namespace varelay::banksim {

// Bank response codes of the server's answers (the table above).
inline constexpr std::string_view kBankOk = "0000";
inline constexpr std::string_view kBankUnknownAccount = "0101";
inline constexpr std::string_view kBankHolderMismatch = "0102";
inline constexpr std::string_view kBankInsufficientFunds = "0201";
inline constexpr std::string_view kBankNoConsent = "0202";
inline constexpr std::string_view kBankOverConsentCeiling = "0203";
inline constexpr std::string_view kBankNoSuchTransfer = "0301";
inline constexpr std::string_view kBankNotSupported = "0302";
inline constexpr std::string_view kBankTransferConflict = "0303";
inline constexpr std::string_view kBankFormatError = "0901";
inline constexpr std::string_view kBankSystemError = "0999";

// The withdrawal reference of a telegram: "tg:<YYYYMMDD>:<6-digit sequence>".
std::string TransferReference(std::chrono::year_month_day send_date, std::uint32_t sequence);

// The bank's answer to a decoded request from the relay, per the table above (0302 for a request
// it does not serve). A withdrawal is executed and journaled through `bank` at `now`. nullopt when
// `request` is itself an answer (nothing can answer it).
std::optional<telegram::Telegram> AnswerRequest(Bank& bank, const telegram::Telegram& request,
                                                Instant now);

enum class TelegramDisposition {
  kAnswer,  // write `answer`
  kSilent,  // write nothing and keep the connection (a dropped transfer answer)
  kClose,   // close the connection without answering
};

struct TelegramReply {
  TelegramDisposition disposition = TelegramDisposition::kClose;
  std::string answer;  // kAnswer: the 300-byte answer telegram, without its length prefix
  std::chrono::milliseconds delay{0};  // wait this long (at least) before writing it: the debit-delay fault
};

// One framed telegram (the payload, without the length prefix) -> what to do with it: decodes,
// answers through AnswerRequest, answers a telegram that does not decode from its header alone
// (0901, or 0302 for a message/business code this bank does not serve), and applies the transfer
// faults of `faults` (`since_start`: the time since the server started). Never throws on input.
TelegramReply AnswerRelayTelegram(Bank& bank, std::string_view payload, Instant now,
                                  const FaultPlan& faults = {},
                                  std::chrono::milliseconds since_start = {});


struct TelegramServerOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 0;                // 0: any free port
  std::chrono::seconds idle_timeout{60};  // a silent connection, or an answer not taken, closes
  std::size_t max_connections = 64;       // beyond this, new connections are closed at once
  std::size_t max_frame_bytes = telegram::kDefaultMaxFrameBytes;  // 4,096: a longer frame closes
  std::chrono::milliseconds answer_delay{0};  // the delay fault, before every answer
  int workers = 2;  // threads that run the handler (a withdrawal fsyncs the state file)
};

class TelegramServer {
 public:
  // Called for every framed telegram, on a worker thread, one at a time per connection.
  using Handler = std::function<TelegramReply(std::string_view payload)>;

  TelegramServer(Handler handler, TelegramServerOptions options);
  ~TelegramServer();
  TelegramServer(const TelegramServer&) = delete;
  TelegramServer& operator=(const TelegramServer&) = delete;

  // Binds and listens; returns the bound port. Fails (kInvalidField) on a host that is not an IP
  // address, (kInternal) when the address cannot be bound.
  Result<unsigned short> Listen();
  // Serves on its own thread until Stop().
  void Start();
  // Closes the listener and every connection; a handler already running finishes first, queued
  // ones are dropped unanswered. Idempotent.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace varelay::banksim
