// The merchants' end of the webhook leg: a receiver that verifies every delivery's Standard
// Webhooks signature as a merchant must, and pairs each deposit.matched event with the
// acknowledgement of the same deposit, to time deposit-acknowledged-to-webhook-received.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "loopback_server.h"

namespace varelay::bench {

using Clock = std::chrono::steady_clock;

// Microseconds from `from` to `to`, 0 when `to` is earlier.
inline std::uint32_t MicrosBetween(Clock::time_point from, Clock::time_point to) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(to - from).count();
  return static_cast<std::uint32_t>(us > 0 ? us : 0);
}

// The event whose arrival completes a cycle and is timed; other types are only counted.
inline constexpr std::string_view kTimedEventType = "deposit.matched";

// Pairs acknowledged deposits with their webhooks by order id. Thread-safe.
class DepositTracker {
 public:
  // A bank client read the relay's 2xx for the deposit of `order_id` at `at`.
  void Acknowledged(const std::string& order_id, Clock::time_point at);
  // The receiver read the deposit's webhook at `at`.
  void WebhookArrived(const std::string& order_id, Clock::time_point at);

  struct Round {
    std::vector<std::uint32_t> latency_us;  // acknowledgement to webhook, one per pair
    std::uint64_t missing = 0;              // acknowledged, no webhook yet
    std::uint64_t before_ack = 0;  // webhook read before the client had read the acknowledgement
  };
  // Acknowledged deposits still waiting for their webhook.
  std::uint64_t Missing() const;
  // What was paired since the last call; forgets everything unpaired.
  Round TakeRound();

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Clock::time_point> acknowledged_;  // waiting for the webhook
  std::unordered_set<std::string> arrived_early_;
  Round round_;
};

// Standard Webhooks v1: whether one of the space-separated "v1,<base64>" entries of the
// webhook-signature header is the HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}" under
// `secret` ("whsec_" + base64 key), with webhook-timestamp within 5 minutes of `now_s` (Unix
// seconds). False on any missing or malformed header.
bool VerifyWebhook(std::string_view secret, const ServerRequest& request, std::int64_t now_s);

struct WebhookCounts {
  std::uint64_t received = 0;
  std::uint64_t timed = 0;       // kTimedEventType, first delivery of each event
  std::uint64_t other = 0;       // any other type, first delivery of each event
  std::uint64_t duplicates = 0;  // a webhook-id seen before in this round (at-least-once)
  std::uint64_t verification_failures = 0;  // bad or missing signature, or an unreadable body
  WebhookCounts operator-(const WebhookCounts& earlier) const;
};

class WebhookReceiver {
 public:
  // Serves on 127.0.0.1:0 with `threads` threads; deposits are reported to `tracker`.
  WebhookReceiver(DepositTracker& tracker, int threads);

  // The URL to register for merchant number `merchant_index`.
  std::string EndpointUrl(std::size_t merchant_index) const;
  // The endpoint's "whsec_..." secret, as the relay showed it at creation.
  void SetSecret(std::size_t merchant_index, std::string secret);

  WebhookCounts Counts() const;
  // Forgets the webhook ids seen so far, so memory stays bounded by one round's events.
  void BeginRound();

 private:
  int Handle(const ServerRequest& request);
  // The secret of the merchant the request's path names, or empty.
  std::string SecretFor(std::string_view target) const;

  DepositTracker& tracker_;
  mutable std::mutex mutex_;
  std::vector<std::string> secrets_;  // by merchant index
  std::unordered_set<std::string> seen_ids_;
  WebhookCounts counts_;
  LoopbackServer server_;  // last: its threads stop before the state they use goes
};

}  // namespace varelay::bench
