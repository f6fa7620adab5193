#include "api/metrics.h"

#include <cstdio>

#include "domain/amount_rule.h"

namespace varelay::api {
namespace {

std::string Number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", v);
  return buffer;
}

// Label values are ids and patterns from our own validated sets; escape anyway.
std::string Label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

Metrics::Metrics(std::vector<std::pair<std::string, std::string>> routes)
    : routes_(std::move(routes)), stats_(std::make_unique<RouteStats[]>(routes_.size() + 1)) {}

void Metrics::Observe(int route, int status, double seconds) {
  auto& s = stats_[route < 0 ? routes_.size() : static_cast<std::size_t>(route)];
  std::size_t si = 0;
  while (si + 1 < kStatuses.size() && kStatuses[si] != status) ++si;
  s.by_status[si].fetch_add(1, std::memory_order_relaxed);
  std::size_t bi = 0;
  while (bi < kLatencyBuckets.size() && seconds > kLatencyBuckets[bi]) ++bi;
  s.buckets[bi].fetch_add(1, std::memory_order_relaxed);
  s.micros_total.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

std::string Metrics::Render(const EngineStats& engine, const Gauges& gauges,
                            const notify::DispatchStats* webhooks, const banks::BankHealth* banks) const {
  std::string out;
  out += "# HELP varelay_http_requests_total HTTP requests by route, method and status.\n";
  out += "# TYPE varelay_http_requests_total counter\n";
  auto route_label = [&](std::size_t i) {
    return i < routes_.size() ? "route=\"" + Label(routes_[i].second) + "\",method=\"" + routes_[i].first + "\""
                              : std::string("route=\"unmatched\",method=\"\"");
  };
  for (std::size_t i = 0; i <= routes_.size(); ++i) {
    for (std::size_t si = 0; si < kStatuses.size(); ++si) {
      auto n = stats_[i].by_status[si].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += "varelay_http_requests_total{" + route_label(i) + ",status=\"" +
             (kStatuses[si] ? std::to_string(kStatuses[si]) : std::string("other")) + "\"} " +
             std::to_string(n) + "\n";
    }
  }
  out += "# HELP varelay_http_request_duration_seconds Time from a request read to its response ready.\n";
  out += "# TYPE varelay_http_request_duration_seconds histogram\n";
  for (std::size_t i = 0; i <= routes_.size(); ++i) {
    std::uint64_t cumulative = 0;
    for (std::size_t bi = 0; bi <= kLatencyBuckets.size(); ++bi) cumulative += stats_[i].buckets[bi].load();
    if (cumulative == 0) continue;
    std::uint64_t running = 0;
    for (std::size_t bi = 0; bi <= kLatencyBuckets.size(); ++bi) {
      running += stats_[i].buckets[bi].load(std::memory_order_relaxed);
      std::string le = bi < kLatencyBuckets.size() ? Number(kLatencyBuckets[bi]) : "+Inf";
      out += "varelay_http_request_duration_seconds_bucket{" + route_label(i) + ",le=\"" + le + "\"} " +
             std::to_string(running) + "\n";
    }
    out += "varelay_http_request_duration_seconds_sum{" + route_label(i) + "} " +
           Number(stats_[i].micros_total.load() / 1e6) + "\n";
    out += "varelay_http_request_duration_seconds_count{" + route_label(i) + "} " + std::to_string(running) + "\n";
  }
  out += "# HELP varelay_pool_numbers Virtual account numbers per pool and state.\n";
  out += "# TYPE varelay_pool_numbers gauge\n";
  for (const auto& p : gauges.pools) {
    std::string labels = "merchant=\"" + Label(p.merchant) + "\",bank=\"" + p.bank + "\",region=\"" + Label(p.region) + "\"";
    out += "varelay_pool_numbers{" + labels + ",state=\"free\"} " + std::to_string(p.free) + "\n";
    out += "varelay_pool_numbers{" + labels + ",state=\"assigned\"} " + std::to_string(p.assigned) + "\n";
    out += "varelay_pool_numbers{" + labels + ",state=\"cooling\"} " + std::to_string(p.cooling) + "\n";
  }
  out += "# HELP varelay_deposits_total Deposits booked since start, by outcome.\n";
  out += "# TYPE varelay_deposits_total counter\n";
  for (std::size_t i = 0; i < gauges.deposits_by_outcome.size(); ++i) {
    out += "varelay_deposits_total{outcome=\"" + std::string(DepositOutcomeName(static_cast<DepositOutcome>(i))) +
           "\"} " + std::to_string(gauges.deposits_by_outcome[i]) + "\n";
  }
  out += "# HELP varelay_engine_batch_size Commands per durable commit.\n";
  out += "# TYPE varelay_engine_batch_size histogram\n";
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= EngineStats::kBatchBuckets.size(); ++i) {
    running += engine.batch_size_buckets[i].load(std::memory_order_relaxed);
    std::string le = i < EngineStats::kBatchBuckets.size() ? Number(EngineStats::kBatchBuckets[i]) : "+Inf";
    out += "varelay_engine_batch_size_bucket{le=\"" + le + "\"} " + std::to_string(running) + "\n";
  }
  out += "varelay_engine_batch_size_sum " + std::to_string(engine.commands.load()) + "\n";
  out += "varelay_engine_batch_size_count " + std::to_string(running) + "\n";
  out += "# HELP varelay_engine_commit_duration_seconds Time to make one batch durable (fsync included).\n";
  out += "# TYPE varelay_engine_commit_duration_seconds histogram\n";
  running = 0;
  for (std::size_t i = 0; i <= EngineStats::kCommitBucketsMs.size(); ++i) {
    running += engine.commit_ms_buckets[i].load(std::memory_order_relaxed);
    std::string le = i < EngineStats::kCommitBucketsMs.size() ? Number(EngineStats::kCommitBucketsMs[i] / 1000) : "+Inf";
    out += "varelay_engine_commit_duration_seconds_bucket{le=\"" + le + "\"} " + std::to_string(running) + "\n";
  }
  out += "varelay_engine_commit_duration_seconds_sum " + Number(engine.commit_us_total.load() / 1e6) + "\n";
  out += "varelay_engine_commit_duration_seconds_count " + std::to_string(engine.batches.load()) + "\n";
  out += "# HELP varelay_engine_queue_depth Commands waiting for the engine.\n";
  out += "# TYPE varelay_engine_queue_depth gauge\n";
  out += "varelay_engine_queue_depth " + std::to_string(engine.queue_depth.load()) + "\n";
  out += "# HELP varelay_running_snapshots_total Running snapshots begun, by outcome.\n";
  out += "# TYPE varelay_running_snapshots_total counter\n";
  out += "varelay_running_snapshots_total{outcome=\"written\"} " +
         std::to_string(engine.running_snapshots.load()) + "\n";
  out += "varelay_running_snapshots_total{outcome=\"failed\"} " +
         std::to_string(engine.running_snapshot_failures.load()) + "\n";
  out +=
      "# HELP varelay_running_snapshot_batch The command-log batch the last running snapshot "
      "written was taken at.\n";
  out += "# TYPE varelay_running_snapshot_batch gauge\n";
  out += "varelay_running_snapshot_batch " +
         std::to_string(engine.running_snapshot_position.load()) + "\n";
  out +=
      "# HELP varelay_running_snapshot_pause_seconds_total The engine's time copying the process "
      "(fork) to begin them.\n";
  out += "# TYPE varelay_running_snapshot_pause_seconds_total counter\n";
  out += "varelay_running_snapshot_pause_seconds_total " +
         Number(engine.engine_paused_us_total.load() / 1e6) + "\n";
  out += "# HELP varelay_store_wal_checkpoints_total Write-ahead log checkpoints, by who ran them.\n";
  out += "# TYPE varelay_store_wal_checkpoints_total counter\n";
  out += "varelay_store_wal_checkpoints_total{by=\"background\"} " +
         std::to_string(gauges.store.checkpoints_background) + "\n";
  out += "varelay_store_wal_checkpoints_total{by=\"writer\"} " + std::to_string(gauges.store.checkpoints_by_writer) +
         "\n";
  out += "# HELP varelay_store_log_batches_applied_total Command-log batches written to the tables.\n";
  out += "# TYPE varelay_store_log_batches_applied_total counter\n";
  out += "varelay_store_log_batches_applied_total " + std::to_string(gauges.store.log_batches_applied) + "\n";
  out += "# HELP varelay_store_log_apply_rounds_total Transactions the command log was applied in.\n";
  out += "# TYPE varelay_store_log_apply_rounds_total counter\n";
  out += "varelay_store_log_apply_rounds_total " + std::to_string(gauges.store.log_apply_rounds) + "\n";
  out += "# HELP varelay_store_log_unapplied_bytes Command-log bytes acknowledged, not yet in the tables.\n";
  out += "# TYPE varelay_store_log_unapplied_bytes gauge\n";
  out += "varelay_store_log_unapplied_bytes " + std::to_string(gauges.store.log_unapplied_bytes) + "\n";
  out += "# HELP varelay_idempotency_records Idempotency-Key responses stored (in the tables), "
         "kept --idempotency-retention seconds.\n";
  out += "# TYPE varelay_idempotency_records gauge\n";
  out += "varelay_idempotency_records " + std::to_string(gauges.store.idempotency_records) + "\n";
  if (webhooks) {
    out += "# HELP varelay_webhook_attempts_total Webhook delivery attempts by result.\n";
    out += "# TYPE varelay_webhook_attempts_total counter\n";
    for (auto [result, n] : {std::pair{"delivered", &webhooks->delivered}, {"retry", &webhooks->retried},
                             {"failed", &webhooks->failed}, {"gone", &webhooks->gone}}) {
      out += std::string("varelay_webhook_attempts_total{result=\"") + result + "\"} " + std::to_string(n->load()) + "\n";
    }
    out += "# HELP varelay_webhook_in_flight Webhook attempts waiting for an answer.\n";
    out += "# TYPE varelay_webhook_in_flight gauge\n";
    out += "varelay_webhook_in_flight " + std::to_string(webhooks->in_flight.load()) + "\n";
    out += "# HELP varelay_webhook_queued Deliveries waiting or in flight.\n";
    out += "# TYPE varelay_webhook_queued gauge\n";
    out += "varelay_webhook_queued " + std::to_string(webhooks->queued.load()) + "\n";
  }
  if (banks) {
    auto rows = banks->Rows(std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now()));
    out += "# HELP varelay_bank_up Whether calls to the bank go through (0: its circuit is open).\n";
    out += "# TYPE varelay_bank_up gauge\n";
    for (const auto& r : rows) {
      out += "varelay_bank_up{bank=\"" + r.bank + "\",state=\"" + std::string(banks::BreakerStateName(r.state)) +
             "\"} " + (r.state == banks::BreakerState::kOpen ? "0" : "1") + "\n";
    }
    out += "# HELP varelay_bank_calls_total Calls from the relay to banks, by result.\n";
    out += "# TYPE varelay_bank_calls_total counter\n";
    for (const auto& r : rows) {
      for (auto [result, n] : {std::pair{"ok", r.ok}, {"failed", r.failed}, {"refused_open_circuit", r.refused}}) {
        out += "varelay_bank_calls_total{bank=\"" + r.bank + "\",result=\"" + result + "\"} " + std::to_string(n) + "\n";
      }
    }
  }
  return out;
}

}  // namespace varelay::api
