// Delivers the outbox: takes pending deliveries after their batch is durable, signs each attempt
// (Standard Webhooks v1), sends it with WebhookClient, retries on a schedule, keeps each number's
// events in order per endpoint, caps what is in flight, and reports every outcome back to the
// engine so it is durable too. At-least-once: an outcome lost in a crash means one more attempt
// with the same webhook-id after the restart.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "engine/clock.h"
#include "engine/commands.h"
#include "engine/engine.h"
#include "notify/webhook_client.h"

namespace varelay::notify {

// After attempt 1 (at once): 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, 16 h, 24 h,
// 24 h. 13 attempts over about 3 days 9 hours (docs/webhooks.md).
std::vector<Millis> DefaultRetrySchedule();

// Parses "5s,30s,2m,1h" (units ms, s, m, h; each 1 ms to 7 days; 1 to 50 entries); nullopt on
// anything else.
std::optional<std::vector<Millis>> ParseRetrySchedule(std::string_view text);

// When the next attempt is due after `attempts` failed ones, or nullopt when the schedule is
// spent. `jitter_unit` in [-1, 1] scales the delay by 1 + jitter * jitter_unit; a Retry-After
// (capped at `max_retry_after`) postpones it further.
std::optional<Instant> NextAttemptAt(const std::vector<Millis>& schedule, int attempts, Instant now,
                                     std::optional<std::chrono::seconds> retry_after, double jitter,
                                     double jitter_unit, Millis max_retry_after);

struct DispatcherOptions {
  std::vector<Millis> retry_schedule = DefaultRetrySchedule();
  double jitter = 0.1;                                  // ±10 % of each delay
  Millis max_retry_after{std::chrono::hours(24)};       // a Retry-After beyond this is cut
  std::size_t max_in_flight_per_merchant = 8;           // so one slow receiver delays only its merchant
  std::size_t max_in_flight = 256;
  // Deliveries held in memory at most. Beyond it newer ones stay pending in the store only and are
  // read back, in event order, once the queue has drained to half.
  std::size_t max_queued = 100'000;
};

// Figures for /metrics. Written by the dispatcher thread, read by anyone.
struct DispatchStats {
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> retried{0};  // attempts that failed and will be tried again
  std::atomic<std::uint64_t> failed{0};   // deliveries that ran out of attempts
  std::atomic<std::uint64_t> gone{0};     // 410 answers (endpoint disabled)
  std::atomic<std::uint64_t> in_flight{0};
  std::atomic<std::uint64_t> queued{0};   // deliveries waiting, in flight included
};

class Dispatcher final : public OutboxListener {
 public:
  Dispatcher(Engine& engine, const Clock& clock, ClientOptions client, DispatcherOptions options);
  ~Dispatcher() override;
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Starts the dispatcher's own thread. Call before Engine::Start, which hands it what was
  // pending before a restart.
  void Start();
  // Cancels attempts in flight (they stay pending in the store and are retried after a restart)
  // and joins the thread.
  void Stop();

  void OnCommitted(OutboxChanges changes) override;

  const DispatchStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace varelay::notify
