// The load: clients that run the payment cycle against the relay (a merchant's checkout, then
// the bank's deposit notice), back to back (closed loop) or paced (open loop). Every client is a
// coroutine with a kept-alive connection of its own, and all of them run on one event-loop thread
// (--load-threads for more): the bench then costs the machine little, and a client's latency is
// not inflated by dozens of client threads waiting for a core.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "options.h"
#include "relay_process.h"
#include "report.h"
#include "setup.h"
#include "webhook_receiver.h"

namespace varelay::bench {

inline Clock::duration Seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// Latencies in microseconds, and counts, of one client or many.
struct CycleSamples {
  std::vector<std::uint32_t> issue_us, precheck_us, deposit_us;
  std::uint64_t acknowledged = 0;  // cycles whose deposit the relay acknowledged
  std::uint64_t errors = 0;        // a failed or refused request; the cycle is dropped
  void Append(const CycleSamples& other);
};

// Everything one measured run needs from the rest of the bench.
struct Rig {
  const Options& options;
  const Institutions& institutions;
  RelayProcess& relay;
  WebhookReceiver& receiver;
  DepositTracker& tracker;
};

// One measured run: `clients` cycle clients for options.duration_s, then up to options.drain_s
// for the webhooks still on their way. Paced when `rate_per_s` > 0: all clients together start
// `rate_per_s` cycles a second, and a cycle that could not start on time starts at once with its
// latency counted from when it was due, so a stalled relay shows in the figures (no coordinated
// omission). `round` keeps order ids apart between runs on the same relay.
RunFigures MeasureCycles(const Rig& rig, int clients, double rate_per_s, int round);

// Issues `count` assignments that stay open (unpaid), on several connections. Returns how many
// the relay issued.
std::int64_t IssueOpenAssignments(const Rig& rig, int count);

// Requests per second that `clients` of the same kind get from `url` answering GET / (the no-op
// ceiling), back to back for `duration_s`.
double MeasureRequestsPerSecond(const std::string& url, int clients, int load_threads, double duration_s);

}  // namespace varelay::bench
