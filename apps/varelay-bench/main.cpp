// varelay-bench: drives the full payment cycle against a real varelayd and prints figures
// (docs/benchmarks.md). It starts its own varelayd on a temporary data folder (durability on:
// every acknowledgement follows an fsync), seeds merchants, banks and pools through the API,
// registers a webhook endpoint per merchant at its own receiver, then runs N clients that each
// loop: issue a number for a new order (merchant API), report the deposit (bank API). A cycle is
// complete when its deposit.matched webhook has arrived and verified.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "division_load.h"
#include "ledger_audit_load.h"
#include "load.h"
#include "peers.h"
#include "relay_process.h"
#include "report.h"
#include "setup.h"
#include "webhook_receiver.h"

namespace {

using namespace varelay::bench;

constexpr int kReceiverThreads = 2;

// ../shared beside the repository root: the source tree this binary was built from, else the
// working directory.
std::string DefaultSharedDir() {
  for (const auto& root :
       {std::filesystem::path(VARELAY_SOURCE_DIR), std::filesystem::current_path()}) {
    auto shared = root / ".." / "shared";
    if (std::filesystem::is_directory(shared))
      return std::filesystem::weakly_canonical(shared).string();
  }
  return (std::filesystem::path(VARELAY_SOURCE_DIR) / ".." / "shared").lexically_normal().string();
}

void AddDivisionFlags(CLI::App& app, Options& o, const std::filesystem::path& self) {
  o.banksim = (self.parent_path() / "varelay-banksim" / "varelay-banksim").string();
  auto* division = app.add_flag(
      "--division", o.division,
      "measure division-account payments instead (create, authorise with number and password, "
      "the bank's debit at varelay-banksim) and check the bank's balances");
  auto* during = app.add_flag(
      "--division-during", o.division_during,
      "deposit runs in pairs, alone and beside a stream of division payments (argon2id checks)");
  during->excludes(division);
  app.add_option("--banksim", o.banksim, "the varelay-banksim binary to start")->capture_default_str();
  app.add_flag("--telegram", o.telegram,
               "the division bank speaks telegrams (0600/500 consent, 0100/100 debit) instead of "
               "the JSON bank API");
  app.add_option("--masters", o.masters, "masters enrolled (enrolments and sign-ins from one address "
                                         "are limited to a burst of 20)")
      ->check(CLI::Range(1, 10))->capture_default_str();
  app.add_option("--division-accounts", o.division_accounts, "division accounts issued over the masters")
      ->check(CLI::Range(1, 10'000))->capture_default_str();
  app.add_option("--division-clients", o.division_clients, "concurrent division payment cycles")
      ->check(CLI::Range(1, 256))->capture_default_str();
  app.add_option("--division-rate", o.division_rate_per_s,
                 "division payments a second, paced; 0: closed loop with --division, 2 with "
                 "--division-during")
      ->check(CLI::Range(0.0, 1e4))->capture_default_str();
  app.add_option("--division-pairs", o.division_pairs, "--division-during: pairs of runs")
      ->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--password-hash-strength", o.password_hash_strength,
                 "varelayd --password-hash-strength (the argon2id cost of the accounts' passwords)")
      ->check(CLI::IsMember({"interactive", "moderate", "testing-only"}))->capture_default_str();
  app.add_option("--password-threads", o.password_threads,
                 "varelayd --password-threads; 0: varelayd's default")
      ->check(CLI::Range(0, 64))->capture_default_str();
}

void AddFlags(CLI::App& app, Options& o) {
  auto self = std::filesystem::canonical("/proc/self/exe").parent_path();
  o.varelayd = (self.parent_path() / "varelayd" / "varelayd").string();
  o.shared_dir = DefaultSharedDir();
  app.add_option("--varelayd", o.varelayd, "the varelayd binary to start")->capture_default_str();
  app.add_option("--duration", o.duration_s, "seconds of each measured load")
      ->check(CLI::Range(0.5, 3600.0))
      ->capture_default_str();
  auto* clients =
      app.add_option("--clients", o.clients, "concurrent clients, each one cycle at a time")
          ->check(CLI::Range(1, 1024))
          ->capture_default_str();
  auto* sweep =
      app.add_option(
             "--sweep", o.sweep,
             "client counts to measure in turn, e.g. 8,16,32,64; reports the best, then the "
             "latencies at half its rate (paced, with the largest client count)")
          ->delimiter(',')
          ->check(CLI::Range(1, 1024))
          ->excludes(clients);
  app.add_option("--rate", o.rate_per_s,
                 "cycles per second in total, paced (open loop); 0: as fast as the clients go")
      ->check(CLI::Range(0.0, 1e6))
      ->excludes(sweep)
      ->capture_default_str();
  app.add_option("--drain", o.drain_s,
                 "seconds to wait after the load for webhooks still on their way")
      ->check(CLI::Range(0.0, 600.0))
      ->capture_default_str();
  app.add_option("--merchants", o.merchants, "merchants (one webhook endpoint each)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--banks", o.banks, "banks")->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--regions", o.regions, "regions per bank")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--numbers", o.numbers, "pooled numbers per merchant, bank and region")
      ->check(CLI::Range(1, 100'000'000))
      ->capture_default_str();
  app.add_option("--io-threads", o.io_threads, "varelayd I/O threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--load-threads", o.load_threads,
                 "event-loop threads the clients run on (every client is a coroutine)")
      ->check(CLI::Range(1, 16))->capture_default_str();
  app.add_flag("--precheck", o.precheck, "also send the bank's pre-check in each cycle");
  app.add_flag("--json", o.json_output, "print exactly one JSON object");
  app.add_flag("--peers", o.peers,
               "also measure the PostgreSQL and Redis peers and the no-op HTTP ceiling");
  app.add_option("--shared", o.shared_dir, "folder with peer-postgres/run and peer-redis/run")
      ->capture_default_str();
  app.add_option("--peer-pg-clients", o.peer_pg_clients, "clients of the PostgreSQL peer")
      ->check(CLI::Range(1, 190))
      ->capture_default_str();
  app.add_option("--peer-redis-clients", o.peer_redis_clients, "clients of the Redis peer")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  auto* restart =
      app.add_flag("--restart", o.restart,
                   "after the load, stop varelayd (SIGTERM), start it on the same data, time until "
                   "/healthz answers");
  app.add_option("--open-assignments", o.open_assignments,
                 "with --restart: assignments issued and left open first")
      ->check(CLI::Range(0, 100'000'000))
      ->needs(restart)
      ->capture_default_str();
  app.add_flag(
         "--restart-kill", o.restart_kill,
         "with --restart: stop varelayd with SIGKILL instead (the start then reads the running "
         "snapshot and the log after it)")
      ->needs(restart);
  app.add_option("--ledger-entries", o.ledger_entries,
                 "ledger entries (booked deposits) written into varelayd's data folder before it "
                 "first starts, for the audits to read")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{100'000'000}))
      ->capture_default_str();
  app.add_flag("--verify-during", o.verify_during,
               "run ledger audits (GET /v1/ledger/verify) back to back during each measured load "
               "and report them");
  AddDivisionFlags(app, o, self);
  app.add_flag("--keep-data", o.keep_data,
               "leave varelayd's data folder behind (for a timed start or a look inside); its path "
               "goes to stderr");
}

// Measures, in order: memory before and after seeding, each client count, half the best rate,
// the restart, then (varelayd stopped) the ceiling and the peers.
Report Measure(const Options& o) {
  Report report;
  report.options = o;
  DepositTracker tracker;
  WebhookReceiver receiver(tracker, kReceiverThreads);
  std::unique_ptr<BanksimProcess> banksim;
  if (o.division_during) banksim = StartDivisionBanksim(o);
  {
    RelayProcess relay(banksim ? DivisionRelayOptions(o, *banksim) : o);
    report.memory.pooled_numbers = o.PooledNumbers();
    report.memory.empty_rss_kib = ReadUsage(relay.pid()).rss_kib;
    auto seeding = Clock::now();
    Institutions institutions = Seed(o, relay.url());
    report.memory.seed_s = std::chrono::duration<double>(Clock::now() - seeding).count();
    report.memory.seeded_rss_kib = ReadUsage(relay.pid()).rss_kib;
    RegisterWebhooks(institutions, relay.url(), receiver);

    Rig rig{o, institutions, relay, receiver, tracker};
    int round = 0;
    std::optional<DivisionBank> division;
    if (o.division_during) {
      division.emplace(o, relay, *banksim);
      MeasureBesideDivisions(rig, *division, report, round);
    }
    for (int clients : o.division_during  ? std::vector<int>{}
                       : o.sweep.empty() ? std::vector<int>{o.clients}
                                         : o.sweep) {
      std::optional<AuditLoop> audits;
      if (o.verify_during) audits.emplace(relay.url());
      report.runs.push_back(
          MeasureCycles(rig, clients, o.sweep.empty() ? o.rate_per_s : 0, round++));
      if (audits) report.runs.back().audits = audits->Finish();
    }
    auto best = std::max_element(
        report.runs.begin(), report.runs.end(),
        [](const auto& a, const auto& b) { return a.CyclesPerS() < b.CyclesPerS(); });
    report.best = static_cast<std::size_t>(best - report.runs.begin());
    if (!o.sweep.empty() && best->CyclesPerS() > 0) {
      // Paced with the most clients of the sweep: at half the rate each is idle most of the
      // time, so the clients themselves never hold the rate back.
      int clients = *std::ranges::max_element(o.sweep);
      report.half_peak = MeasureCycles(rig, clients, best->CyclesPerS() / 2, round++);
    }
    if (o.restart) {
      RestartFigures restart;
      restart.open_assignments = IssueOpenAssignments(rig, o.open_assignments);
      restart.killed = o.restart_kill;
      restart.stop_ms = o.restart_kill ? relay.Kill() : relay.Stop();
      restart.ready_ms = relay.Restart();
      restart.rss_kib = ReadUsage(relay.pid()).rss_kib;
      restart.recovered_from = relay.RecoveredFrom();
      report.restart = restart;
    }
  }  // varelayd stops here: the ceiling and the peers get the machine to themselves
  if (o.peers) {
    PeerFigures peers;
    peers.noop_clients = report.runs[report.best].clients;
    peers.noop_requests_per_s = MeasureNoopCeiling(peers.noop_clients, o.load_threads, o.duration_s);
    peers.postgres_clients = o.peer_pg_clients;
    peers.postgres_cycles_per_s =
        RunPeer(std::filesystem::path(o.shared_dir) / "peer-postgres" / "run", o.duration_s,
                o.peer_pg_clients);
    peers.redis_clients = o.peer_redis_clients;
    peers.redis_cycles_per_s = RunPeer(std::filesystem::path(o.shared_dir) / "peer-redis" / "run",
                                       o.duration_s, o.peer_redis_clients);
    report.peers = peers;
  }
  return report;
}

// What makes the run a failure, whatever the figures: no complete cycle, a webhook that did not
// verify, or one that never came.
std::string Verdict(const Report& report) {
  if (report.runs[report.best].complete == 0) {
    return "no cycle completed (no deposit webhook arrived while the load ran)";
  }
  std::vector<RunFigures> runs = report.runs;
  if (report.half_peak) runs.push_back(*report.half_peak);
  for (const auto& run : runs) {
    if (run.webhooks.verification_failures > 0) return "webhooks failed verification";
    if (run.webhooks_missing > 0) return "webhooks still missing after the drain";
  }
  if (report.division_check && !report.division_check->empty()) {
    return "the bank's debits differ from the approved division payments: " +
           *report.division_check;
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "varelay-bench: full-cycle benchmark (issue, deposit, webhook) against a real varelayd"};
  Options options;
  AddFlags(app, options);
  CLI11_PARSE(app, argc, argv);
  int clients_max =
      options.sweep.empty() ? options.clients : *std::ranges::max_element(options.sweep);
  if (options.open_assignments + clients_max >= options.PooledNumbers()) {
    std::cerr
        << "varelay-bench: --open-assignments plus clients must stay below the pooled numbers ("
        << options.PooledNumbers() << ")\n";
    return 2;
  }
  try {
    if (options.division) return RunDivisionBench(options);
    Report report = Measure(options);
    if (options.json_output) {
      std::cout << JsonText(report) << "\n";
    } else {
      PrintText(report);
    }
    auto verdict = Verdict(report);
    if (!verdict.empty()) std::cerr << "varelay-bench: " << verdict << "\n";
    return verdict.empty() ? 0 : 1;
  } catch (const std::exception& e) {
    // Set-up failures end the run; unwinding stops varelayd and the receiver.
    std::cerr << "varelay-bench: " << e.what() << "\n";
    return 1;
  }
}
