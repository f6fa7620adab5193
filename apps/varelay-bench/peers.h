// What varelay is compared with: the reference peers in ../shared (the same cycle written by hand
// on PostgreSQL and on Redis, each durable) and the no-op HTTP ceiling (the most requests per
// second the bench's own HTTP client gets from a server that does nothing).
#pragma once

#include <filesystem>
#include <optional>

namespace varelay::bench {

// Runs `script SECONDS CLIENTS` (peer-postgres/run or peer-redis/run) and reads its
// "peer_cycles_per_s N" line; nullopt (with the reason on stderr) when it printed none.
std::optional<double> RunPeer(const std::filesystem::path& script, double duration_s, int clients);

// Requests per second that `clients` clients of the cycle's kind (coroutines on `load_threads`
// event-loop threads) get from a one-thread Beast server answering 200 with a two-byte body.
double MeasureNoopCeiling(int clients, int load_threads, double duration_s);

}  // namespace varelay::bench
