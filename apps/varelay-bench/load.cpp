#include "load.h"

#include <unistd.h>

#include <algorithm>
#include <stdexcept>

namespace varelay::bench {
namespace {

constexpr auto kDrainPoll = std::chrono::milliseconds(10);
constexpr int kOpenAssignmentClients = 8;

// The "number" member of an issued assignment; empty when absent. A plain search: the bench
// shares the machine's cores with the relay, and this runs once per cycle.
std::string NumberIn(const std::string& body) {
  constexpr std::string_view kKey = "\"number\":\"";
  auto at = body.find(kKey);
  if (at == std::string::npos) return {};
  auto start = at + kKey.size();
  auto end = body.find('"', start);
  return end == std::string::npos ? std::string() : body.substr(start, end - start);
}

void WaitForWebhooks(const DepositTracker& tracker, double drain_s) {
  auto deadline = Clock::now() + Seconds(drain_s);
  while (tracker.Missing() > 0 && Clock::now() < deadline) std::this_thread::sleep_for(kDrainPoll);
}

void Append(std::vector<std::uint32_t>& to, const std::vector<std::uint32_t>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

}  // namespace

void CycleSamples::Append(const CycleSamples& other) {
  bench::Append(issue_us, other.issue_us);
  bench::Append(precheck_us, other.precheck_us);
  bench::Append(deposit_us, other.deposit_us);
  acknowledged += other.acknowledged;
  errors += other.errors;
}

CycleClient::CycleClient(const Institutions& institutions, const std::string& url,
                         std::string order_prefix, unsigned seed, bool precheck,
                         DepositTracker& tracker)
    : institutions_(&institutions),
      order_prefix_(std::move(order_prefix)),
      rng_(seed),
      precheck_(precheck),
      tracker_(&tracker) {
  auto http = client::HttpClient::Create(url);
  if (!http) throw std::runtime_error("cannot use " + url + ": " + http.error().detail);
  http_ = std::move(*http);
}

std::optional<CycleClient::Issued> CycleClient::Issue(Clock::time_point due) {
  const auto& merchant_key =
      institutions_->merchant_keys[rng_() % institutions_->merchant_keys.size()];
  Issued issued;
  issued.bank = rng_() % institutions_->bank_codes.size();
  issued.order_id = order_prefix_ + std::to_string(next_order_++);
  issued.amount = std::to_string(1000 + rng_() % 100000);
  auto reply = http_->Send("POST", "/v1/assignments", merchant_key,
                           R"({"order_id":")" + issued.order_id + R"(","amount":)" + issued.amount +
                               R"(,"bank":")" + institutions_->bank_codes[issued.bank] + "\"}",
                           {{"Idempotency-Key", issued.order_id}});
  if (reply && reply->status == 201) issued.number = NumberIn(reply->body);
  if (issued.number.empty()) {
    ++samples_.errors;
    return std::nullopt;
  }
  samples_.issue_us.push_back(MicrosSince(due));
  return issued;
}

void CycleClient::Step(Clock::time_point due) {
  auto issued = Issue(due);
  if (!issued) return;
  const auto& bank_key = institutions_->bank_keys[issued->bank];
  if (precheck_) {
    auto started = Clock::now();
    auto reply =
        http_->Send("POST", "/v1/bank/precheck", bank_key,
                    R"({"number":")" + issued->number + R"(","amount":)" + issued->amount + "}");
    if (!reply || reply->status != 200) {
      ++samples_.errors;
      return;
    }
    samples_.precheck_us.push_back(MicrosSince(started));
  }
  auto started = Clock::now();
  auto reply = http_->Send("POST", "/v1/bank/deposits", bank_key,
                           R"({"transaction_id":")" + issued->order_id + R"(","number":")" +
                               issued->number + R"(","amount":)" + issued->amount +
                               R"(,"deposited_at":"2026-11-25T10:00:00Z"})");
  auto acknowledged = Clock::now();
  if (!reply || reply->status != 200) {
    ++samples_.errors;
    return;
  }
  tracker_->Acknowledged(issued->order_id, acknowledged);
  samples_.deposit_us.push_back(MicrosBetween(started, acknowledged));
  ++samples_.acknowledged;
}

RunFigures MeasureCycles(const Rig& rig, int clients, double rate_per_s, int round) {
  std::vector<CycleClient> pool;
  for (int i = 0; i < clients; ++i) {
    pool.emplace_back(rig.institutions, rig.relay.url(),
                      "r" + std::to_string(round) + "c" + std::to_string(i) + "-",
                      static_cast<unsigned>(round * 10'000 + i), rig.options.precheck, rig.tracker);
  }
  rig.tracker.TakeRound();  // forgets what an earlier run left unpaired
  rig.receiver.BeginRound();
  auto webhooks_before = rig.receiver.Counts();
  auto relay_before = ReadUsage(rig.relay.pid());
  auto self_before = ReadUsage(::getpid());

  RunFigures run;
  run.clients = clients;
  run.rate_per_s = rate_per_s;
  run.elapsed_s = RunClients(pool, rig.options.duration_s, rate_per_s);

  auto relay_after = ReadUsage(rig.relay.pid());
  auto self_after = ReadUsage(::getpid());
  run.complete = (rig.receiver.Counts() - webhooks_before).timed;
  WaitForWebhooks(rig.tracker, rig.options.drain_s);
  auto paired = rig.tracker.TakeRound();
  run.webhooks = rig.receiver.Counts() - webhooks_before;

  CycleSamples all;
  for (const auto& c : pool) all.Append(c.samples());
  run.acknowledged = all.acknowledged;
  run.errors = all.errors;
  run.issue = Summarize(std::move(all.issue_us));
  run.precheck = Summarize(std::move(all.precheck_us));
  run.deposit_ack = Summarize(std::move(all.deposit_us));
  run.deposit_to_webhook = Summarize(std::move(paired.latency_us));
  run.webhooks_missing = paired.missing;
  run.webhooks_before_ack = paired.before_ack;
  run.varelayd_cpu_cores = (relay_after.cpu_s - relay_before.cpu_s) / run.elapsed_s;
  run.bench_cpu_cores = (self_after.cpu_s - self_before.cpu_s) / run.elapsed_s;
  run.varelayd_rss_kib = relay_after.rss_kib;
  run.varelayd_peak_rss_kib = relay_after.peak_rss_kib;
  return run;
}

std::int64_t IssueOpenAssignments(const Rig& rig, int count) {
  std::vector<CycleClient> pool;
  for (int i = 0; i < kOpenAssignmentClients; ++i) {
    pool.emplace_back(rig.institutions, rig.relay.url(), "open-c" + std::to_string(i) + "-",
                      static_cast<unsigned>(i), false, rig.tracker);
  }
  std::int64_t issued = 0;
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < kOpenAssignmentClients; ++i) {
      int share = count / kOpenAssignmentClients + (i < count % kOpenAssignmentClients ? 1 : 0);
      threads.emplace_back([&pool, i, share] {
        for (int n = 0; n < share; ++n) pool[static_cast<std::size_t>(i)].Issue(Clock::now());
      });
    }
  }
  for (const auto& c : pool) issued += static_cast<std::int64_t>(c.samples().issue_us.size());
  return issued;
}

}  // namespace varelay::bench
