// Calls the relay makes to banks (real-time issuance today) go through a circuit breaker per bank:
// after a run of failures the bank is not called for a while, so checkout falls back to the pool
// at once instead of waiting out a timeout on every order. Thread-safe; time is passed in.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "domain/time.h"

namespace varelay::banks {

struct BreakerOptions {
  int failure_threshold = 5;                      // consecutive failures that open the circuit
  Millis open_for{std::chrono::seconds(30)};      // then one probe is let through
};

enum class BreakerState { kClosed, kOpen, kHalfOpen };

// One bank's breaker: closed (calls go through), open (calls refused until open_for has passed),
// half-open (one probe in flight; its result closes or re-opens the circuit).
class CircuitBreaker {
 public:
  explicit CircuitBreaker(BreakerOptions options = {}) : options_(options) {}
  // Whether a call may go out now; in half-open state only the first caller gets true.
  bool Allow(Instant now);
  void Record(bool ok, Instant now);
  BreakerState State(Instant now) const;

 private:
  BreakerOptions options_;
  int failures_ = 0;
  bool open_ = false;
  bool probing_ = false;
  Instant opened_at_{};
};

// Figures per bank for /metrics.
struct BankHealthRow {
  std::string bank;
  BreakerState state = BreakerState::kClosed;
  std::uint64_t ok = 0, failed = 0, refused = 0;  // calls answered, failed, not made (circuit open)
};

class BankHealth {
 public:
  explicit BankHealth(BreakerOptions options = {}) : options_(options) {}
  bool Allow(const std::string& bank, Instant now);
  void Record(const std::string& bank, bool ok, Instant now);
  std::vector<BankHealthRow> Rows(Instant now) const;

 private:
  struct Entry {
    CircuitBreaker breaker;
    BankHealthRow row;
  };
  Entry& At(const std::string& bank);

  BreakerOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> banks_;
};

std::string_view BreakerStateName(BreakerState state);

}  // namespace varelay::banks
