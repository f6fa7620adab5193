// How the simulated bank talks to the relay. `RelayLink` is the protocol-neutral interface (the
// pre-check, deposit notices and cancellations); `MakeJsonRelayLink` builds the JSON protocol of
// docs/openapi.yaml (POST /v1/bank/precheck, /v1/bank/deposits, /v1/bank/cancellations), signed
// when a signing secret is given. The telegram link (telegram_link.h) and the camt.054 link
// (camt_link.h) implement the same interface; `RelayHttp` is the HTTP side the JSON and camt.054
// links share.
#pragma once

#include <chrono>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bank.h"
#include "domain/error.h"
#include "domain/money.h"
#include "domain/time.h"

namespace varelay::banksim {

struct PrecheckQuery {
  std::string number;
  Money amount;
  std::string payer_name;  // may be empty
  TelegramRef telegram{};  // the inquiry's header sequence and send time (telegrams only)
};

// The relay's verdict on a pre-check: accept with the holder name the payer sees and the due
// time, or refuse with a reason (`unknown_number`, `not_assigned`, `expired`, `amount_mismatch`,
// `merchant_inactive`).
struct PrecheckVerdict {
  bool accept = false;
  std::string holder_name;
  std::string due_at;
  std::string reason;
};

// Every field of a notice is the same on every re-send except `send_count`.
struct DepositMessage {
  std::string transaction_id;
  std::string number;
  Money amount;
  std::string payer_name;
  std::string deposited_at;      // RFC 3339
  std::string mother_account{};  // the account the money was booked to
  TelegramRef telegram{};        // header sequence and send time, fixed when queued
  int send_count = 1;            // this attempt, from 1
};

struct CancellationMessage {
  std::string transaction_id;
  std::string original_transaction_id;
  std::string cancelled_at;  // RFC 3339
  // The cancelled deposit's number, amount and payer, and the account the money is taken back
  // from (telegrams and camt.054 repeat them).
  std::string number{};
  Money amount{0, Currency::Krw()};
  std::string payer_name{};
  std::string mother_account{};
  TelegramRef telegram{};           // this cancellation's header sequence and send time
  TelegramRef original_telegram{};  // the deposit notice's: a telegram names its original by them
  int send_count = 1;
};

// The relay's answer to a notice it accepted.
struct NoticeReceipt {
  std::string deposit_id;  // empty when the protocol does not say (telegrams)
  std::string
      outcome;  // matched, partial, overpaid, amount_mismatch, unknown_number, not_assigned, late
  std::string status;      // booked or cancelled
  bool duplicate = false;  // the relay had it already (telegrams cannot tell: always false)
  // How the relay answered, for the outbox's last_status: "200" (HTTP), "telegram 0000".
  std::string answer = "200";
  // The relay's transaction id for the notice (see Notice::relay_transaction_id).
  std::string relay_transaction_id{};
  bool duplicate_known = true;  // false when the protocol cannot tell a re-send (telegrams)
};

// A request the relay did not accept: no answer at all (`http_status` 0 and `answer` empty, e.g.
// refused connection or timeout), an HTTP answer other than 200 with the problem's `code` when it
// had one, or an answer that refuses (`answer` says how: "telegram 0104", "200 refused").
struct LinkFailure {
  int http_status = 0;
  std::string code;
  std::string detail;
  // A notice refused for good: re-sending the same cannot change the answer, the notice fails at
  // once (409 transaction_id_conflict, a telegram refusal other than a system error).
  bool final = false;
  std::string answer{};

  // "503 overloaded", "401 signature_invalid", "no answer: connection refused",
  // "telegram 0106 duplicate", "200 refused transaction_id_conflict".
  std::string Summary() const;
};

template <typename T>
using LinkResult = std::expected<T, LinkFailure>;

// Every method may be called from several threads at once.
class RelayLink {
 public:
  virtual ~RelayLink() = default;
  virtual LinkResult<PrecheckVerdict> Precheck(const PrecheckQuery& query) = 0;
  virtual LinkResult<NoticeReceipt> NotifyDeposit(const DepositMessage& message) = 0;
  virtual LinkResult<NoticeReceipt> NotifyCancellation(const CancellationMessage& message) = 0;
  // "json http://127.0.0.1:8080 (signed)", for the start-up log.
  virtual std::string Describe() const = 0;
};

struct JsonLinkOptions {
  std::string relay_url;       // http://HOST:PORT
  std::string api_key;         // the relay's bank key, sent as Authorization: Bearer
  std::string signing_secret;  // empty: requests are not signed
  std::chrono::seconds timeout{10};
  std::function<Instant()> now;  // for Varelay-Timestamp
};

// Fails (kInvalidField) when the URL is not http://HOST:PORT.
Result<std::unique_ptr<RelayLink>> MakeJsonRelayLink(JsonLinkOptions options);

// The HTTP side of the JSON and camt.054 links: kept-alive connections to the relay (a few idle
// ones reused), the bank key, and request signing. Thread-safe.
class RelayHttp {
 public:
  // Fails (kInvalidField) when the URL is not http://HOST:PORT.
  static Result<std::unique_ptr<RelayHttp>> Create(JsonLinkOptions options);
  ~RelayHttp();

  // One POST of `body` as `content_type`, signed when a signing secret is set. The answer's body
  // when the status is 200; otherwise a failure with the status and the problem's code and detail
  // (http_status 0: no answer).
  LinkResult<std::string> Post(std::string_view target, const std::string& body,
                               std::string_view content_type = "application/json");

  const JsonLinkOptions& options() const { return options_; }

 private:
  struct Pool;
  RelayHttp(JsonLinkOptions options, std::unique_ptr<Pool> pool);
  JsonLinkOptions options_;
  std::unique_ptr<Pool> pool_;
};

// The Varelay-Signature value for one request: "v1=" + lowercase hex HMAC-SHA256, keyed by
// `secret`, of "{timestamp_s}.{METHOD}.{target}.{body}".
std::string SignRequest(std::string_view secret, std::int64_t timestamp_s, std::string_view method,
                        std::string_view target, std::string_view body);

}  // namespace varelay::banksim
