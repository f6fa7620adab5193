// varelay-bench: drives the full payment cycle against a real varelayd and prints figures.
// It starts its own varelayd on a temporary data folder (durability on: every acknowledgement
// follows an fsync), seeds merchants, banks and pools through the API, then runs N clients that
// each loop: issue a number for a new order (merchant API), report the deposit (bank API).
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "client/http_client.h"

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using varelay::client::HttpClient;

namespace {

struct Options {
  std::string varelayd;
  double duration_s = 10;
  int clients = 32;
  int merchants = 2;
  int banks = 2;
  int regions = 2;
  int numbers = 10'000;  // per pool
  bool precheck = false;
  bool json_output = false;
  int io_threads = 1;
};

struct Relay {
  pid_t pid = -1;
  std::string url;
  std::filesystem::path data;
};

const std::string kAdminKey = "vrk_bench_admin_key_0123456789abcdefghijk";

Relay StartRelay(const Options& o) {
  Relay relay;
  relay.data = std::filesystem::temp_directory_path() / ("varelay-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(relay.data);
  std::filesystem::create_directories(relay.data);
  auto log = relay.data / "varelayd.log";
  relay.pid = ::fork();
  if (relay.pid == 0) {
    ::setenv("VARELAY_ADMIN_KEY", kAdminKey.c_str(), 1);
    std::freopen(log.c_str(), "w", stdout);
    std::string data = relay.data.string(), threads = std::to_string(o.io_threads);
    ::execl(o.varelayd.c_str(), o.varelayd.c_str(), "--listen", "127.0.0.1:0", "--data", data.c_str(),
            "--quarantine", "0", "--io-threads", threads.c_str(), static_cast<char*>(nullptr));
    std::perror("exec varelayd");
    std::_Exit(127);
  }
  for (int i = 0; i < 300 && relay.url.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::ifstream in(log);
    std::string line;
    while (std::getline(in, line)) {
      if (line.starts_with("varelayd listening on ")) relay.url = line.substr(22);
    }
  }
  if (relay.url.empty()) {
    std::cerr << "varelay-bench: varelayd did not start; see " << log << "\n";
    std::exit(1);
  }
  return relay;
}

void StopRelay(Relay& relay) {
  ::kill(relay.pid, SIGTERM);
  int status = 0;
  ::waitpid(relay.pid, &status, 0);
  std::filesystem::remove_all(relay.data);
}

// CPU seconds and peak RSS (KiB) of a process, from /proc.
std::pair<double, long> ProcessUsage(pid_t pid) {
  double cpu = 0;
  long hwm = 0;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), {});
  auto close = content.rfind(')');
  if (close != std::string::npos) {
    std::istringstream fields(content.substr(close + 2));
    std::string f;
    long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> f; ++i) {
      if (i == 14) utime = std::stol(f);
      if (i == 15) stime = std::stol(f);
    }
    cpu = double(utime + stime) / double(::sysconf(_SC_CLK_TCK));
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) hwm = std::stol(line.substr(6));
  }
  return {cpu, hwm};
}

std::string Post(HttpClient& c, const std::string& target, const std::string& key, const std::string& body,
                 int expect) {
  auto r = c.Send("POST", target, key, body);
  if (!r || r->status != expect) {
    std::cerr << "varelay-bench: set-up " << target << " failed: " << (r ? r->body : r.error().detail) << "\n";
    std::exit(1);
  }
  return r->body;
}

struct Seeded {
  std::vector<std::string> merchant_keys;
  std::vector<std::string> bank_keys;
  std::vector<std::string> bank_codes;
};

Seeded Seed(const Options& o, const std::string& url) {
  auto client = std::move(*HttpClient::Create(url));
  Seeded s;
  for (int b = 0; b < o.banks; ++b) {
    char code[16];
    std::snprintf(code, sizeof code, "%03d", 100 + b);
    s.bank_codes.push_back(code);
    Post(*client, "/v1/banks", kAdminKey, std::string(R"({"code":")") + code + R"(","name":"Bench Bank"})", 201);
    auto key = Post(*client, "/v1/api-keys", kAdminKey, std::string(R"({"role":"bank","bank":")") + code + "\"}", 201);
    s.bank_keys.push_back(json::value_to<std::string>(json::parse(key).at("key")));
  }
  for (int m = 0; m < o.merchants; ++m) {
    std::string id = "bench-" + std::to_string(m);
    Post(*client, "/v1/merchants", kAdminKey, R"({"id":")" + id + R"(","name":"Bench"})", 201);
    auto key = Post(*client, "/v1/api-keys", kAdminKey, R"({"role":"merchant","merchant":")" + id + "\"}", 201);
    s.merchant_keys.push_back(json::value_to<std::string>(json::parse(key).at("key")));
    for (int b = 0; b < o.banks; ++b) {
      Post(*client, "/v1/merchants/" + id + "/contracts", kAdminKey,
           R"({"bank":")" + s.bank_codes[b] + R"(","mother_account":"1000000000","holder_name":"Bench"})", 201);
      for (int r = 0; r < o.regions; ++r) {
        for (int start = 0; start < o.numbers; start += 50'000) {
          std::string body = "{\"numbers\":[";
          for (int i = start; i < std::min(o.numbers, start + 50'000); ++i) {
            char n[64];
            std::snprintf(n, sizeof n, "%d%02d%02d%08d", 1 + m % 9, m / 9, r, i);
            body += (i > start ? ",\"" : "\"") + std::string(n) + "\"";
          }
          body += "]}";
          Post(*client, "/v1/pools/" + id + "/" + s.bank_codes[b] + "/r" + std::to_string(r) + "/numbers",
               kAdminKey, body, 200);
        }
      }
    }
  }
  return s;
}

struct Samples {
  std::vector<std::uint32_t> issue_us, precheck_us, deposit_us;
  std::uint64_t cycles = 0, errors = 0;
};

void Client(int index, const Options& o, const Seeded& s, const std::string& url, std::atomic<bool>& stop,
            Samples& out) {
  auto client = std::move(*HttpClient::Create(url));
  std::mt19937 rng(static_cast<unsigned>(index));
  std::uint64_t n = 0;
  auto micros = [](Clock::time_point a) {
    return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - a).count());
  };
  while (!stop.load(std::memory_order_relaxed)) {
    int m = static_cast<int>(rng() % s.merchant_keys.size());
    int b = static_cast<int>(rng() % s.bank_codes.size());
    std::string order = "o-" + std::to_string(index) + "-" + std::to_string(n++);
    std::string amount = std::to_string(1000 + rng() % 100000);
    auto t0 = Clock::now();
    auto issued = client->Send("POST", "/v1/assignments", s.merchant_keys[m],
                               R"({"order_id":")" + order + R"(","amount":)" + amount + R"(,"bank":")" +
                                   s.bank_codes[b] + "\"}",
                               {{"Idempotency-Key", order}});
    if (!issued || issued->status != 201) {
      ++out.errors;
      continue;
    }
    out.issue_us.push_back(micros(t0));
    auto body = issued->body;
    auto at = body.find("\"number\":\"");
    std::string number = body.substr(at + 10, body.find('"', at + 10) - at - 10);
    if (o.precheck) {
      auto t1 = Clock::now();
      auto pre = client->Send("POST", "/v1/bank/precheck", s.bank_keys[b],
                              R"({"number":")" + number + R"(","amount":)" + amount + "}");
      if (!pre || pre->status != 200) {
        ++out.errors;
        continue;
      }
      out.precheck_us.push_back(micros(t1));
    }
    auto t2 = Clock::now();
    auto dep = client->Send("POST", "/v1/bank/deposits", s.bank_keys[b],
                            R"({"transaction_id":")" + order + R"(","number":")" + number + R"(","amount":)" +
                                amount + R"(,"deposited_at":"2026-11-25T10:00:00Z"})");
    if (!dep || dep->status != 200) {
      ++out.errors;
      continue;
    }
    out.deposit_us.push_back(micros(t2));
    ++out.cycles;
  }
}

double Percentile(std::vector<std::uint32_t>& v, double p) {
  if (v.empty()) return 0;
  auto k = static_cast<std::size_t>(p * double(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"varelay-bench: full-cycle benchmark (issue + deposit) against a real varelayd"};
  Options o;
  auto self = std::filesystem::canonical("/proc/self/exe").parent_path();
  o.varelayd = (self.parent_path() / "varelayd" / "varelayd").string();
  app.add_option("--varelayd", o.varelayd, "the varelayd binary to start")->capture_default_str();
  app.add_option("--duration", o.duration_s, "seconds of load")->check(CLI::Range(0.5, 3600.0))->capture_default_str();
  app.add_option("--clients", o.clients, "concurrent clients")->check(CLI::Range(1, 1024))->capture_default_str();
  app.add_option("--merchants", o.merchants, "merchants")->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--banks", o.banks, "banks")->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--regions", o.regions, "regions per bank")->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--numbers", o.numbers, "pooled numbers per merchant, bank and region")
      ->check(CLI::Range(1, 100'000'000))->capture_default_str();
  app.add_option("--io-threads", o.io_threads, "varelayd I/O threads")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_flag("--precheck", o.precheck, "also send the bank's pre-check in each cycle");
  app.add_flag("--json", o.json_output, "print one JSON object");
  CLI11_PARSE(app, argc, argv);

  Relay relay = StartRelay(o);
  Seeded seeded = Seed(o, relay.url);
  auto [cpu_before, rss_unused] = ProcessUsage(relay.pid);
  (void)rss_unused;
  std::atomic<bool> stop{false};
  std::vector<Samples> samples(static_cast<std::size_t>(o.clients));
  std::vector<std::thread> threads;
  auto started = Clock::now();
  for (int i = 0; i < o.clients; ++i) {
    threads.emplace_back(Client, i, std::cref(o), std::cref(seeded), std::cref(relay.url), std::ref(stop),
                         std::ref(samples[static_cast<std::size_t>(i)]));
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.duration_s));
  stop = true;
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  auto [cpu_after, rss_kib] = ProcessUsage(relay.pid);
  StopRelay(relay);

  Samples all;
  for (auto& s : samples) {
    all.cycles += s.cycles;
    all.errors += s.errors;
    all.issue_us.insert(all.issue_us.end(), s.issue_us.begin(), s.issue_us.end());
    all.precheck_us.insert(all.precheck_us.end(), s.precheck_us.begin(), s.precheck_us.end());
    all.deposit_us.insert(all.deposit_us.end(), s.deposit_us.begin(), s.deposit_us.end());
  }
  double cycles_per_s = double(all.cycles) / elapsed;
  json::object result{
      {"cycles_per_s", std::round(cycles_per_s)},
      {"cycles", all.cycles},
      {"errors", all.errors},
      {"clients", o.clients},
      {"duration_s", elapsed},
      {"pooled_numbers", std::int64_t{o.merchants} * o.banks * o.regions * o.numbers},
      {"issue_ms", {{"p50", Percentile(all.issue_us, 0.5)}, {"p99", Percentile(all.issue_us, 0.99)}, {"p999", Percentile(all.issue_us, 0.999)}}},
      {"deposit_ack_ms", {{"p50", Percentile(all.deposit_us, 0.5)}, {"p99", Percentile(all.deposit_us, 0.99)}, {"p999", Percentile(all.deposit_us, 0.999)}}},
      {"varelayd_cpu_s_per_s", (cpu_after - cpu_before) / elapsed},
      {"varelayd_peak_rss_mib", double(rss_kib) / 1024.0},
  };
  if (o.precheck) {
    result["precheck_ms"] = {{"p50", Percentile(all.precheck_us, 0.5)}, {"p99", Percentile(all.precheck_us, 0.99)}};
  }
  if (o.json_output) {
    std::cout << json::serialize(result) << "\n";
  } else {
    std::printf("full cycles: %.0f/s (%llu cycles, %llu errors, %d clients, %.1f s)\n", cycles_per_s,
                static_cast<unsigned long long>(all.cycles), static_cast<unsigned long long>(all.errors), o.clients,
                elapsed);
    std::printf("issue        p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms\n", result["issue_ms"].at("p50").as_double(),
                result["issue_ms"].at("p99").as_double(), result["issue_ms"].at("p999").as_double());
    std::printf("deposit ack  p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms\n",
                result["deposit_ack_ms"].at("p50").as_double(), result["deposit_ack_ms"].at("p99").as_double(),
                result["deposit_ack_ms"].at("p999").as_double());
    std::printf("varelayd: %.2f CPU cores busy, peak RSS %.0f MiB\n", result["varelayd_cpu_s_per_s"].as_double(),
                result["varelayd_peak_rss_mib"].as_double());
  }
  return all.cycles > 0 ? 0 : 1;
}
