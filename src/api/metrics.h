// Request counts and latencies by route, for /metrics in the Prometheus text format. Lock-free:
// every I/O thread records into fixed arrays of atomics.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "banks/bank_health.h"
#include "notify/dispatcher.h"

namespace varelay::api {

class Metrics {
 public:
  // Seconds; the last bucket is +Inf.
  static constexpr std::array<double, 10> kLatencyBuckets = {0.0005, 0.001, 0.002, 0.005, 0.01,
                                                             0.025,  0.05,  0.1,   0.5,   2.0};
  static constexpr std::array<int, 15> kStatuses = {200, 201, 204, 400, 401, 403, 404, 405,
                                                    409, 413, 415, 422, 500, 503, 0};

  // `routes`: "METHOD /pattern" labels; one more slot is kept for requests that matched none.
  explicit Metrics(std::vector<std::pair<std::string, std::string>> routes);

  // route -1: no route matched.
  void Observe(int route, int status, double seconds);

  // `webhooks` may be null (no dispatcher running).
  // `banks` may be null (no calls to banks are made).
  std::string Render(const EngineStats& engine, const Gauges& gauges, const notify::DispatchStats* webhooks,
                     const banks::BankHealth* banks) const;

 private:
  struct RouteStats {
    std::array<std::atomic<std::uint64_t>, kStatuses.size()> by_status{};
    std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size() + 1> buckets{};
    std::atomic<std::uint64_t> micros_total{0};
  };
  std::vector<std::pair<std::string, std::string>> routes_;  // (method, pattern)
  std::unique_ptr<RouteStats[]> stats_;
};

}  // namespace varelay::api
