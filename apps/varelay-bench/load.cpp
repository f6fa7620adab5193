#include "load.h"

#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>

namespace varelay::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kDrainPoll = std::chrono::milliseconds(10);
constexpr int kOpenAssignmentClients = 8;
constexpr std::size_t kReplyBytesMax = 1 << 20;

std::uint32_t MicrosSince(Clock::time_point start) { return MicrosBetween(start, Clock::now()); }

// "http://HOST:PORT" as an endpoint; throws on anything else (the bench builds these URLs).
tcp::endpoint EndpointOf(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  std::string_view rest(url);
  if (!rest.starts_with(kScheme)) throw std::runtime_error("not an http:// URL: " + url);
  rest.remove_prefix(kScheme.size());
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos) throw std::runtime_error("no port in " + url);
  auto address = asio::ip::make_address(std::string(rest.substr(0, colon)));
  auto port = static_cast<unsigned short>(std::stoi(std::string(rest.substr(colon + 1))));
  return {address, port};
}

struct Reply {
  int status = 0;
  std::string body;
};

// One kept-alive HTTP/1.1 connection, one request at a time. A request that fails on a connection
// the server may have closed is sent once more on a new one: everything the bench sends that moves
// money carries an idempotency key (the order id, the bank's transaction id).
class Connection {
 public:
  Connection(asio::any_io_executor executor, tcp::endpoint endpoint)
      : stream_(std::move(executor)), endpoint_(endpoint) {}

  asio::awaitable<std::optional<Reply>> Send(http::verb verb, std::string target, std::string bearer,
                                             std::string body, std::string idempotency_key) {
    http::request<http::string_body> request{verb, target, 11};
    request.set(http::field::host, "127.0.0.1");
    if (!bearer.empty()) request.set(http::field::authorization, "Bearer " + bearer);
    if (!idempotency_key.empty()) request.set("Idempotency-Key", idempotency_key);
    if (!body.empty()) {
      request.set(http::field::content_type, "application/json");
      request.body() = std::move(body);
    }
    request.keep_alive(true);
    request.prepare_payload();
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!connected_) {
        auto [connect_ec] = co_await stream_.socket().async_connect(endpoint_, kUseTuple);
        if (connect_ec) co_return std::nullopt;
        stream_.socket().set_option(tcp::no_delay(true));
        buffer_.clear();
        connected_ = true;
      }
      auto [write_ec, written] = co_await http::async_write(stream_, request, kUseTuple);
      if (!write_ec) {
        http::response_parser<http::string_body> parser;
        parser.body_limit(kReplyBytesMax);
        auto [read_ec, read] = co_await http::async_read(stream_, buffer_, parser, kUseTuple);
        if (!read_ec) {
          auto response = parser.release();
          if (!response.keep_alive()) Close();
          co_return Reply{static_cast<int>(response.result_int()), std::move(response.body())};
        }
      }
      Close();
    }
    co_return std::nullopt;
  }

 private:
  void Close() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
    connected_ = false;
  }

  beast::tcp_stream stream_;
  tcp::endpoint endpoint_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
};

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

// When a client's steps are due: back to back until the deadline, or every `period` from `first`.
struct Schedule {
  Clock::time_point first, deadline;
  Clock::duration period{};  // zero: back to back
};

Schedule Spread(Clock::time_point start, double duration_s, double rate_per_s, int clients, int client) {
  Schedule s{start, start + Seconds(duration_s), {}};
  if (rate_per_s > 0) {
    s.period = Seconds(double(clients) / rate_per_s);
    s.first = start + s.period * client / clients;
  }
  return s;
}

// Runs `step(due)` on the schedule: each start waits for its due time (paced) or none.
template <typename Step>
asio::awaitable<void> RunScheduled(Schedule schedule, Step step) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (auto due = schedule.first;; due += schedule.period) {
    if (schedule.period == Clock::duration::zero()) due = Clock::now();
    if (due >= schedule.deadline) co_return;
    if (schedule.period != Clock::duration::zero()) {
      timer.expires_at(due);
      co_await timer.async_wait(kUseTuple);
    }
    co_await step(due);
  }
}

// Runs `io` on `threads` threads until every coroutine spawned on it has finished; the seconds that took.
double RunToEnd(asio::io_context& io, int threads, Clock::time_point start) {
  {
    std::vector<std::jthread> runners;
    for (int i = 1; i < threads; ++i) runners.emplace_back([&io] { io.run(); });
    io.run();
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// One merchant-and-bank pair of the cycle: issues at a random merchant and bank, then sends the
// bank's notice for the full amount. Its state is touched by its own coroutine only.
class CycleClient {
 public:
  CycleClient(const Rig& rig, asio::any_io_executor executor, tcp::endpoint endpoint, std::string order_prefix,
              unsigned seed)
      : rig_(&rig), http_(std::move(executor), endpoint), order_prefix_(std::move(order_prefix)), rng_(seed) {}

  struct Issued {
    std::string order_id, number, amount;
    std::size_t bank = 0;
  };

  // Issues a number for a new order; its latency counts from `due`.
  asio::awaitable<std::optional<Issued>> Issue(Clock::time_point due) {
    const auto& institutions = rig_->institutions;
    std::string merchant_key = institutions.merchant_keys[rng_() % institutions.merchant_keys.size()];
    Issued issued;
    issued.bank = rng_() % institutions.bank_codes.size();
    issued.order_id = order_prefix_ + std::to_string(next_order_++);
    issued.amount = std::to_string(1000 + rng_() % 100000);
    std::string body = R"({"order_id":")" + issued.order_id + R"(","amount":)" + issued.amount + R"(,"bank":")" +
                       institutions.bank_codes[issued.bank] + "\"}";
    auto reply = co_await http_.Send(http::verb::post, "/v1/assignments", std::move(merchant_key), std::move(body),
                                     issued.order_id);
    if (reply && reply->status == 201) issued.number = NumberIn(reply->body);
    if (issued.number.empty()) {
      ++samples_.errors;
      co_return std::nullopt;
    }
    samples_.issue_us.push_back(MicrosSince(due));
    co_return issued;
  }

  // One cycle: issue, pre-check (when asked), then the bank's deposit notice.
  asio::awaitable<void> Cycle(Clock::time_point due) {
    auto issued = co_await Issue(due);
    if (!issued) co_return;
    const std::string& bank_key = rig_->institutions.bank_keys[issued->bank];
    if (rig_->options.precheck) {
      auto started = Clock::now();
      std::string body = R"({"number":")" + issued->number + R"(","amount":)" + issued->amount + "}";
      auto reply = co_await http_.Send(http::verb::post, "/v1/bank/precheck", bank_key, std::move(body), {});
      if (!reply || reply->status != 200) {
        ++samples_.errors;
        co_return;
      }
      samples_.precheck_us.push_back(MicrosSince(started));
    }
    auto started = Clock::now();
    std::string body = R"({"transaction_id":")" + issued->order_id + R"(","number":")" + issued->number +
                       R"(","amount":)" + issued->amount + R"(,"deposited_at":"2026-11-25T10:00:00Z"})";
    auto reply = co_await http_.Send(http::verb::post, "/v1/bank/deposits", bank_key, std::move(body), {});
    auto acknowledged = Clock::now();
    if (!reply || reply->status != 200) {
      ++samples_.errors;
      co_return;
    }
    rig_->tracker.Acknowledged(issued->order_id, acknowledged);
    samples_.deposit_us.push_back(MicrosBetween(started, acknowledged));
    ++samples_.acknowledged;
  }

  const CycleSamples& samples() const { return samples_; }

 private:
  const Rig* rig_;
  Connection http_;
  std::string order_prefix_;
  std::uint64_t next_order_ = 0;
  std::mt19937 rng_;
  CycleSamples samples_;
};

asio::awaitable<void> RunCycles(CycleClient& client, Schedule schedule) {
  co_await RunScheduled(schedule, [&client](Clock::time_point due) { return client.Cycle(due); });
}

asio::awaitable<void> RunIssues(CycleClient& client, int count) {
  for (int n = 0; n < count; ++n) co_await client.Issue(Clock::now());
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

RunFigures MeasureCycles(const Rig& rig, int clients, double rate_per_s, int round) {
  asio::io_context io;
  const auto endpoint = EndpointOf(rig.relay.url());
  std::vector<std::unique_ptr<CycleClient>> pool;
  for (int i = 0; i < clients; ++i) {
    pool.push_back(std::make_unique<CycleClient>(rig, io.get_executor(), endpoint,
                                                 "r" + std::to_string(round) + "c" + std::to_string(i) + "-",
                                                 static_cast<unsigned>(round * 10'000 + i)));
  }
  rig.tracker.TakeRound();  // forgets what an earlier run left unpaired
  rig.receiver.BeginRound();
  auto webhooks_before = rig.receiver.Counts();
  auto relay_before = ReadUsage(rig.relay.pid());
  auto self_before = ReadUsage(::getpid());

  RunFigures run;
  run.clients = clients;
  run.rate_per_s = rate_per_s;
  const auto start = Clock::now();
  for (int i = 0; i < clients; ++i) {
    asio::co_spawn(io, RunCycles(*pool[static_cast<std::size_t>(i)],
                                 Spread(start, rig.options.duration_s, rate_per_s, clients, i)),
                   asio::detached);
  }
  run.elapsed_s = RunToEnd(io, rig.options.load_threads, start);

  auto relay_after = ReadUsage(rig.relay.pid());
  auto self_after = ReadUsage(::getpid());
  run.complete = (rig.receiver.Counts() - webhooks_before).timed;
  WaitForWebhooks(rig.tracker, rig.options.drain_s);
  auto paired = rig.tracker.TakeRound();
  run.webhooks = rig.receiver.Counts() - webhooks_before;

  CycleSamples all;
  for (const auto& c : pool) all.Append(c->samples());
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
  asio::io_context io;
  const auto endpoint = EndpointOf(rig.relay.url());
  std::vector<std::unique_ptr<CycleClient>> pool;
  for (int i = 0; i < kOpenAssignmentClients; ++i) {
    pool.push_back(std::make_unique<CycleClient>(rig, io.get_executor(), endpoint,
                                                 "open-c" + std::to_string(i) + "-", static_cast<unsigned>(i)));
    int share = count / kOpenAssignmentClients + (i < count % kOpenAssignmentClients ? 1 : 0);
    asio::co_spawn(io, RunIssues(*pool.back(), share), asio::detached);
  }
  RunToEnd(io, rig.options.load_threads, Clock::now());
  std::int64_t issued = 0;
  for (const auto& c : pool) issued += static_cast<std::int64_t>(c->samples().issue_us.size());
  return issued;
}

namespace {

asio::awaitable<void> RunNoop(Connection& connection, Schedule schedule, std::uint64_t& answered) {
  co_await RunScheduled(schedule, [&](Clock::time_point) -> asio::awaitable<void> {
    auto reply = co_await connection.Send(http::verb::get, "/", {}, {}, {});
    if (reply && reply->status == 200) ++answered;
  });
}

}  // namespace

double MeasureRequestsPerSecond(const std::string& url, int clients, int load_threads, double duration_s) {
  asio::io_context io;
  const auto endpoint = EndpointOf(url);
  std::vector<std::unique_ptr<Connection>> connections;
  std::vector<std::uint64_t> answered(static_cast<std::size_t>(clients), 0);
  const auto start = Clock::now();
  for (int i = 0; i < clients; ++i) {
    connections.push_back(std::make_unique<Connection>(io.get_executor(), endpoint));
    asio::co_spawn(io, RunNoop(*connections.back(), Spread(start, duration_s, 0, clients, i),
                               answered[static_cast<std::size_t>(i)]),
                   asio::detached);
  }
  double elapsed_s = RunToEnd(io, load_threads, start);
  std::uint64_t total = 0;
  for (auto n : answered) total += n;
  return double(total) / elapsed_s;
}

}  // namespace varelay::bench
