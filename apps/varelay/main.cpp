// varelay: the operator's command-line client. Talks to varelayd over its HTTP API, except
// `ledger verify --data`, which checks a database file directly (read-only) and needs no server.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "client/http_client.h"
#include "crypto/sealer.h"
#include "domain/identifiers.h"
#include "engine/ledger_audit.h"
#include "store/log_records.h"
#include "store/log_store.h"
#include "store/sqlite_store.h"

namespace json = boost::json;
using varelay::client::HttpClient;
using varelay::client::Reply;

namespace {

struct Connection {
  std::string url = "http://127.0.0.1:8080";
  std::string key;
};

std::unique_ptr<HttpClient> Connect(const Connection& c) {
  auto client = HttpClient::Create(c.url);
  if (!client) {
    std::cerr << "varelay: " << client.error().detail << "\n";
    std::exit(2);
  }
  return std::move(*client);
}

// Prints a refusal from the server (problem+json detail when there is one).
int Report(const char* what, const varelay::Result<Reply>& reply) {
  if (!reply) {
    std::cerr << "varelay: " << what << ": " << reply.error().detail << "\n";
    return 1;
  }
  std::string detail = reply->body;
  std::error_code ec;
  auto parsed = json::parse(reply->body, ec);
  if (!ec && parsed.is_object() && parsed.as_object().contains("detail")) {
    detail = json::value_to<std::string>(parsed.at("code")) + ": " + json::value_to<std::string>(parsed.at("detail"));
  }
  std::cerr << "varelay: " << what << ": HTTP " << reply->status << " " << detail << "\n";
  return 1;
}

std::string Thousands(std::int64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// ---- pool load ------------------------------------------------------------------------------

struct PoolLoad {
  std::string file, merchant, bank, region;
  std::size_t chunk = 10'000;
};

struct Skip {
  std::int64_t line;
  std::string number, reason;
};

int LoadPool(const Connection& c, const PoolLoad& p) {
  std::ifstream in(p.file, std::ios::binary);
  if (!in) {
    std::cerr << "varelay: cannot read " << p.file << "\n";
    return 2;
  }
  std::error_code size_ec;
  auto total_bytes = std::filesystem::file_size(p.file, size_ec);
  auto client = Connect(c);
  const std::string target = "/v1/pools/" + p.merchant + "/" + p.bank + "/" + p.region + "/numbers";
  auto started = std::chrono::steady_clock::now();
  std::int64_t loaded = 0, line_no = 0, bytes_read = 0;
  std::vector<Skip> skipped;
  std::map<std::string, std::int64_t> skipped_by_reason;
  std::vector<std::pair<std::string, std::int64_t>> batch;  // number, line
  const bool show_progress = ::isatty(STDERR_FILENO);

  auto flush = [&]() -> int {
    if (batch.empty()) return 0;
    std::string body = "{\"numbers\":[";
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (i) body += ',';
      body += '"' + batch[i].first + '"';
    }
    body += "]}";
    auto reply = client->Send("POST", target, c.key, body);
    if (!reply || reply->status != 200) return Report("loading numbers", reply);
    auto result = json::parse(reply->body).as_object();
    loaded += result.at("loaded").to_number<std::int64_t>();
    std::map<std::string, std::int64_t> line_of;
    for (const auto& [number, line] : batch) line_of.emplace(number, line);
    for (const auto& s : result.at("skipped").as_array()) {
      std::string number = json::value_to<std::string>(s.at("number"));
      std::string reason = json::value_to<std::string>(s.at("reason"));
      ++skipped_by_reason[reason];
      skipped.push_back({line_of[number], number, reason});
    }
    batch.clear();
    if (!show_progress) return 0;
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::fprintf(stderr, "\rloaded %s, skipped %zu", Thousands(loaded).c_str(), skipped.size());
    if (total_bytes > 0) std::fprintf(stderr, " (%.0f%% of the file)", 100.0 * double(bytes_read) / double(total_bytes));
    std::fprintf(stderr, ", %.0f numbers/s   ", seconds > 0 ? double(loaded) / seconds : 0.0);
    return 0;
  };

  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    bytes_read += static_cast<std::int64_t>(line.size()) + 1;
    auto first = line.find_first_not_of(" \t\r");
    auto last = line.find_last_not_of(" \t\r");
    std::string number = first == std::string::npos ? "" : line.substr(first, last - first + 1);
    if (number.empty() || number[0] == '#') continue;  // blank lines and comments
    if (!varelay::IsVirtualAccountNumber(number)) {
      ++skipped_by_reason["malformed"];
      skipped.push_back({line_no, number.substr(0, 40), "malformed"});
      continue;
    }
    batch.emplace_back(std::move(number), line_no);
    if (batch.size() >= p.chunk) {
      if (int rc = flush()) return rc;
    }
  }
  if (int rc = flush()) return rc;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (show_progress) std::fprintf(stderr, "\n");
  std::printf("loaded %s numbers into pool %s/%s/%s in %.1f s\n", Thousands(loaded).c_str(), p.merchant.c_str(),
              p.bank.c_str(), p.region.c_str(), seconds);
  if (skipped.empty()) {
    std::printf("skipped none\n");
  } else {
    std::printf("skipped %zu:", skipped.size());
    for (const auto& [reason, n] : skipped_by_reason) std::printf(" %s %s", reason.c_str(), Thousands(n).c_str());
    std::printf("\n");
    constexpr std::size_t kShown = 20;
    for (std::size_t i = 0; i < std::min(kShown, skipped.size()); ++i) {
      std::printf("  line %lld: %s (%s)\n", static_cast<long long>(skipped[i].line), skipped[i].number.c_str(),
                  skipped[i].reason.c_str());
    }
    if (skipped.size() > kShown) std::printf("  ... and %zu more\n", skipped.size() - kShown);
  }
  return 0;
}

// ---- pools, ledger --------------------------------------------------------------------------

int ListPools(const Connection& c) {
  auto client = Connect(c);
  auto reply = client->Send("GET", "/v1/pools", c.key);
  if (!reply || reply->status != 200) return Report("listing pools", reply);
  std::printf("%-24s %-5s %-12s %12s %12s %12s\n", "merchant", "bank", "region", "free", "assigned", "cooling");
  const json::value pools = json::parse(reply->body);  // named: a range-for does not extend a temporary's life
  for (const auto& item : pools.at("items").as_array()) {
    std::printf("%-24s %-5s %-12s %12s %12s %12s\n", json::value_to<std::string>(item.at("merchant")).c_str(),
                json::value_to<std::string>(item.at("bank")).c_str(),
                json::value_to<std::string>(item.at("region")).c_str(),
                Thousands(item.at("free").to_number<std::int64_t>()).c_str(),
                Thousands(item.at("assigned").to_number<std::int64_t>()).c_str(),
                Thousands(item.at("cooling").to_number<std::int64_t>()).c_str());
  }
  return 0;
}

int VerifyLedger(const Connection& c, const std::string& data) {
  bool ok;
  std::string summary;
  if (!data.empty()) {
    auto path = (std::filesystem::path(data) / "varelay.db").string();
    auto store = varelay::OpenSqliteStore(path, varelay::OpenMode::kReadOnly);
    if (!store) {
      std::cerr << "varelay: " << store.error().detail << "\n";
      return 2;
    }
    auto verdict = varelay::AuditLedger(**store, std::nullopt);
    auto deposits = (*store)->CountDeposits();
    if (!verdict || !deposits) {
      std::cerr << "varelay: cannot read the ledger of " << path << "\n";
      return 2;
    }
    ok = verdict->ok;
    summary = std::to_string(verdict->entries) + " entries, " + std::to_string(*deposits) + " deposits";
    // The tables trail the server's command log: say so when it holds batches they lack.
    auto position = (*store)->LogPosition();
    auto logged = position ? varelay::CountLoggedBatches((std::filesystem::path(data) / "log").string(),
                                                         *position)
                           : varelay::Result<std::uint64_t>(std::unexpected(position.error()));
    if (!logged) {
      std::cerr << "varelay: note: cannot read the command log: " << logged.error().detail << "\n";
    } else if (*logged > 0) {
      std::cerr << "varelay: note: the command log holds " << *logged
                << " acknowledged batches the tables do not hold yet (varelayd writes them within "
                   "milliseconds while it runs, or at its next start); they are not in this "
                   "verification\n";
    }
    if (!ok) summary += "; first bad seq " + (verdict->first_bad_seq ? std::to_string(*verdict->first_bad_seq) : "-") +
                        ": " + verdict->reason;
  } else {
    auto client = Connect(c);
    auto reply = client->Send("GET", "/v1/ledger/verify", c.key);
    if (!reply || reply->status != 200) return Report("verifying the ledger", reply);
    auto v = json::parse(reply->body).as_object();
    ok = v.at("ok").as_bool();
    summary = std::to_string(v.at("entries").to_number<std::int64_t>()) + " entries";
    if (!ok) summary += "; " + json::serialize(v.at("reason"));
  }
  std::printf("ledger %s: %s\n", ok ? "verified" : "BROKEN", summary.c_str());
  return ok ? 0 : 1;
}

// Prints, one JSON object a line, each batch varelayd acknowledged that the tables of `data` do
// not hold yet (its command log after their position): what a start would apply. For an operator
// looking at a log a start refused, or at what a crash left. Reads only; secrets are redacted.
int ShowLog(const std::string& data, std::uint64_t limit) {
  auto path = (std::filesystem::path(data) / "varelay.db").string();
  auto store = varelay::OpenSqliteStore(path, varelay::OpenMode::kReadOnly);
  if (!store) {
    std::cerr << "varelay: " << store.error().detail << "\n";
    return 2;
  }
  auto position = (*store)->LogPosition();
  if (!position) {
    std::cerr << "varelay: " << position.error().detail << "\n";
    return 2;
  }
  std::uint64_t batches = 0;
  auto read = varelay::ForEachLoggedBatch(
      (std::filesystem::path(data) / "log").string(), *position,
      [&](std::uint64_t batch, std::string_view records) -> varelay::Result<void> {
        if (++batches > limit) return {};
        auto described = varelay::DescribeLogBatch(records);
        if (!described) return std::unexpected(described.error());
        std::printf("{\"batch\":%llu,\"records\":%s}\n", static_cast<unsigned long long>(batch),
                    described->c_str());
        return {};
      });
  if (!read) {
    std::cerr << "varelay: " << read.error().detail << "\n";
    return 2;
  }
  std::cerr << "varelay: the command log holds " << batches
            << " batches after the tables' position " << *position;
  if (batches > limit) std::cerr << " (the first " << limit << " shown)";
  std::cerr << "\n";
  return 0;
}

// ---- demo -----------------------------------------------------------------------------------

// Sets up the demo: two banks, one merchant with contracts at both, pools in two regions, and
// keys for the merchant and both banks, written as shell variables to `out`. Existing records
// are reused, so a second run only adds fresh keys.
int SeedDemo(const Connection& c, const std::string& out, int numbers_per_pool) {
  auto client = Connect(c);
  auto create = [&](const char* what, const std::string& target, const std::string& body) -> int {
    auto reply = client->Send("POST", target, c.key, body);
    if (reply && (reply->status == 201 || reply->status == 409)) return 0;
    return Report(what, reply);
  };
  struct DemoBank {
    const char* code;
    const char* name;
    const char* prefix;
    const char* mother;
  };
  const DemoBank banks[] = {{"004", "KB Kookmin Bank", "9041", "4470201234567"},
                            {"088", "Shinhan Bank", "5621", "1100387654321"}};
  if (int rc = create("creating merchant", "/v1/merchants", R"({"id":"demo-shop","name":"Demo Shop"})")) return rc;
  std::map<std::string, std::string> keys;
  for (const auto& b : banks) {
    if (int rc = create("creating bank", "/v1/banks",
                        std::string(R"({"code":")") + b.code + R"(","name":")" + b.name + R"("})")) {
      return rc;
    }
    if (int rc = create("creating contract", "/v1/merchants/demo-shop/contracts",
                        std::string(R"({"bank":")") + b.code + R"(","mother_account":")" + b.mother +
                            R"(","holder_name":"데모상점"})")) {
      return rc;
    }
    int region_digit = 1;
    for (const char* region : {"seoul", "busan"}) {
      std::string body = "{\"numbers\":[";
      for (int i = 0; i < numbers_per_pool; ++i) {
        char number[32];
        std::snprintf(number, sizeof number, "%s%d%07d", b.prefix, region_digit, i);
        body += (i ? ",\"" : "\"") + std::string(number) + "\"";
      }
      body += "]}";
      auto reply = client->Send("POST", std::string("/v1/pools/demo-shop/") + b.code + "/" + region + "/numbers", c.key, body);
      if (!reply || reply->status != 200) return Report("loading a demo pool", reply);
      ++region_digit;
    }
    auto reply = client->Send("POST", "/v1/api-keys", c.key,
                              std::string(R"({"role":"bank","bank":")") + b.code + R"(","label":"demo"})");
    if (!reply || reply->status != 201) return Report("creating a bank key", reply);
    keys[std::string("BANK_") + b.code + "_KEY"] = json::value_to<std::string>(json::parse(reply->body).at("key"));
  }
  auto reply = client->Send("POST", "/v1/api-keys", c.key, R"({"role":"merchant","merchant":"demo-shop","label":"demo"})");
  if (!reply || reply->status != 201) return Report("creating the merchant key", reply);
  keys["MERCHANT_KEY"] = json::value_to<std::string>(json::parse(reply->body).at("key"));

  auto old_mask = ::umask(077);
  std::ofstream file(out, std::ios::trunc);
  ::umask(old_mask);
  file << "# varelay demo keys (written by `varelay demo-seed`)\n";
  for (const auto& [name, value] : keys) file << name << "=" << value << "\n";
  if (!file) {
    std::cerr << "varelay: cannot write " << out << "\n";
    return 1;
  }
  std::printf("demo seeded: merchant demo-shop, banks 004 and 088, %d numbers in each of 4 pools; keys in %s\n",
              numbers_per_pool, out.c_str());
  return 0;
}

// Sends a bank's camt.054 file to the relay as that bank (the key must be a bank key) and prints
// what became of each transaction.
int ImportCamt054(const Connection& c, const std::string& file, const std::string& virtual_account) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "varelay: cannot read " << file << "\n";
    return 2;
  }
  std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto client = Connect(c);
  auto reply = client->Send("POST", "/v1/bank/camt054?virtual_account=" + virtual_account, c.key, xml,
                            {{"Content-Type", "application/xml"}});
  if (!reply || reply->status != 200) return Report("camt054 import", reply);
  auto report = json::parse(reply->body).as_object();
  std::cout << "message " << json::value_to<std::string>(report.at("source")) << ": booked "
            << report.at("booked").as_int64() << ", duplicates " << report.at("duplicates").as_int64()
            << ", refused " << report.at("refused").as_int64() << ", skipped "
            << report.at("skipped").as_array().size() << "\n";
  for (const auto& item : report.at("items").as_array()) {
    const auto& o = item.as_object();
    std::cout << "  " << json::value_to<std::string>(o.at("kind")) << " "
              << json::value_to<std::string>(o.at("transaction_id")) << ": "
              << json::value_to<std::string>(o.at("result"));
    if (o.contains("code")) std::cout << " (" << json::value_to<std::string>(o.at("code")) << ")";
    if (o.contains("deposit")) std::cout << " " << json::value_to<std::string>(o.at("deposit").at("outcome"));
    std::cout << "\n";
  }
  for (const auto& item : report.at("skipped").as_array()) {
    const auto& o = item.as_object();
    std::cout << "  skipped " << json::value_to<std::string>(o.at("reference")) << ": "
              << json::value_to<std::string>(o.at("action")) << " (" << json::value_to<std::string>(o.at("reason"))
              << ")\n";
  }
  return report.at("refused").as_int64() == 0 ? 0 : 1;
}

// Prints a fresh seal key line for varelayd's key file (docs/architecture.md, "Sealed personal data").
int NewSealKey(std::string id) {
  if (id.empty()) id = varelay::crypto::Sealer::DefaultKeyId(std::chrono::system_clock::now());
  if (!varelay::crypto::IsSealKeyId(id)) {
    std::cerr << "varelay: a seal key id is 1 to 16 characters a-z 0-9 -, not '" << id << "'\n";
    return 2;
  }
  std::cout << varelay::crypto::Sealer::NewKeyLine(id) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"varelay: operator client for the varelay relay"};
  app.require_subcommand(1);
  Connection c;
  app.add_option("--url", c.url, "the relay's base URL")->envname("VARELAY_URL")->capture_default_str();
  app.add_option("--key", c.key, "an API key (admin for set-up commands)")->envname("VARELAY_KEY");

  auto* pool = app.add_subcommand("pool", "manage pools of virtual account numbers");
  pool->require_subcommand(1);
  PoolLoad load;
  auto* pool_load = pool->add_subcommand("load", "load a bank-issued block of numbers from a file, one per line");
  pool_load->add_option("file", load.file, "the file (blank lines and # comments are ignored)")->required();
  pool_load->add_option("--merchant", load.merchant, "merchant id")->required();
  pool_load->add_option("--bank", load.bank, "3-digit bank code")->required();
  pool_load->add_option("--region", load.region, "region tag")->required();
  pool_load->add_option("--chunk", load.chunk, "numbers per request")->check(CLI::Range(1, 50'000))->capture_default_str();

  app.add_subcommand("pools", "list pools with free, assigned and cooling counts");

  auto* ledger = app.add_subcommand("ledger", "ledger checks");
  ledger->require_subcommand(1);
  std::string data;
  auto* verify = ledger->add_subcommand("verify", "check that every entry balances, the hash chain is intact and "
                                                  "every deposit is posted exactly once");
  verify->add_option("--data", data, "check this data folder's database directly, without a server");

  auto* log = app.add_subcommand("log", "the command log of a data folder");
  log->require_subcommand(1);
  std::string log_data;
  std::uint64_t log_limit = 1000;
  auto* log_show =
      log->add_subcommand("show",
                          "print the acknowledged batches the tables do not hold yet, one JSON "
                          "object a line (secrets redacted); reads only");
  log_show->add_option("--data", log_data, "varelayd's data folder")->required();
  log_show->add_option("--limit", log_limit, "print at most this many batches")
      ->capture_default_str();

  std::string out = "demo.env";
  int per_pool = 1000;
  auto* demo = app.add_subcommand("demo-seed", "set up the demo merchant, banks, pools and keys");
  demo->add_option("--out", out, "where to write the keys")->capture_default_str();
  demo->add_option("--numbers", per_pool, "numbers per pool")->check(CLI::Range(1, 50'000))->capture_default_str();

  std::string camt_file, virtual_account = "creditor_account";
  auto* camt = app.add_subcommand("camt054", "ISO 20022 debit/credit notifications");
  camt->require_subcommand(1);
  auto* camt_import = camt->add_subcommand("import", "send a bank's camt.054 file to the relay (--key: that bank's key)");
  camt_import->add_option("file", camt_file, "the camt.054.001.02 to .08 XML file")->required();
  camt_import->add_option("--virtual-account", virtual_account,
                          "where this bank puts the virtual account number")
      ->check(CLI::IsMember({"creditor_account", "notified_account", "creditor_reference"}))->capture_default_str();

  std::string seal_key_id;
  auto* seal_key = app.add_subcommand("seal-key", "keys sealing personal data at rest");
  seal_key->require_subcommand(1);
  auto* seal_key_new = seal_key->add_subcommand(
      "new", "print a new key line '<key_id>:<base64 key>'; to rotate, put it first in the key file and restart");
  seal_key_new->add_option("--id", seal_key_id, "key id, 1 to 16 of a-z 0-9 - (default: k<UTC date>-<time>)");

  CLI11_PARSE(app, argc, argv);
  if (seal_key_new->parsed()) return NewSealKey(seal_key_id);
  if (camt_import->parsed()) return ImportCamt054(c, camt_file, virtual_account);
  if (pool_load->parsed()) return LoadPool(c, load);
  if (app.got_subcommand("pools")) return ListPools(c);
  if (verify->parsed()) return VerifyLedger(c, data);
  if (log_show->parsed()) return ShowLog(log_data, log_limit);
  if (demo->parsed()) return SeedDemo(c, out, per_pool);
  return 2;
}
