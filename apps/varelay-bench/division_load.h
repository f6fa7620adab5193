// Division-account payments against a real varelayd and a real varelay-banksim (docs/benchmarks.md,
// "Division-account payments (issue 15)"): the set-up (a telegram bank served by the simulator, a
// merchant with a contract there, masters with accounts at the simulated bank, enrolled and signed
// in, division accounts with known passwords and no limits), the payment cycles (create, authorise
// with number and password on the page token, poll until the bank's debit settles it), and the
// check that the bank debited exactly what was approved.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "banksim_process.h"
#include "load.h"
#include "options.h"
#include "relay_process.h"
#include "report.h"

namespace varelay::bench {

// What the set-up made, for the cycles and the final check.
struct DivisionSide {
  std::string relay_url, sim_url, merchant_key;
  struct Account {
    std::string number, password;
    std::size_t master = 0;
  };
  std::vector<Account> accounts;
  std::vector<std::string> master_accounts;  // each master's account at the simulated bank
};

// Starts the simulated bank for the division bank (before varelayd: see DivisionRelayOptions).
std::unique_ptr<BanksimProcess> StartDivisionBanksim(const Options& options);

// Everything set up through both APIs: the bank (JSON, or telegrams with options.telegram), the
// merchant, the masters and their accounts. Throws std::runtime_error when a step is refused.
class DivisionBank {
 public:
  DivisionBank(const Options& options, const RelayProcess& relay, const BanksimProcess& sim);
  const DivisionSide& side() const { return side_; }
  // Empty when every master's balance went down by exactly the approved sum of its accounts'
  // payments, in exactly one debit each; else what differs.
  std::string CheckDebits(const std::vector<std::int64_t>& approved_won_by_master,
                          const std::vector<std::uint64_t>& approved_by_master) const;

 private:
  DivisionSide side_;
};

// Division payment cycles on `clients` threads (each a blocking client of its own: a cycle takes
// an argon2id verification, tens of milliseconds, so thread wake-ups do not matter), from
// construction until `duration_s` has passed or Finish is called. Paced when `rate_per_s` > 0,
// counted from when a cycle was due. A cycle polls until its payment is approved or declined.
class DivisionLoad {
 public:
  DivisionLoad(const DivisionSide& side, pid_t relay_pid, int clients, double rate_per_s,
               double duration_s, std::string order_prefix);
  ~DivisionLoad();
  DivisionLoad(const DivisionLoad&) = delete;
  DivisionLoad& operator=(const DivisionLoad&) = delete;
  // Stops starting cycles, waits for those under way, returns the figures.
  DivisionFigures Finish();
  const std::vector<std::int64_t>& approved_won_by_master() const { return won_by_master_; }
  const std::vector<std::uint64_t>& approved_by_master() const { return approved_by_master_; }

  struct Samples;

 private:
  void Run(int client);

  const DivisionSide& side_;
  pid_t relay_pid_;
  int clients_;
  double rate_per_s_;
  std::string order_prefix_;
  std::chrono::steady_clock::time_point start_, deadline_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::unique_ptr<Samples> samples_;  // merged by each client as it ends
  std::vector<std::int64_t> won_by_master_;
  std::vector<std::uint64_t> approved_by_master_;
  std::vector<std::thread> threads_;
  double relay_cpu_before_ = 0;
  bool finished_ = false;
  DivisionFigures figures_;
};

// The options varelayd is started with for division payments: argon2id strength and threads, and
// the simulator's URL as the JSON bank's (--json-bank).
Options DivisionRelayOptions(const Options& options, const BanksimProcess& sim);

// --division-during: options.division_pairs pairs of deposit runs as MeasureCycles measures them,
// the first of each alone, the second beside a stream of division payments (paced at
// options.division_rate_per_s, by default 2 a second); then checks the bank's debits into
// report.division_check.
void MeasureBesideDivisions(const Rig& rig, const DivisionBank& bank, Report& report, int& round);

// --division: starts varelayd and the simulated bank, sets up, runs the load for
// options.duration_s, checks the bank's balances and prints the figures. The exit status.
int RunDivisionBench(const Options& options);

}  // namespace varelay::bench
