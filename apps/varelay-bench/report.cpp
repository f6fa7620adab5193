#include "report.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

namespace varelay::bench {
namespace json = boost::json;

namespace {

// `value` to `decimals` places, so the JSON shows 0.7 rather than 0.7000000000000001.
double Rounded(double value, int decimals) {
  double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

double Mib(std::int64_t kib) { return Rounded(double(kib) / 1024.0, 1); }

// JSON text with numbers as people write them (2.976, not Boost 1.81's 2.976E0).
void WriteJson(const json::value& v, std::string& out) {
  switch (v.kind()) {
    case json::kind::object: {
      out += '{';
      for (const auto& member : v.get_object()) {
        if (out.back() != '{') out += ',';
        out += json::serialize(json::string(member.key())) + ':';
        WriteJson(member.value(), out);
      }
      out += '}';
      return;
    }
    case json::kind::array:
      out += '[';
      for (const auto& element : v.get_array()) {
        if (out.back() != '[') out += ',';
        WriteJson(element, out);
      }
      out += ']';
      return;
    case json::kind::double_: {
      char text[32];
      auto end = std::to_chars(text, text + sizeof text, v.get_double()).ptr;
      out.append(text, end);
      return;
    }
    default:
      out += json::serialize(v);
  }
}

// The sample at rank p (0..1), nearest-rank on sorted values, in milliseconds.
double At(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p * double(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1] / 1000.0;
}

json::object LatencyJson(const Latency& l) {
  return {{"p50", Rounded(l.p50_ms, 3)},
          {"p99", Rounded(l.p99_ms, 3)},
          {"p999", Rounded(l.p999_ms, 3)},
          {"samples", l.samples}};
}

json::object RunJson(const RunFigures& run, bool precheck) {
  json::object o{
      {"clients", run.clients},
      {"rate_per_s", run.rate_per_s},
      {"duration_s", Rounded(run.elapsed_s, 3)},
      {"cycles_per_s", std::llround(run.CyclesPerS())},
      {"acknowledged_cycles_per_s", std::llround(run.AcknowledgedPerS())},
      {"requests_per_s", std::llround(run.RequestsPerS())},
      {"cycles", run.complete},
      {"acknowledged_cycles", run.acknowledged},
      {"errors", run.errors},
      {"issue_ms", LatencyJson(run.issue)},
      {"deposit_ack_ms", LatencyJson(run.deposit_ack)},
      {"deposit_to_webhook_ms", LatencyJson(run.deposit_to_webhook)},
      {"webhooks",
       {{"received", run.webhooks.received},
        {"deposit_matched", run.webhooks.timed},
        {"other", run.webhooks.other},
        {"duplicates", run.webhooks.duplicates},
        {"verification_failures", run.webhooks.verification_failures},
        {"missing", run.webhooks_missing},
        {"before_ack", run.webhooks_before_ack}}},
      {"varelayd_cpu_cores", Rounded(run.varelayd_cpu_cores, 2)},
      {"varelayd_cpu_us_per_cycle", std::llround(run.VarelaydCpuUsPerCycle())},
      {"varelayd_rss_mib", Mib(run.varelayd_rss_kib)},
      {"varelayd_peak_rss_mib", Mib(run.varelayd_peak_rss_kib)},
      {"bench_cpu_cores", Rounded(run.bench_cpu_cores, 2)},
  };
  if (precheck) o["precheck_ms"] = LatencyJson(run.precheck);
  if (run.audits) {
    const AuditFigures& a = *run.audits;
    o["ledger_audits"] = {{"runs", a.runs},
                          {"failed", a.failed},
                          {"entries", a.entries},
                          {"mean_ms", Rounded(a.runs > 0 ? a.total_ms / double(a.runs) : 0, 1)},
                          {"max_ms", Rounded(a.max_ms, 1)}};
  }
  if (run.division) o["division"] = DivisionJson(*run.division);
  return o;
}

json::object ConfigJson(const Options& o) {
  json::array sweep;
  for (int clients : o.sweep) sweep.push_back(clients);
  return {{"varelayd", o.varelayd},
          {"duration_s", o.duration_s},
          {"clients", o.clients},
          {"sweep", sweep},
          {"rate_per_s", o.rate_per_s},
          {"drain_s", o.drain_s},
          {"merchants", o.merchants},
          {"banks", o.banks},
          {"regions", o.regions},
          {"numbers_per_pool", o.numbers},
          {"pooled_numbers", o.PooledNumbers()},
          {"io_threads", o.io_threads},
          {"load_threads", o.load_threads},
          {"precheck", o.precheck},
          {"peers", o.peers},
          {"restart", o.restart},
          {"open_assignments", o.open_assignments}};
}

json::value OptionalNumber(const std::optional<double>& value) {
  return value ? json::value(std::llround(*value)) : json::value(nullptr);
}

json::value Ratio(double numerator, const std::optional<double>& denominator) {
  return denominator && *denominator > 0 ? json::value(Rounded(numerator / *denominator, 3))
                                         : json::value(nullptr);
}

json::object PeersJson(const PeerFigures& p, const RunFigures& best) {
  return {{"postgres",
           {{"clients", p.postgres_clients},
            {"cycles_per_s", OptionalNumber(p.postgres_cycles_per_s)}}},
          {"redis",
           {{"clients", p.redis_clients}, {"cycles_per_s", OptionalNumber(p.redis_cycles_per_s)}}},
          {"noop_http",
           {{"clients", p.noop_clients}, {"requests_per_s", std::llround(p.noop_requests_per_s)}}},
          {"varelay_vs_postgres", Ratio(best.CyclesPerS(), p.postgres_cycles_per_s)},
          {"varelay_vs_redis", Ratio(best.CyclesPerS(), p.redis_cycles_per_s)},
          {"varelay_requests_vs_noop", Ratio(best.RequestsPerS(), p.noop_requests_per_s)}};
}

void PrintLatency(const char* name, const Latency& l) {
  std::printf("  %-20s p50 %7.2f ms   p99 %7.2f ms   p99.9 %7.2f ms   (%zu samples)\n", name,
              l.p50_ms, l.p99_ms, l.p999_ms, l.samples);
}

void PrintRun(const char* title, const RunFigures& run, bool precheck) {
  std::printf("%s: %.0f full cycles/s at %d clients", title, run.CyclesPerS(), run.clients);
  if (run.rate_per_s > 0) std::printf(", paced at %.0f/s", run.rate_per_s);
  std::printf(
      " (%.1f s: %llu cycles with their webhook, %llu deposits acknowledged, %llu errors)\n",
      run.elapsed_s, static_cast<unsigned long long>(run.complete),
      static_cast<unsigned long long>(run.acknowledged),
      static_cast<unsigned long long>(run.errors));
  PrintLatency("issue", run.issue);
  if (precheck) PrintLatency("pre-check", run.precheck);
  PrintLatency("deposit ack", run.deposit_ack);
  PrintLatency("deposit to webhook", run.deposit_to_webhook);
  const auto& w = run.webhooks;
  std::printf(
      "  webhooks: %llu received (%llu deposit.matched, %llu other), %llu verification failures, "
      "%llu duplicates, %llu missing after the drain\n",
      static_cast<unsigned long long>(w.received), static_cast<unsigned long long>(w.timed),
      static_cast<unsigned long long>(w.other),
      static_cast<unsigned long long>(w.verification_failures),
      static_cast<unsigned long long>(w.duplicates),
      static_cast<unsigned long long>(run.webhooks_missing));
  std::printf(
      "  varelayd: %.2f CPU cores (%.0f us per cycle), RSS %.1f MiB (peak %.1f MiB); the bench "
      "itself: %.2f cores\n",
      run.varelayd_cpu_cores, run.VarelaydCpuUsPerCycle(), Mib(run.varelayd_rss_kib),
      Mib(run.varelayd_peak_rss_kib), run.bench_cpu_cores);
  if (run.audits) {
    const AuditFigures& a = *run.audits;
    std::printf("  ledger audits meanwhile: %llu of %lld entries each (%llu failed), %.0f ms mean, %.0f ms max\n",
                static_cast<unsigned long long>(a.runs), static_cast<long long>(a.entries),
                static_cast<unsigned long long>(a.failed), a.runs > 0 ? a.total_ms / double(a.runs) : 0,
                a.max_ms);
  }
  if (run.division) PrintDivision("  division payments meanwhile: ", *run.division);
}

void PrintPeers(const PeerFigures& p, const RunFigures& best) {
  auto figure = [](const std::optional<double>& v) {
    return v ? std::to_string(std::lround(*v)) + "/s" : "failed";
  };
  std::printf(
      "peers: PostgreSQL %s (%d clients), Redis %s (%d clients); no-op HTTP ceiling %.0f "
      "requests/s "
      "(%d clients)\n",
      figure(p.postgres_cycles_per_s).c_str(), p.postgres_clients,
      figure(p.redis_cycles_per_s).c_str(), p.redis_clients, p.noop_requests_per_s, p.noop_clients);
  auto ratio = [](double a, const std::optional<double>& b) -> std::string {
    if (!b || *b <= 0) return "-";
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", a / *b);
    return text;
  };
  std::printf(
      "  varelay/PostgreSQL %s, varelay/Redis %s, varelay %.0f requests/s vs the ceiling %s\n",
      ratio(best.CyclesPerS(), p.postgres_cycles_per_s).c_str(),
      ratio(best.CyclesPerS(), p.redis_cycles_per_s).c_str(), best.RequestsPerS(),
      ratio(best.RequestsPerS(), p.noop_requests_per_s).c_str());
}

json::object ToJson(const Report& r) {
  const auto& best = r.runs[r.best];
  json::object o = RunJson(best, r.options.precheck);
  o["config"] = ConfigJson(r.options);
  const auto& m = r.memory;
  o["memory"] = {{"pooled_numbers", m.pooled_numbers},
                 {"seed_s", Rounded(m.seed_s, 2)},
                 {"empty_rss_mib", Mib(m.empty_rss_kib)},
                 {"seeded_rss_mib", Mib(m.seeded_rss_kib)},
                 {"rss_bytes_per_number", std::llround(m.BytesPerNumber(m.seeded_rss_kib))}};
  if (r.runs.size() > 1) {
    json::array runs;
    for (const auto& run : r.runs) runs.push_back(RunJson(run, r.options.precheck));
    o["sweep"] = std::move(runs);
  }
  if (r.half_peak) o["half_peak"] = RunJson(*r.half_peak, r.options.precheck);
  if (r.restart) {
    o["restart"] = {{"open_assignments", r.restart->open_assignments},
                    {"signal", r.restart->killed ? "SIGKILL" : "SIGTERM"},
                    {"recovered_from", r.restart->recovered_from},
                    {"stop_ms", Rounded(r.restart->stop_ms, 1)},
                    {"ready_ms", Rounded(r.restart->ready_ms, 1)},
                    {"rss_mib", Mib(r.restart->rss_kib)},
                    {"rss_bytes_per_number", std::llround(m.BytesPerNumber(r.restart->rss_kib))}};
  }
  if (r.peers) o["peers"] = PeersJson(*r.peers, best);
  return o;
}

}  // namespace

Latency Summarize(std::vector<std::uint32_t> micros) {
  std::sort(micros.begin(), micros.end());
  return {At(micros, 0.50), At(micros, 0.99), At(micros, 0.999), micros.size()};
}

std::string JsonText(const json::value& value) {
  std::string text;
  WriteJson(value, text);
  return text;
}

std::string JsonText(const Report& r) {
  std::string text;
  WriteJson(ToJson(r), text);
  return text;
}

namespace {

// --division-during: every run in order, each pair alone then beside division payments.
void PrintAlternating(const Report& r) {
  for (const auto& run : r.runs) {
    PrintRun(run.division ? "beside division payments" : "alone", run, r.options.precheck);
  }
  std::printf("the bank's debits: %s\n", r.division_check->empty()
                                              ? "match the approved division payments, one each"
                                              : r.division_check->c_str());
}

}  // namespace

void PrintText(const Report& r) {
  const auto& best = r.runs[r.best];
  if (r.division_check) {
    PrintAlternating(r);
  } else if (r.runs.size() > 1) {
    std::printf("sweep:");
    for (const auto& run : r.runs)
      std::printf("  %d clients %.0f/s", run.clients, run.CyclesPerS());
    std::printf("  (best: %d clients)\n", best.clients);
  }
  if (!r.division_check) PrintRun("varelay", best, r.options.precheck);
  if (r.half_peak) PrintRun("at half the peak rate", *r.half_peak, r.options.precheck);
  const auto& m = r.memory;
  std::printf(
      "memory: %lld pooled numbers (seeded in %.1f s); varelayd RSS %.1f MiB empty, %.1f MiB "
      "seeded: "
      "%.0f bytes per number\n",
      static_cast<long long>(m.pooled_numbers), m.seed_s, Mib(m.empty_rss_kib),
      Mib(m.seeded_rss_kib), m.BytesPerNumber(m.seeded_rss_kib));
  if (r.restart) {
    std::printf(
        "restart: %s in %.0f ms, ready in %.0f ms (%lld numbers, %lld open assignments); RSS "
        "%.1f MiB: "
        "%.0f bytes per number\n  state from %s\n",
        r.restart->killed ? "killed" : "stopped", r.restart->stop_ms, r.restart->ready_ms,
        static_cast<long long>(m.pooled_numbers),
        static_cast<long long>(r.restart->open_assignments), Mib(r.restart->rss_kib),
        m.BytesPerNumber(r.restart->rss_kib), r.restart->recovered_from.c_str());
  }
  if (r.peers) PrintPeers(*r.peers, best);
}

json::object DivisionJson(const DivisionFigures& d) {
  return {{"clients", d.clients},
          {"rate_per_s", d.rate_per_s},
          {"elapsed_s", Rounded(d.elapsed_s, 2)},
          {"settled_per_s", Rounded(d.SettledPerS(), 2)},
          {"approved", d.approved},
          {"declined", d.declined},
          {"declines", d.declines},
          {"unsettled", d.unsettled},
          {"errors", d.errors},
          {"approved_won", d.approved_won},
          {"create_ms", LatencyJson(d.create)},
          {"authorize_ms", LatencyJson(d.authorize)},
          {"authorize_to_approved_ms", LatencyJson(d.to_settled)},
          {"authorize_answer_to_approved_ms", LatencyJson(d.answer_to_settled)},
          {"cycle_ms", LatencyJson(d.cycle)},
          {"varelayd_cpu_cores", Rounded(d.varelayd_cpu_cores, 2)}};
}

void PrintDivision(const char* indent, const DivisionFigures& d) {
  std::printf("%s%.1f settled/s at %d clients", indent, d.SettledPerS(), d.clients);
  if (d.rate_per_s > 0) std::printf(", paced at %.1f/s", d.rate_per_s);
  std::printf(" (%.1f s: %llu approved for %lld won, %llu declined%s%s%s, %llu unsettled, %llu errors; "
              "varelayd %.2f cores)\n",
              d.elapsed_s, static_cast<unsigned long long>(d.approved),
              static_cast<long long>(d.approved_won), static_cast<unsigned long long>(d.declined),
              d.declines.empty() ? "" : " (", d.declines.c_str(), d.declines.empty() ? "" : ")",
              static_cast<unsigned long long>(d.unsettled), static_cast<unsigned long long>(d.errors),
              d.varelayd_cpu_cores);
  PrintLatency("create", d.create);
  PrintLatency("authorize", d.authorize);
  PrintLatency("authorize->approved", d.to_settled);
  PrintLatency("answer->approved", d.answer_to_settled);
  PrintLatency("whole cycle", d.cycle);
}

}  // namespace varelay::bench
