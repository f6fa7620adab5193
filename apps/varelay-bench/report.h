// The figures a run produces, and how they are printed: one JSON object (--json) or lines for
// a person.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "options.h"
#include "webhook_receiver.h"

namespace varelay::bench {

struct Latency {
  double p50_ms = 0, p99_ms = 0, p999_ms = 0;
  std::size_t samples = 0;
};
Latency Summarize(std::vector<std::uint32_t> micros);

// One measured run of the payment cycle against varelayd.
// Ledger audits run back to back during a measured load (--verify-during).
struct AuditFigures {
  std::uint64_t runs = 0;    // audits answered
  std::uint64_t failed = 0;  // ... not 200 with ok: true
  double total_ms = 0, max_ms = 0;
  std::int64_t entries = 0;  // entries the last one checked
};

// Division-account payment cycles (--division, or the stream beside --division-during's load):
// create, authorise with number and password, poll until the bank's debit settles it.
struct DivisionFigures {
  int clients = 0;
  double rate_per_s = 0;  // paced target; 0: closed loop
  double elapsed_s = 0;
  Latency create, authorize, to_settled, cycle;  // to_settled: authorize sent -> approved seen
  Latency answer_to_settled;  // authorize answered -> approved seen: the bank's debit, mostly
  std::uint64_t approved = 0, declined = 0;
  std::uint64_t unsettled = 0;  // still debiting when the cycle gave up polling
  std::uint64_t errors = 0;     // a failed or refused request
  std::int64_t approved_won = 0;
  std::string declines;  // "reason n, ..." when any
  double varelayd_cpu_cores = 0;
  double SettledPerS() const { return double(approved + declined) / elapsed_s; }
};

struct RunFigures {
  int clients = 0;
  double rate_per_s = 0;  // paced target; 0: closed loop
  double elapsed_s = 0;
  std::uint64_t acknowledged = 0;  // cycles whose deposit was acknowledged
  std::uint64_t complete = 0;      // deposit webhooks received while the load ran
  std::uint64_t errors = 0;
  Latency issue, precheck, deposit_ack, deposit_to_webhook;
  WebhookCounts webhooks;              // during the load and the drain
  std::uint64_t webhooks_missing = 0;  // acknowledged deposits without a webhook after the drain
  std::uint64_t webhooks_before_ack = 0;
  double varelayd_cpu_cores = 0;  // CPU seconds per second of load
  double bench_cpu_cores = 0;
  std::int64_t varelayd_rss_kib = 0, varelayd_peak_rss_kib = 0;
  std::optional<AuditFigures> audits;  // with --verify-during
  std::optional<DivisionFigures> division;  // the stream beside it, with --division-during

  double CyclesPerS() const { return double(complete) / elapsed_s; }
  double AcknowledgedPerS() const { return double(acknowledged) / elapsed_s; }
  // varelayd CPU time per acknowledged cycle: steadier than the rate on a shared machine.
  double VarelaydCpuUsPerCycle() const {
    return acknowledged > 0 ? varelayd_cpu_cores * elapsed_s * 1e6 / double(acknowledged) : 0;
  }
  // Answered API requests (issue, pre-check, deposit) per second.
  double RequestsPerS() const {
    return double(issue.samples + precheck.samples + deposit_ack.samples) / elapsed_s;
  }
};

struct MemoryFigures {
  std::int64_t pooled_numbers = 0;
  std::int64_t empty_rss_kib = 0;   // varelayd before seeding
  std::int64_t seeded_rss_kib = 0;  // after seeding, before the load
  double seed_s = 0;
  double BytesPerNumber(std::int64_t rss_kib) const {
    return double(rss_kib - empty_rss_kib) * 1024.0 / double(pooled_numbers);
  }
};

struct RestartFigures {
  std::int64_t open_assignments = 0;
  bool killed = false;         // SIGKILL, not SIGTERM
  std::string recovered_from;  // what varelayd said its state came from
  double stop_ms = 0;          // SIGTERM (or SIGKILL) until exit
  double ready_ms = 0;       // start until /healthz answered
  std::int64_t rss_kib = 0;  // right after the restart
};

struct PeerFigures {
  std::optional<double> postgres_cycles_per_s, redis_cycles_per_s;
  int postgres_clients = 0, redis_clients = 0;
  double noop_requests_per_s = 0;
  int noop_clients = 0;
};

struct Report {
  Options options;
  std::vector<RunFigures> runs;  // one per client count
  std::size_t best = 0;          // index into runs: the most cycles per second
  std::optional<RunFigures> half_peak;
  MemoryFigures memory;
  std::optional<RestartFigures> restart;
  std::optional<PeerFigures> peers;
  // --division-during: empty when the bank debited exactly what was approved, else what differs.
  std::optional<std::string> division_check;
};

// One line: the best run's figures at the top level, then "config", "memory" and, when measured,
// "sweep", "half_peak", "restart" and "peers" (docs/benchmarks.md lists the members).
std::string JsonText(const Report& report);
void PrintText(const Report& report);

boost::json::object DivisionJson(const DivisionFigures& d);
// `value` as one line of JSON text with numbers as people write them (2.976, not 2.976E0).
std::string JsonText(const boost::json::value& value);
void PrintDivision(const char* indent, const DivisionFigures& d);

}  // namespace varelay::bench
