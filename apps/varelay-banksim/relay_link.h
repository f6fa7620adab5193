// How the simulated bank talks to the relay. `RelayLink` is the protocol-neutral interface (the
// pre-check, deposit notices and cancellations); `MakeJsonRelayLink` builds the JSON protocol of
// docs/openapi.yaml (POST /v1/bank/precheck, /v1/bank/deposits, /v1/bank/cancellations), signed
// when a signing secret is given. Telegram and camt.054 links implement the same interface.
#pragma once

#include <chrono>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "domain/error.h"
#include "domain/money.h"
#include "domain/time.h"

namespace varelay::banksim {

struct PrecheckQuery {
  std::string number;
  Money amount;
  std::string payer_name;  // may be empty
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

struct DepositMessage {
  std::string transaction_id;
  std::string number;
  Money amount;
  std::string payer_name;
  std::string deposited_at;  // RFC 3339; the same text on every re-send
};

struct CancellationMessage {
  std::string transaction_id;
  std::string original_transaction_id;
  std::string cancelled_at;  // RFC 3339; the same text on every re-send
};

// The relay's answer to a notice it accepted (HTTP 200).
struct NoticeReceipt {
  std::string deposit_id;
  std::string
      outcome;  // matched, partial, overpaid, amount_mismatch, unknown_number, not_assigned, late
  std::string status;  // booked or cancelled
  bool duplicate = false;
};

// A request the relay did not accept: no answer at all (`http_status` 0, e.g. refused connection
// or timeout), or an answer other than 200 with the problem's `code` when it had one.
struct LinkFailure {
  int http_status = 0;
  std::string code;
  std::string detail;

  // "503 overloaded", "401 signature_invalid", "no answer: connection refused".
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

// The Varelay-Signature value for one request: "v1=" + lowercase hex HMAC-SHA256, keyed by
// `secret`, of "{timestamp_s}.{METHOD}.{target}.{body}".
std::string SignRequest(std::string_view secret, std::int64_t timestamp_s, std::string_view method,
                        std::string_view target, std::string_view body);

}  // namespace varelay::banksim
