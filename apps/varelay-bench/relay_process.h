// The varelayd under test: a child process on a temporary data folder of its own, stopped and
// started again on the same folder for the restart figure, and what /proc says about it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "options.h"

namespace varelay::bench {

// The admin key the bench gives varelayd (VARELAY_ADMIN_KEY) to seed it through the API.
inline const std::string kAdminKey = "vrk_bench_admin_key_0123456789abcdefghijk";

struct ProcessUsage {
  double cpu_s = 0;               // user + system time so far (/proc/PID/stat utime + stime)
  std::int64_t rss_kib = 0;       // resident now (VmRSS)
  std::int64_t peak_rss_kib = 0;  // resident at most so far (VmHWM)
};

// Zeros when the process is gone.
ProcessUsage ReadUsage(pid_t pid);

class RelayProcess {
 public:
  // Starts varelayd on a fresh folder under the temp dir, serving 127.0.0.1:0, with quarantine 0
  // (a paid number is free again at once) and plain-HTTP webhooks allowed to loopback, and waits
  // until /healthz answers. Throws std::runtime_error (with the end of its log) when it does not
  // come up.
  explicit RelayProcess(const Options& options);
  // Stops the process if it runs and removes the folder.
  ~RelayProcess();
  RelayProcess(const RelayProcess&) = delete;
  RelayProcess& operator=(const RelayProcess&) = delete;

  // SIGTERM, then waits for the exit. Milliseconds until it exited.
  double Stop();
  // SIGKILL, as a crash would, then waits for the exit. Milliseconds until it exited.
  double Kill();
  // What the last start said its state came from ("the store", "the stop snapshot", ...), from
  // its log; empty when it said nothing.
  std::string RecoveredFrom() const;
  // Starts varelayd again on the same folder (a new port). Milliseconds from fork until /healthz
  // answered 200: recovery included, since varelayd listens only once it has recovered.
  double Restart();

  pid_t pid() const { return pid_; }
  const std::string& url() const { return url_; }

 private:
  void Launch();

  Options options_;
  std::filesystem::path data_;
  int starts_ = 0;
  pid_t pid_ = -1;
  std::string url_;
};

}  // namespace varelay::bench
