#include "peers.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "load.h"
#include "loopback_server.h"

namespace varelay::bench {
namespace {

// The shell quoting of one argument.
std::string Quoted(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace

namespace {

std::optional<double> RunPeerOnce(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) {
    std::cerr << "varelay-bench: cannot run " << command << "\n";
    return std::nullopt;
  }
  constexpr std::string_view kPrefix = "peer_cycles_per_s ";
  std::optional<double> cycles_per_s;
  char line[512];
  while (std::fgets(line, sizeof line, pipe.get())) {
    std::string_view text(line);
    if (text.starts_with(kPrefix)) cycles_per_s = std::atof(line + kPrefix.size());
  }
  if (!cycles_per_s || *cycles_per_s <= 0) {
    std::cerr << "varelay-bench: " << command << " printed no peer_cycles_per_s above 0\n";
    return std::nullopt;
  }
  return cycles_per_s;
}

}  // namespace

std::optional<double> RunPeer(const std::filesystem::path& script, double duration_s, int clients) {
  if (!std::filesystem::exists(script)) {
    std::cerr << "varelay-bench: no peer at " << script << " (see --shared)\n";
    return std::nullopt;
  }
  // The scripts take whole seconds.
  auto seconds = std::max<long>(1, std::lround(duration_s));
  std::string command =
      Quoted(script.string()) + " " + std::to_string(seconds) + " " + std::to_string(clients);
  // A peer's throwaway server sometimes fails to start (the Redis peer picks a random port, which
  // can be taken): one more try before the peer is reported as failed.
  if (auto first = RunPeerOnce(command)) return first;
  std::cerr << "varelay-bench: running " << command << " once more\n";
  return RunPeerOnce(command);
}

double MeasureNoopCeiling(int clients, int load_threads, double duration_s) {
  LoopbackServer server([](const ServerRequest&) { return 200; }, 1);
  return MeasureRequestsPerSecond(server.url(), clients, load_threads, duration_s);
}

}  // namespace varelay::bench
