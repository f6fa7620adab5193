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

  std::int64_t PooledNumbers() const { return std::int64_t{merchants} * banks * regions * numbers; }
};

}  // namespace varelay::bench
