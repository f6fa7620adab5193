#include "division_load.h"

#include <unistd.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <stdexcept>

#include "client/http_client.h"
#include "load.h"

namespace varelay::bench {
namespace json = boost::json;
using client::HttpClient;

namespace {

constexpr const char* kBankCode = "004";
constexpr const char* kMerchant = "div-shop";
constexpr const char* kMasterPassword = "blue heron 42";
constexpr const char* kHolderId = "840309";  // the simulator's holder id: the birth date's YYMMDD
constexpr const char* kBirthDate = "1984-03-09";
constexpr std::int64_t kOpeningBalance = 10'000'000'000;  // won: no payment of the run runs out
constexpr int kAmountMin = 1'000, kAmountSpread = 9'000;  // won a payment
// How often a cycle asks whether its payment settled, and for how long at most.
constexpr auto kPollInterval = std::chrono::milliseconds(1);
constexpr auto kSettleTimeout = std::chrono::seconds(30);
constexpr int kStreamRateDefault = 2;  // --division-during's authorisations a second when not set

using Headers = std::vector<std::pair<std::string, std::string>>;

std::unique_ptr<HttpClient> Connect(const std::string& url) {
  auto client = HttpClient::Create(url);
  if (!client) throw std::runtime_error("cannot use " + url + ": " + client.error().detail);
  return std::move(*client);
}

// Sends and returns the parsed body; throws unless the status is `expect`.
json::value Call(HttpClient& client, const char* method, const std::string& target,
                 const std::string& key, const json::value& body, int expect,
                 const Headers& headers = {}) {
  auto reply =
      client.Send(method, target, key, body.is_null() ? "" : json::serialize(body), headers);
  if (!reply || reply->status != expect) {
    throw std::runtime_error(
        std::string("division set-up ") + method + " " + target + " failed: " +
        (reply ? std::to_string(reply->status) + " " + reply->body : reply.error().detail));
  }
  return reply->body.empty() ? json::value() : json::parse(reply->body);
}

std::string Text(const json::value& v, const char* name) {
  return json::value_to<std::string>(v.at(name));
}

std::string MasterAccount(int master) {
  char account[32];
  std::snprintf(account, sizeof account, "300000000%02d", master);
  return account;
}

// The bank, its key, the merchant with a contract there and its checkout key.
std::string SeedMerchantAndBank(HttpClient& relay, const char* protocol) {
  Call(relay, "POST", "/v1/banks", kAdminKey,
       {{"code", kBankCode}, {"name", "Bench Division Bank"}, {"protocol", protocol}}, 201);
  Call(relay, "POST", "/v1/merchants", kAdminKey, {{"id", kMerchant}, {"name", "Bench shop"}}, 201);
  Call(relay, "POST", std::string("/v1/merchants/") + kMerchant + "/contracts", kAdminKey,
       {{"bank", kBankCode}, {"mother_account", "004100000000001"}, {"holder_name", "Bench shop"}},
       201);
  auto merchant_key =
      Text(Call(relay, "POST", "/v1/api-keys", kAdminKey,
                {{"role", "merchant"}, {"merchant", kMerchant}, {"label", "bench checkout"}}, 201),
           "key");
  return merchant_key;
}

// Opens the master's account at the simulator, enrols and signs the master in; the session token.
std::string EnrolMaster(HttpClient& relay, HttpClient& sim, int master) {
  std::string account = MasterAccount(master), name = "Bench Master " + std::to_string(master);
  std::string login = "master" + std::to_string(master) + "@bench.example";
  Call(sim, "POST", "/sim/accounts", "",
       {{"bank", kBankCode},
        {"account", account},
        {"holder_name", name},
        {"holder_id", kHolderId},
        {"balance", kOpeningBalance}},
       201);
  Call(relay, "POST", "/v1/masters", "",
       {{"bank_code", kBankCode},
        {"account", account},
        {"holder_name", name},
        {"birth_date", kBirthDate},
        {"login", login},
        {"password", kMasterPassword}},
       201);
  return Text(Call(relay, "POST", "/v1/master/sessions", "",
                   {{"login", login}, {"password", kMasterPassword}}, 201),
              "token");
}

double LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double one = 0;
  in >> one;
  return one;
}

}  // namespace

std::unique_ptr<BanksimProcess> StartDivisionBanksim(const Options& options) {
  auto log = std::filesystem::temp_directory_path() /
             ("varelay-bench-banksim-" + std::to_string(::getpid()) + ".log");
  return std::make_unique<BanksimProcess>(options.banksim, kBankCode, log);
}

DivisionBank::DivisionBank(const Options& options, const RelayProcess& relay,
                           const BanksimProcess& banksim) {
  side_.relay_url = relay.url();
  side_.sim_url = banksim.url();
  auto client = Connect(relay.url());
  side_.merchant_key = SeedMerchantAndBank(*client, options.telegram ? "telegram" : "json");
  if (options.telegram) {
    Call(*client, "PATCH", std::string("/v1/banks/") + kBankCode, kAdminKey,
         {{"endpoint", banksim.telegram_endpoint()}}, 200);
  }
  auto sim = Connect(banksim.url());
  std::vector<std::string> sessions;
  for (int m = 0; m < options.masters; ++m) {
    sessions.push_back(EnrolMaster(*client, *sim, m));
    side_.master_accounts.push_back(MasterAccount(m));
  }
  for (int a = 0; a < options.division_accounts; ++a) {
    auto master = static_cast<std::size_t>(a % options.masters);
    std::string password = "bench pass " + std::to_string(a);
    auto issued = Call(*client, "POST", "/v1/master/division-accounts", sessions[master],
                       {{"dependant", {{"name", "Dependant " + std::to_string(a)}}},
                        {"label", "bench " + std::to_string(a)},
                        {"password", password}},
                       201);
    side_.accounts.push_back({Text(issued, "number"), password, master});
  }
}

std::string DivisionBank::CheckDebits(const std::vector<std::int64_t>& approved_won_by_master,
                                      const std::vector<std::uint64_t>& approved_by_master) const {
  auto sim = Connect(side_.sim_url);
  std::string differences;
  for (std::size_t m = 0; m < side_.master_accounts.size(); ++m) {
    auto account = Call(*sim, "GET",
                        std::string("/sim/accounts/") + kBankCode + "/" + side_.master_accounts[m],
                        "", nullptr, 200);
    auto balance = account.at("balance").to_number<std::int64_t>();
    auto debits = account.at("debits").as_array().size();
    if (kOpeningBalance - balance != approved_won_by_master[m] || debits != approved_by_master[m]) {
      differences += "master " + std::to_string(m) + ": the bank debited " +
                     std::to_string(kOpeningBalance - balance) + " won in " +
                     std::to_string(debits) + " debits, the relay approved " +
                     std::to_string(approved_won_by_master[m]) + " won in " +
                     std::to_string(approved_by_master[m]) + " payments; ";
    }
  }
  return differences;
}

struct DivisionLoad::Samples {
  std::vector<std::uint32_t> create_us, authorize_us, to_settled_us, answer_to_settled_us, cycle_us;
  std::uint64_t approved = 0, declined = 0, unsettled = 0, errors = 0;
  std::int64_t approved_won = 0;
  std::map<std::string, std::uint64_t> declines;
};

DivisionLoad::DivisionLoad(const DivisionSide& side, pid_t relay_pid, int clients,
                           double rate_per_s, double duration_s, std::string order_prefix)
    : side_(side),
      relay_pid_(relay_pid),
      clients_(clients),
      rate_per_s_(rate_per_s),
      order_prefix_(std::move(order_prefix)),
      samples_(std::make_unique<Samples>()),
      won_by_master_(side.master_accounts.size(), 0),
      approved_by_master_(side.master_accounts.size(), 0) {
  relay_cpu_before_ = ReadUsage(relay_pid_).cpu_s;
  start_ = Clock::now();
  deadline_ = start_ + Seconds(duration_s);
  for (int c = 0; c < clients; ++c) threads_.emplace_back([this, c] { Run(c); });
}

DivisionLoad::~DivisionLoad() { Finish(); }

DivisionFigures DivisionLoad::Finish() {
  if (finished_) return figures_;
  finished_ = true;
  stop_.store(true);
  for (auto& t : threads_) t.join();
  auto& d = figures_;
  d.clients = clients_;
  d.rate_per_s = rate_per_s_;
  d.elapsed_s = std::chrono::duration<double>(std::min(Clock::now(), deadline_) - start_).count();
  d.varelayd_cpu_cores = (ReadUsage(relay_pid_).cpu_s - relay_cpu_before_) / d.elapsed_s;
  auto& s = *samples_;
  d.create = Summarize(std::move(s.create_us));
  d.authorize = Summarize(std::move(s.authorize_us));
  d.to_settled = Summarize(std::move(s.to_settled_us));
  d.answer_to_settled = Summarize(std::move(s.answer_to_settled_us));
  d.cycle = Summarize(std::move(s.cycle_us));
  d.approved = s.approved;
  d.declined = s.declined;
  d.unsettled = s.unsettled;
  d.errors = s.errors;
  d.approved_won = s.approved_won;
  for (const auto& [reason, n] : s.declines) {
    d.declines += (d.declines.empty() ? "" : ", ") + reason + " " + std::to_string(n);
  }
  return figures_;
}

namespace {

// "approved", "declined" (with its reason in `reason`), or another state. Throws on a body that is
// not a payment.
std::string StatusOf(const std::string& body, std::string& reason) {
  auto parsed = json::parse(body);
  const auto& o = parsed.as_object();
  if (const auto* r = o.if_contains("decline_reason"); r && r->is_string()) {
    reason = json::value_to<std::string>(*r);
  }
  return json::value_to<std::string>(o.at("status"));
}

std::int64_t PayOnce(HttpClient& http, const DivisionSide& side,
                     const DivisionSide::Account& account, const std::string& order_id,
                     std::int64_t amount, Clock::time_point due, DivisionLoad::Samples& s) {
  json::object create{
      {"order_id", order_id}, {"amount", amount}, {"return_url", "https://shop.example/back"}};
  auto created = http.Send("POST", "/v1/division-payments", side.merchant_key,
                           json::serialize(create), {{"Idempotency-Key", order_id}});
  auto after_create = Clock::now();
  if (!created || created->status != 201) {
    ++s.errors;
    return 0;
  }
  auto payment = json::parse(created->body);
  std::string id = Text(payment, "id"), page = Text(payment, "payment_page_url");
  std::string token = page.substr(page.find("#t=") + 3);
  s.create_us.push_back(MicrosBetween(due, after_create));

  json::object credentials{{"number", account.number}, {"password", account.password}};
  auto sent = Clock::now();
  auto answer = http.Send("POST", "/v1/division-payments/" + id + "/authorize", "",
                          json::serialize(credentials), {{"Authorization", "Page " + token}});
  auto answered = Clock::now();
  if (!answer || answer->status != 200) {
    ++s.errors;
    return 0;
  }
  s.authorize_us.push_back(MicrosBetween(sent, answered));
  std::string reason;
  std::string status = StatusOf(answer->body, reason);
  auto settled = answered;
  while (status != "approved" && status != "declined") {
    if (Clock::now() - answered > kSettleTimeout) {
      ++s.unsettled;
      return 0;
    }
    std::this_thread::sleep_for(kPollInterval);
    auto polled = http.Send("GET", "/v1/division-payments/" + id, side.merchant_key);
    settled = Clock::now();
    if (!polled || polled->status != 200) {
      ++s.errors;
      return 0;
    }
    status = StatusOf(polled->body, reason);
  }
  s.cycle_us.push_back(MicrosBetween(due, settled));
  if (status == "declined") {
    ++s.declined;
    ++s.declines[reason];
    return 0;
  }
  s.to_settled_us.push_back(MicrosBetween(sent, settled));
  s.answer_to_settled_us.push_back(MicrosBetween(answered, settled));
  ++s.approved;
  s.approved_won += amount;
  return amount;
}

}  // namespace

void DivisionLoad::Run(int client) {
  std::mt19937 rng(static_cast<unsigned>(client * 7919 + 17));
  Samples mine;
  std::vector<std::int64_t> won(won_by_master_.size(), 0);
  std::vector<std::uint64_t> approved(won_by_master_.size(), 0);
  auto http = Connect(side_.relay_url);
  Clock::duration period{};
  auto due = start_;
  if (rate_per_s_ > 0) {
    period = Seconds(double(clients_) / rate_per_s_);
    due = start_ + period * client / clients_;
  }
  for (std::uint64_t n = 0;; ++n, due += period) {
    if (period == Clock::duration::zero()) due = Clock::now();
    if (due >= deadline_ || stop_.load()) break;
    std::this_thread::sleep_until(due);
    const auto& account = side_.accounts[rng() % side_.accounts.size()];
    std::int64_t amount = kAmountMin + static_cast<std::int64_t>(rng() % kAmountSpread);
    std::string order_id = order_prefix_ + std::to_string(client) + "-" + std::to_string(n);
    try {
      if (PayOnce(*http, side_, account, order_id, amount, due, mine) > 0) {
        won[account.master] += amount;
        ++approved[account.master];
      }
    } catch (const std::exception&) {  // an answer that is not the JSON the API documents
      ++mine.errors;
    }
  }
  std::lock_guard lock(mutex_);
  auto append = [](auto& to, const auto& from) { to.insert(to.end(), from.begin(), from.end()); };
  append(samples_->create_us, mine.create_us);
  append(samples_->authorize_us, mine.authorize_us);
  append(samples_->to_settled_us, mine.to_settled_us);
  append(samples_->answer_to_settled_us, mine.answer_to_settled_us);
  append(samples_->cycle_us, mine.cycle_us);
  samples_->approved += mine.approved;
  samples_->declined += mine.declined;
  samples_->unsettled += mine.unsettled;
  samples_->errors += mine.errors;
  samples_->approved_won += mine.approved_won;
  for (const auto& [reason, count] : mine.declines) samples_->declines[reason] += count;
  for (std::size_t m = 0; m < won.size(); ++m) {
    won_by_master_[m] += won[m];
    approved_by_master_[m] += approved[m];
  }
}

namespace {

Options WithDivisionFlags(Options o, const BanksimProcess& sim) {
  o.varelayd_args.insert(o.varelayd_args.end(),
                         {"--password-hash-strength", o.password_hash_strength, "--json-bank",
                          std::string(kBankCode) + "=" + sim.url()});
  if (o.password_threads > 0) {
    o.varelayd_args.insert(o.varelayd_args.end(),
                           {"--password-threads", std::to_string(o.password_threads)});
  }
  return o;
}

}  // namespace

Options DivisionRelayOptions(const Options& options, const BanksimProcess& sim) {
  return WithDivisionFlags(options, sim);
}

void MeasureBesideDivisions(const Rig& rig, const DivisionBank& bank, Report& report, int& round) {
  const Options& o = rig.options;
  const double rate = o.division_rate_per_s > 0 ? o.division_rate_per_s : kStreamRateDefault;
  std::vector<std::int64_t> won(bank.side().master_accounts.size(), 0);
  std::vector<std::uint64_t> approved(won.size(), 0);
  for (int pair = 0; pair < o.division_pairs; ++pair) {
    report.runs.push_back(MeasureCycles(rig, o.clients, o.rate_per_s, round++));
    DivisionLoad stream(bank.side(), rig.relay.pid(), o.division_clients, rate, o.duration_s,
                        "during" + std::to_string(round) + "-");
    RunFigures run = MeasureCycles(rig, o.clients, o.rate_per_s, round++);
    run.division = stream.Finish();
    for (std::size_t m = 0; m < won.size(); ++m) {
      won[m] += stream.approved_won_by_master()[m];
      approved[m] += stream.approved_by_master()[m];
    }
    report.runs.push_back(std::move(run));
  }
  report.division_check = bank.CheckDebits(won, approved);
}

int RunDivisionBench(const Options& options) {
  auto sim = StartDivisionBanksim(options);
  const Options o = WithDivisionFlags(options, *sim);
  RelayProcess relay(o);
  DivisionBank bank(o, relay, *sim);
  double load_before = LoadAverage();
  DivisionLoad load(bank.side(), relay.pid(), o.division_clients, o.division_rate_per_s,
                    o.duration_s, "div-");
  std::this_thread::sleep_for(Seconds(o.duration_s));
  DivisionFigures figures = load.Finish();
  double load_after = LoadAverage();
  std::string check = bank.CheckDebits(load.approved_won_by_master(), load.approved_by_master());
  if (o.json_output) {
    json::object out = DivisionJson(figures);
    out["password_hash_strength"] = o.password_hash_strength;
    out["masters"] = o.masters;
    out["division_accounts"] = o.division_accounts;
    out["protocol"] = o.telegram ? "telegram" : "json";
    out["load_average_before"] = std::round(load_before * 100) / 100;
    out["load_average_after"] = std::round(load_after * 100) / 100;
    out["bank_debits_match"] = check.empty();
    std::cout << JsonText(out) << "\n";
  } else {
    std::printf(
        "division payments: argon2id %s, %d masters, %d accounts, %s bank at "
        "varelay-banksim; load average %.2f before, %.2f after\n",
        o.password_hash_strength.c_str(), o.masters, o.division_accounts,
        o.telegram ? "telegram" : "JSON", load_before, load_after);
    PrintDivision("", figures);
    std::printf("  the bank's debits: %s\n",
                check.empty() ? "match the approved payments, one each" : check.c_str());
  }
  if (!check.empty()) return 1;
  if (figures.approved == 0) {
    std::cerr << "varelay-bench: no division payment was approved\n";
    return 1;
  }
  return 0;
}

}  // namespace varelay::bench
