// What `--ledger-entries` and `--verify-during` add to a run: a long ledger written into the
// data folder before varelayd first starts, and ledger audits (GET /v1/ledger/verify) run back to
// back on a connection of their own while the load is measured, to show whether they hold up the
// writer (docs/benchmarks.md, "Ledger audits during the load").
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>

#include "report.h"

namespace varelay::bench {

// Writes `entries` booked deposits, each posted by one entry of a sound hash chain, into the
// tables of the new data folder `data` (before varelayd first starts on it, which then goes on
// from that head). Throws std::runtime_error when the store cannot be written.
void FillLedger(const std::filesystem::path& data, std::int64_t entries);

// Runs ledger audits against `url` one after another on a thread of its own, from construction
// until Finish, which returns what they found.
class AuditLoop {
 public:
  explicit AuditLoop(std::string url);
  ~AuditLoop();
  AuditLoop(const AuditLoop&) = delete;
  AuditLoop& operator=(const AuditLoop&) = delete;
  AuditFigures Finish();

 private:
  std::string url_;
  std::atomic<bool> stop_{false};
  AuditFigures figures_;
  std::thread thread_;
};

}  // namespace varelay::bench
