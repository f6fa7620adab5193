// The load: clients that run the payment cycle against the relay (a merchant's checkout, then
// the bank's deposit notice), and the harness that runs any kind of client for a while, back to
// back (closed loop) or paced (open loop).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "client/http_client.h"
#include "options.h"
#include "relay_process.h"
#include "report.h"
#include "setup.h"
#include "webhook_receiver.h"

namespace varelay::bench {

inline Clock::duration Seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

inline std::uint32_t MicrosSince(Clock::time_point start) {
  return MicrosBetween(start, Clock::now());
}

// Runs each client on a thread of its own for `duration_s`, calling `client.Step(due)` in a loop:
// back to back when `rate_per_s` is 0, else paced so that all clients together start `rate_per_s`
// steps a second. Paced, a step that could not start on time starts at once and its latency
// counts from when it was due, so a stalled relay shows in the figures (no coordinated omission).
// Returns the seconds from the start until every thread finished its last step.
template <class Client>
double RunClients(std::vector<Client>& clients, double duration_s, double rate_per_s) {
  auto start = Clock::now();
  auto deadline = start + Seconds(duration_s);
  {
    std::vector<std::jthread> threads;
    for (std::size_t i = 0; i < clients.size(); ++i) {
      threads.emplace_back([&, i] {
        if (rate_per_s <= 0) {
          while (Clock::now() < deadline) clients[i].Step(Clock::now());
          return;
        }
        auto period = Seconds(double(clients.size()) / rate_per_s);
        for (auto due = start + period * i / clients.size(); due < deadline; due += period) {
          std::this_thread::sleep_until(due);
          clients[i].Step(due);
        }
      });
    }
  }  // joins
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Latencies in microseconds, and counts, of one client or many.
struct CycleSamples {
  std::vector<std::uint32_t> issue_us, precheck_us, deposit_us;
  std::uint64_t acknowledged = 0;  // cycles whose deposit the relay acknowledged
  std::uint64_t errors = 0;        // a failed or refused request; the cycle is dropped
  void Append(const CycleSamples& other);
};

class CycleClient {
 public:
  // Order ids are `order_prefix` + a counter, so they must be unique to this client and run.
  CycleClient(const Institutions& institutions, const std::string& url, std::string order_prefix,
              unsigned seed, bool precheck, DepositTracker& tracker);

  struct Issued {
    std::string order_id, number, amount;
    std::size_t bank = 0;
  };
  // Issues a number for a new order at a random merchant and bank; its latency counts from `due`.
  std::optional<Issued> Issue(Clock::time_point due);
  // One cycle: issue, pre-check (when asked), then the bank's deposit notice for the full amount.
  void Step(Clock::time_point due);

  const CycleSamples& samples() const { return samples_; }

 private:
  const Institutions* institutions_;
  std::unique_ptr<client::HttpClient> http_;
  std::string order_prefix_;
  std::uint64_t next_order_ = 0;
  std::mt19937 rng_;
  bool precheck_;
  DepositTracker* tracker_;
  CycleSamples samples_;
};

// Everything one measured run needs from the rest of the bench.
struct Rig {
  const Options& options;
  const Institutions& institutions;
  RelayProcess& relay;
  WebhookReceiver& receiver;
  DepositTracker& tracker;
};

// One measured run: `clients` cycle clients for options.duration_s (paced when `rate_per_s` > 0),
// then up to options.drain_s for the webhooks still on their way. `round` keeps order ids apart
// between runs on the same relay.
RunFigures MeasureCycles(const Rig& rig, int clients, double rate_per_s, int round);

// Issues `count` assignments that stay open (unpaid), on several connections. Returns how many
// the relay issued.
std::int64_t IssueOpenAssignments(const Rig& rig, int count);

}  // namespace varelay::bench
