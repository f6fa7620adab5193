#include "banks/bank_health.h"

namespace varelay::banks {

bool CircuitBreaker::Allow(Instant now) {
  if (!open_) return true;
  if (now - opened_at_ < options_.open_for || probing_) return false;
  probing_ = true;  // half-open: this call is the probe
  return true;
}

void CircuitBreaker::Record(bool ok, Instant now) {
  probing_ = false;
  if (ok) {
    failures_ = 0;
    open_ = false;
    return;
  }
  ++failures_;
  if (open_ || failures_ >= options_.failure_threshold) {
    open_ = true;
    opened_at_ = now;
  }
}

BreakerState CircuitBreaker::State(Instant now) const {
  if (!open_) return BreakerState::kClosed;
  return now - opened_at_ < options_.open_for ? BreakerState::kOpen : BreakerState::kHalfOpen;
}

std::string_view BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed: return "closed";
    case BreakerState::kOpen: return "open";
    case BreakerState::kHalfOpen: return "half_open";
  }
  return "closed";
}

BankHealth::Entry& BankHealth::At(const std::string& bank) {
  auto it = banks_.find(bank);
  if (it == banks_.end()) it = banks_.emplace(bank, Entry{CircuitBreaker(options_), BankHealthRow{bank}}).first;
  return it->second;
}

bool BankHealth::Allow(const std::string& bank, Instant now) {
  std::lock_guard lock(mutex_);
  Entry& e = At(bank);
  bool allowed = e.breaker.Allow(now);
  if (!allowed) ++e.row.refused;
  return allowed;
}

void BankHealth::Record(const std::string& bank, bool ok, Instant now) {
  std::lock_guard lock(mutex_);
  Entry& e = At(bank);
  e.breaker.Record(ok, now);
  ++(ok ? e.row.ok : e.row.failed);
}

std::vector<BankHealthRow> BankHealth::Rows(Instant now) const {
  std::lock_guard lock(mutex_);
  std::vector<BankHealthRow> rows;
  for (const auto& [bank, e] : banks_) {
    BankHealthRow row = e.row;
    row.state = e.breaker.State(now);
    rows.push_back(row);
  }
  return rows;
}

}  // namespace varelay::banks
