// What one varelay-bench invocation was asked to do (the flags; see docs/benchmarks.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace varelay::bench {

struct Options {
  std::string varelayd;    // the varelayd binary to start
  std::string shared_dir;  // holds peer-postgres/run and peer-redis/run
  double duration_s = 10;  // of each measured load
  int clients = 32;
  std::vector<int> sweep;  // client counts; empty: one run at `clients`
  double rate_per_s =
      0;  // cycles per second in total, paced (open loop); 0: as fast as the clients go
  double drain_s = 5;  // after the load, how long missing webhooks may still arrive
  int merchants = 2;
  int banks = 2;
  int regions = 2;
  int numbers = 10'000;  // per (merchant, bank, region) pool
  int io_threads = 1;    // varelayd --io-threads
  int load_threads = 1;  // event-loop threads the bench's clients run on
  bool precheck = false;
  bool json_output = false;
  bool peers = false;
  int peer_pg_clients = 16;
  int peer_redis_clients = 32;
  bool restart = false;
  bool restart_kill = false;  // with restart: SIGKILL instead of SIGTERM
  int open_assignments = 0;  // issued and left unpaid before the restart
  bool keep_data = false;    // leave varelayd's data folder behind (its path goes to stderr)
  std::int64_t ledger_entries = 0;  // written into the data folder before varelayd first starts
  bool verify_during = false;       // ledger audits back to back during each measured load
  // Division-account payments (docs/benchmarks.md, "Division-account payments (issue 15)").
  bool division = false;         // measure division payments instead of deposits
  bool division_during = false;  // deposit runs, alternately without and with division payments
  std::string banksim;           // the varelay-banksim binary to start beside varelayd
  bool telegram = false;         // the division bank speaks telegrams (else the JSON bank API)
  int masters = 4;               // enrolled masters, each with one account at the simulated bank
  int division_accounts = 16;    // issued division accounts, spread over the masters
  int division_clients = 4;      // concurrent division payment cycles
  double division_rate_per_s = 0;  // --division: paced cycles/s (0: closed loop); -during: its stream
  int division_pairs = 2;          // --division-during: runs without and with, interleaved
  std::string password_hash_strength = "interactive";  // varelayd --password-hash-strength
  int password_threads = 0;                            // varelayd --password-threads; 0: its default
  std::vector<std::string> varelayd_args;              // more flags for varelayd (set by the bench)

  std::int64_t PooledNumbers() const { return std::int64_t{merchants} * banks * regions * numbers; }
};

}  // namespace varelay::bench
