// Time is injected: the engine asks a Clock, tests hand it one they move by hand.
#pragma once

#include <atomic>

#include "domain/time.h"

namespace varelay {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Instant Now() const override {
    return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now());
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(Instant start) : ms_(ToUnixMs(start)) {}
  Instant Now() const override { return FromUnixMs(ms_.load()); }
  void Advance(Millis by) { ms_ += by.count(); }
  void Set(Instant t) { ms_ = ToUnixMs(t); }

 private:
  std::atomic<std::int64_t> ms_;
};

}  // namespace varelay
