// varelayd: the relay server. Wires the layers together; holds no logic of its own.
#include <CLI/CLI.hpp>

#include <malloc.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <variant>

#include "api/http_server.h"
#include "api/problem.h"
#include "api/service.h"
#include "api/static_files.h"
#include "engine/engine.h"
#include "engine/random.h"
#include "engine/snapshot_file.h"
#include "banks/telegram_listener.h"
#include "banks/transfer_executor.h"
#include "crypto/password_hasher.h"
#include "crypto/sealer.h"
#include "domain/identifiers.h"
#include "notify/dispatcher.h"
#include "store/file_io.h"
#include "store/log_store.h"
#include "store/sqlite_store.h"

namespace {

struct Flags {
  std::string listen = "127.0.0.1:8080";
  std::string data = "./var";
  int io_threads = 2;
  std::int64_t quarantine_s = 7 * 24 * 3600;
  std::int64_t idempotency_retention_s = 24 * 3600;
  std::size_t max_batch = 1024;
  int wal_checkpoint_pages = varelay::SqliteOptions{}.checkpoint_pages;
  int audit_duty_percent = varelay::EngineOptions{}.audit_duty_percent;
  bool stop_snapshot = true;
  double running_snapshot_mib =
      static_cast<double>(varelay::EngineOptions{}.running_snapshot_bytes) / (1 << 20);
  bool command_log = true;
  std::int64_t log_gather_ms = varelay::LogStoreOptions{}.gather.count();
  std::int64_t log_idle_below_mib =
      static_cast<std::int64_t>(varelay::LogStoreOptions{}.idle_below_bytes >> 20);
  std::size_t max_connections = varelay::api::ServerOptions{}.max_connections;
  std::size_t max_connections_per_address =
      varelay::api::ServerOptions{}.max_connections_per_address;
  std::size_t body_budget_mib = varelay::api::ServerOptions{}.body_budget_bytes >> 20;
  std::int64_t drain_grace_ms = varelay::api::ServerOptions{}.drain_grace.count();
  std::int64_t drain_timeout_s = varelay::api::ServerOptions{}.drain_timeout.count();
  // The web pages (web/dist, built by scripts/run and scripts/test); "" serves none.
  std::string web_root = varelay::api::BuiltWebRoot();
  bool print_routes = false;
  bool print_error_codes = false;
  // Webhooks (docs/webhooks.md).
  std::string webhook_allow_http;
  std::string webhook_allow_network;
  std::string webhook_allowed_ports;
  std::string webhook_ca_file;
  std::string webhook_retry_schedule;
  std::int64_t webhook_connect_timeout_ms = 5000;
  std::int64_t webhook_timeout_ms = 15000;
  std::size_t webhook_max_in_flight_per_merchant = 8;
  std::size_t webhook_max_in_flight = 256;
  std::size_t webhook_max_queued = 100'000;
  // Telegram banks (docs/telegrams.md).
  std::string telegram_listen;
  std::vector<std::string> telegram_banks;  // CODE=CIDR[,CIDR...]
  std::vector<std::string> json_banks;      // CODE=URL: a JSON bank's base URL for the relay's requests
  std::string telegram_reject_codes;
  bool telegram_request_missing = false;
  std::int64_t telegram_idle_timeout_ms =
      varelay::banks::TelegramListenerOptions{}.idle_timeout.count();
  std::int64_t telegram_frame_timeout_ms =
      varelay::banks::TelegramListenerOptions{}.frame_timeout.count();
  std::int64_t telegram_write_timeout_ms =
      varelay::banks::TelegramListenerOptions{}.write_timeout.count();
  std::size_t telegram_max_connections = varelay::banks::TelegramListenerOptions{}.max_connections;
  std::size_t telegram_max_connections_per_peer =
      varelay::banks::TelegramListenerOptions{}.max_connections_per_peer;
  // Calls to banks (real-time issuance, holder inquiries, transfers).
  int bank_breaker_failures = 5;
  std::int64_t bank_breaker_open_s = 30;
  std::int64_t bank_timeout_ms = 10'000;
  int holder_inquiries_per_minute = varelay::kDefaultHolderInquiriesPerMinute;
  std::int64_t transfer_retry_max_s = 300;
  // Personal data sealed at rest and password hashes (src/crypto; docs/architecture.md).
  std::string seal_key_file;
  int password_threads = 1;
  std::string password_hash_strength = "interactive";
};

// "1.2": seconds to a tenth.
std::string Seconds(double seconds) {
  auto tenths = static_cast<long long>(seconds * 10);
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
}

std::string SecondsSince(std::chrono::steady_clock::time_point start) {
  return Seconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) items.push_back(std::move(item));
    start = end + 1;
  }
  return items;
}

// The telegram listener's settings from the flags; an error message when one is malformed.
std::variant<varelay::banks::TelegramListenerOptions, std::string> TelegramOptions(const Flags& flags) {
  varelay::banks::TelegramListenerOptions options;
  auto colon = flags.telegram_listen.rfind(':');
  int port = colon == std::string::npos ? -1 : std::atoi(flags.telegram_listen.c_str() + colon + 1);
  if (port < 0 || port > 65535) return "--telegram-listen must be HOST:PORT";
  options.host = flags.telegram_listen.substr(0, colon);
  options.port = static_cast<unsigned short>(port);
  for (const auto& entry : flags.telegram_banks) {
    auto eq = entry.find('=');
    std::string bank = entry.substr(0, eq);
    if (eq == std::string::npos || !varelay::IsBankCode(bank)) return "--telegram-bank must be CODE=CIDR[,CIDR...], got '" + entry + "'";
    for (const auto& cidr : SplitList(entry.substr(eq + 1))) {
      auto network = varelay::notify::ParseNetwork(cidr);
      if (!network) return "--telegram-bank " + bank + ": '" + cidr + "' is not an address or CIDR block";
      options.bank_networks[bank].push_back(*network);
    }
  }
  options.request_missing = flags.telegram_request_missing;
  options.idle_timeout = std::chrono::milliseconds(flags.telegram_idle_timeout_ms);
  options.frame_timeout = std::chrono::milliseconds(flags.telegram_frame_timeout_ms);
  options.write_timeout = std::chrono::milliseconds(flags.telegram_write_timeout_ms);
  options.max_connections = flags.telegram_max_connections;
  options.max_connections_per_peer = flags.telegram_max_connections_per_peer;
  if (!flags.telegram_reject_codes.empty()) {
    auto table = varelay::telegram::RejectCodeTable::Load(flags.telegram_reject_codes);
    if (!table) return "--telegram-reject-codes: " + table.error().detail;
    options.reject_codes = std::move(*table);
  }
  return options;
}

// The webhook client's settings from the flags; an error message when one is malformed.
std::variant<varelay::notify::ClientOptions, std::string> WebhookClientOptions(const Flags& flags) {
  varelay::notify::ClientOptions client;
  for (auto host : SplitList(flags.webhook_allow_http)) {
    for (auto& ch : host) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    client.policy.allow_http_hosts.push_back(std::move(host));
  }
  for (const auto& cidr : SplitList(flags.webhook_allow_network)) {
    auto network = varelay::notify::ParseNetwork(cidr);
    if (!network) return "--webhook-allow-network: '" + cidr + "' is not an address or CIDR block";
    client.policy.allow_networks.push_back(*network);
  }
  auto ports = varelay::notify::ParsePortList(flags.webhook_allowed_ports);
  if (!ports) {
    return "--webhook-allowed-ports: '" + flags.webhook_allowed_ports +
           "' is not a list of ports and ranges (1-65535), e.g. 8443,9000-9100";
  }
  client.policy.allow_ports = std::move(*ports);
  client.ca_file = flags.webhook_ca_file;
  if (!client.ca_file.empty() && !std::ifstream(client.ca_file)) {
    return "--webhook-ca-file: cannot read " + client.ca_file;
  }
  client.connect_timeout = std::chrono::milliseconds(flags.webhook_connect_timeout_ms);
  client.total_timeout = std::chrono::milliseconds(flags.webhook_timeout_ms);
  return client;
}

// The bootstrap admin key: VARELAY_ADMIN_KEY when set, else a fresh one written to
// <data>/admin.key (mode 0600) so only the operator can read it.
std::string AdminToken(bool& generated) {
  if (const char* fixed = std::getenv("VARELAY_ADMIN_KEY"); fixed && *fixed) {
    generated = false;
    return fixed;
  }
  generated = true;
  // vrk_<key id without key_>_<secret>, as every issued key: the engine takes the id from it.
  return "vrk_" + varelay::RandomSecret(16) + "_" + varelay::RandomSecret(40);
}

bool WriteSecretFile(const std::filesystem::path& path, const std::string& secret) {
  auto old_mask = ::umask(077);
  std::ofstream out(path, std::ios::trunc);
  out << secret << "\n";
  ::umask(old_mask);
  return static_cast<bool>(out);
}

// The key of the division routes' look-up digests and redirect keys (api/division_gateway.h):
// <data>/digest.key, made 0600 on the first start. Losing it loses every master's sign-in.
std::optional<std::string> DigestKey(const std::filesystem::path& data) {
  const auto path = data / "digest.key";
  std::ifstream in(path);
  std::string key;
  if (in && std::getline(in, key) && key.size() >= 32) return key;
  key = varelay::RandomSecret(52);
  if (!WriteSecretFile(path, key)) return std::nullopt;
  return key;
}

// The keys personal data is sealed with: --seal-key-file, else VARELAY_SEAL_KEY, else
// <data>/seal.key, made on the first start (with a warning: a copy of the folder then opens it).
varelay::Result<varelay::crypto::Sealer> LoadSealer(const Flags& flags, const std::filesystem::path& data) {
  using varelay::crypto::Sealer;
  const char* text = std::getenv("VARELAY_SEAL_KEY");
  const bool from_env = flags.seal_key_file.empty() && text != nullptr && *text != '\0';
  const std::string from = !flags.seal_key_file.empty() ? flags.seal_key_file
                           : from_env                   ? "VARELAY_SEAL_KEY"
                                                        : (data / "seal.key").string();
  bool created = false;
  const std::string new_id = Sealer::DefaultKeyId(std::chrono::system_clock::now());
  auto sealer = !flags.seal_key_file.empty() ? Sealer::FromKeyFile(from)
                : from_env                   ? Sealer::FromKeyText(text)
                                             : Sealer::OpenOrCreateKeyFile(from, new_id, created);
  if (!sealer) return sealer;
  if (created) {
    std::cerr << "varelayd: warning: made a new seal key in " << from << "; it lives beside the "
              << "data it seals, so keep it elsewhere (--seal-key-file or VARELAY_SEAL_KEY) and "
              << "out of copies of the folder\n";
  }
  std::cout << "varelayd: seal key " << sealer->current_key_id() << " (" << sealer->key_count()
            << (sealer->key_count() == 1 ? " key" : " keys") << ") from " << from << std::endl;
  return sealer;
}

// Running snapshots need the command log after them.
bool RunningSnapshots(const Flags& flags) {
  return flags.command_log && flags.running_snapshot_mib > 0;
}
std::uint64_t RunningSnapshotBytes(const Flags& flags) {
  return static_cast<std::uint64_t>(flags.running_snapshot_mib * (1 << 20));
}

// The store varelayd runs on: the command log in front of the SQLite tables, or with
// --command-log false the tables alone, once any log an earlier run left (a kill) is applied: its
// batches were acknowledged.
varelay::Result<std::unique_ptr<varelay::Store>> OpenStore(const Flags& flags,
                                                          const std::filesystem::path& data) {
  using namespace varelay;
  SqliteOptions sqlite;
  sqlite.checkpoint_pages = flags.wal_checkpoint_pages;
  const std::string db_path = (data / "varelay.db").string();
  LogStoreOptions log;
  log.dir = (data / "log").string();
  log.gather = std::chrono::milliseconds(flags.log_gather_ms);
  log.idle_below_bytes = static_cast<std::uint64_t>(flags.log_idle_below_mib) << 20;
  log.keep_for_snapshot = RunningSnapshots(flags);
  // Room for a few snapshots' worth of log, should writing them fall behind.
  log.max_kept_bytes = std::max(log.max_kept_bytes, 4 * RunningSnapshotBytes(flags));
  std::error_code ignored;
  const bool log_left = std::filesystem::exists(log.dir, ignored) &&
                        !std::filesystem::is_empty(log.dir, ignored);
  if (!flags.command_log && !log_left) {
    return OpenSqliteStore(db_path, OpenMode::kReadWrite, sqlite);
  }
  auto logged = OpenLogStore(db_path, log, sqlite);
  if (!logged) return logged;
  if (auto replayed = (*logged)->Stats().log_batches_replayed; replayed > 0) {
    std::cout << "varelayd: applied " << replayed << " command-log batches the tables lacked"
              << std::endl;
  }
  if (flags.command_log) return logged;
  logged->reset();  // everything applied; closing it removes the log
  return OpenSqliteStore(db_path, OpenMode::kReadWrite, sqlite);
}

int Serve(const Flags& flags) {
  using namespace varelay;
  auto colon = flags.listen.rfind(':');
  int port = colon == std::string::npos ? -1 : std::atoi(flags.listen.c_str() + colon + 1);
  if (colon == std::string::npos || port < 0 || port > 65535) {
    std::cerr << "varelayd: --listen must be HOST:PORT, got '" << flags.listen << "'\n";
    return 2;
  }
  std::filesystem::path data(flags.data);
  // Everything under the data folder is the operator's alone: files made from here on are created
  // 0600 (folders 0700), and what an older build left readable is narrowed first.
  ::umask(077);
  if (auto kept = KeepFolderPrivate(data.string()); !kept) {
    std::cerr << "varelayd: data folder: " << kept.error().detail << "\n";
    return 1;
  }
  auto loaded_sealer = LoadSealer(flags, data);
  if (!loaded_sealer) {
    std::cerr << "varelayd: seal key: " << loaded_sealer.error().detail << "\n";
    return 1;
  }
  // Kept for the division-account routes (issue 15), which the API is handed at wiring.
  const crypto::Sealer sealer = std::move(*loaded_sealer);
  crypto::PasswordHasher password_hasher({flags.password_threads,
                                          crypto::PasswordHasherOptions{}.max_queued,
                                          *crypto::ParseStrength(flags.password_hash_strength)});
  auto store = OpenStore(flags, data);
  if (!store) {
    std::cerr << "varelayd: " << store.error().detail << "\n";
    return 1;
  }
  SystemClock clock;
  EngineOptions options;
  options.relay.quarantine = std::chrono::seconds(flags.quarantine_s);
  options.relay.idempotency_retention = std::chrono::seconds(flags.idempotency_retention_s);
  options.relay.holder_inquiries_per_minute = flags.holder_inquiries_per_minute;
  options.relay.holder_inquiry_expiry = std::chrono::milliseconds(flags.bank_timeout_ms) + varelay::kHolderInquiryExpiryMargin;
  // The ledger audit reads the tables on a connection and thread of its own.
  options.open_reader = [db_path = (data / "varelay.db").string()] {
    return OpenSqliteStore(db_path, OpenMode::kReadOnly);
  };
  options.audit_duty_percent = flags.audit_duty_percent;
  options.max_batch = flags.max_batch;
  if (flags.stop_snapshot) options.snapshot_path = (data / "varelay.snapshot").string();
  const std::string running_snapshot = (data / "varelay.running-snapshot").string();
  if (RunningSnapshots(flags)) {
    options.running_snapshot_path = running_snapshot;
    options.running_snapshot_bytes = RunningSnapshotBytes(flags);
  } else if (auto removed = RemoveSnapshotFile(running_snapshot); !removed) {
    // One left from a run that wrote them would not match the log a later run with them keeps.
    std::cerr << "varelayd: " << removed.error().detail << "\n";
    return 1;
  }
  Engine engine(**store, clock, options);
  auto recovery_started = std::chrono::steady_clock::now();
  auto recovered = engine.Recover();
  if (!recovered) {
    std::cerr << "varelayd: cannot recover state: " << recovered.error().detail << "\n";
    return 1;
  }
  if (!recovered->snapshot_skipped.empty()) {
    std::cout << "varelayd: the stop snapshot was not used: " << recovered->snapshot_skipped << "\n";
  }
  if (!recovered->running_snapshot_skipped.empty()) {
    std::cout << "varelayd: the running snapshot was not used: "
              << recovered->running_snapshot_skipped << "\n";
  }
  std::string source = recovered->from_snapshot ? "the stop snapshot" : "the store";
  if (recovered->from_running_snapshot) {
    source = "the running snapshot at batch " +
             std::to_string(recovered->running_snapshot_position) + " and " +
             std::to_string(recovered->replayed_batches) + " log batches after it (replayed in " +
             Seconds(recovered->replay_seconds) + " s)";
  }
  std::cout << "varelayd: recovered " << recovered->numbers << " numbers and "
            << recovered->live_assignments << " live assignments from " << source << " in "
            << SecondsSince(recovery_started) << " s" << std::endl;
  bool generated = false;
  std::string token = AdminToken(generated);
  if (token.size() < 24) {
    std::cerr << "varelayd: VARELAY_ADMIN_KEY must be at least 24 characters\n";
    return 2;
  }
  auto created = engine.EnsureAdminKey(token);
  if (created && *created && generated) {
    auto path = data / "admin.key";
    if (!WriteSecretFile(path, token)) {
      std::cerr << "varelayd: cannot write " << path << "\n";
      return 1;
    }
    std::cout << "varelayd: bootstrap admin key written to " << path.string() << std::endl;
  }
  auto client = WebhookClientOptions(flags);
  if (auto* message = std::get_if<std::string>(&client)) {
    std::cerr << "varelayd: " << *message << "\n";
    return 2;
  }
  notify::DispatcherOptions dispatch;
  if (!flags.webhook_retry_schedule.empty()) {
    auto schedule = notify::ParseRetrySchedule(flags.webhook_retry_schedule);
    if (!schedule) {
      std::cerr << "varelayd: --webhook-retry-schedule must be delays such as 5s,30s,2m,1h (ms, s, m, h)\n";
      return 2;
    }
    dispatch.retry_schedule = std::move(*schedule);
  }
  dispatch.max_in_flight_per_merchant = flags.webhook_max_in_flight_per_merchant;
  dispatch.max_in_flight = flags.webhook_max_in_flight;
  dispatch.max_queued = flags.webhook_max_queued;
  auto policy = std::get<notify::ClientOptions>(client).policy;
  notify::Dispatcher dispatcher(engine, clock, std::get<notify::ClientOptions>(std::move(client)), dispatch);
  engine.SetOutboxListener(&dispatcher);
  banks::BankHealth bank_health({flags.bank_breaker_failures, std::chrono::seconds(flags.bank_breaker_open_s)});
  banks::TransferExecutorOptions transfer_options;
  transfer_options.timeout = std::chrono::milliseconds(flags.bank_timeout_ms);
  transfer_options.max_retry = std::chrono::seconds(flags.transfer_retry_max_s);
  transfer_options.first_retry = std::min<std::chrono::milliseconds>(transfer_options.first_retry, transfer_options.max_retry);
  transfer_options.health = &bank_health;
  transfer_options.sealer = &sealer;  // division transfers carry the master's account sealed
  for (const auto& entry : flags.json_banks) {  // --json-bank CODE=URL
    auto eq = entry.find('=');
    std::string url = eq == std::string::npos ? "" : entry.substr(eq + 1);
    if (!varelay::IsBankCode(entry.substr(0, eq)) || !(url.starts_with("http://") || url.starts_with("https://"))) {
      std::cerr << "varelayd: --json-bank must be CODE=http(s)://HOST[:PORT][/PATH], got '" << entry << "'\n";
      return 2;
    }
    transfer_options.json_banks[entry.substr(0, eq)] = url;
  }
  banks::TransferExecutor transfers(engine, transfer_options);
  engine.SetTransferListener(&transfers);
  dispatcher.Start();
  transfers.Start();
  engine.Start();

  std::unique_ptr<banks::TelegramListener> telegrams;
  if (!flags.telegram_listen.empty()) {
    auto telegram_options = TelegramOptions(flags);
    if (auto* message = std::get_if<std::string>(&telegram_options)) {
      std::cerr << "varelayd: " << *message << "\n";
      engine.Stop();
      return 2;
    }
    telegrams = std::make_unique<banks::TelegramListener>(engine, std::get<banks::TelegramListenerOptions>(std::move(telegram_options)));
    auto bound = telegrams->Listen();
    if (!bound) {
      std::cerr << "varelayd: " << bound.error().detail << "\n";
      engine.Stop();
      return 1;
    }
    telegrams->Start();
    std::cout << "varelayd telegrams on " << flags.telegram_listen.substr(0, flags.telegram_listen.rfind(':')) << ":"
              << *bound << std::endl;
  }

  banks::ConsentRegistrarOptions consent_options{std::chrono::milliseconds(flags.bank_timeout_ms), {}, &bank_health,
                                                 transfer_options.json_banks};
  banks::BankConsentRegistrar consent(engine, consent_options);
  auto digest_key = DigestKey(data);
  if (!digest_key) {
    std::cerr << "varelayd: cannot write " << (data / "digest.key").string() << "\n";
    engine.Stop();
    return 1;
  }
  api::DivisionGateway division(engine, sealer, password_hasher, &consent, {*digest_key, policy});
  api::Service service(engine.stats(), std::move(policy));
  service.SetDispatchStats(&dispatcher.stats());
  service.SetBankHealth(&bank_health);
  std::optional<api::StaticFiles> web;
  if (!flags.web_root.empty()) {
    auto loaded = api::StaticFiles::Load(flags.web_root);
    if (!loaded) {
      std::cerr << "varelayd: --web-root: " << loaded.error() << "\n";
      engine.Stop();
      return 2;
    }
    web = std::move(*loaded);
    service.SetStaticFiles(&*web);
    std::cout << "varelayd: web pages from " << flags.web_root << " (" << web->file_count() << " files, "
              << web->total_bytes() << " bytes)" << std::endl;
  }
  api::ServerOptions server_options;
  server_options.host = flags.listen.substr(0, colon);
  if (server_options.host.size() > 2 && server_options.host.front() == '[') {
    server_options.host = server_options.host.substr(1, server_options.host.size() - 2);
  }
  server_options.port = static_cast<unsigned short>(port);
  server_options.io_threads = flags.io_threads;
  server_options.max_connections = flags.max_connections;
  server_options.max_connections_per_address = flags.max_connections_per_address;
  server_options.body_budget_bytes = flags.body_budget_mib << 20;
  server_options.drain_grace = std::chrono::milliseconds(flags.drain_grace_ms);
  server_options.drain_timeout = std::chrono::seconds(flags.drain_timeout_s);
  server_options.bank_health = &bank_health;
  server_options.bank_timeout = std::chrono::milliseconds(flags.bank_timeout_ms);
  server_options.division = &division;
  server_options.json_banks = transfer_options.json_banks;
  api::HttpServer server(service, engine, server_options);
  auto bound = server.Listen();
  if (!bound) {
    std::cerr << "varelayd: " << bound.error().detail << "\n";
    engine.Stop();
    return 1;
  }
  std::string shown_host = server_options.host.find(':') != std::string::npos ? "[" + server_options.host + "]"
                                                                               : server_options.host;
  std::cout << "varelayd listening on http://" << shown_host << ":" << *bound << std::endl;
  server.Run();
  transfers.Stop();
  password_hasher.Stop();
  if (telegrams) telegrams->Stop();
  dispatcher.Stop();
  // Everything is durable and every thread has stopped. Close the database (a checkpoint), then
  // leave without tearing down the in-memory state: freeing tens of millions of small objects one
  // by one took seconds at 10^7 numbers and protects nothing.
  engine.Stop();  // already stopped by the drain; makes the order explicit
  if (flags.stop_snapshot) {
    // The next start reads the numbers from one sequential file instead of the store's tables.
    auto snapshot_started = std::chrono::steady_clock::now();
    if (auto written = engine.WriteSnapshot(); written) {
      std::cout << "varelayd: stop snapshot of " << written->numbers << " numbers and " << written->live_assignments
                << " live assignments written (" << written->bytes << " bytes) in " << SecondsSince(snapshot_started)
                << " s" << std::endl;
    } else {
      std::cerr << "varelayd: no stop snapshot (the next start reads the store): " << written.error().detail << "\n";
    }
  }
  store->reset();
  std::cout << "varelayd: stopped cleanly" << std::endl;
  std::_Exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  // Grow the heaps 64 MiB at a time instead of 128 KiB: a start from the store allocates a
  // million live assignments on a reader thread, whose heap grew by one mprotect call per 128 KiB
  // (a tenth of that thread's time). Address space only until touched; the price is that up to
  // 64 MiB freed at the top of a heap stays with it for reuse instead of going back at once.
  mallopt(M_TOP_PAD, 64 << 20);
  CLI::App app{"varelayd: the varelay virtual-account relay server"};
  Flags flags;
  app.add_option("--listen", flags.listen, "HOST:PORT to serve HTTP on (port 0: any free port)")
      ->envname("VARELAY_LISTEN")->capture_default_str();
  app.add_option("--data", flags.data,
                 "folder for the embedded store (varelay.db), its command log (log/), the stop snapshot "
                 "(varelay.snapshot) and admin.key; made 0700, its files 0600, at every start")
      ->envname("VARELAY_DATA")->capture_default_str();
  app.add_option("--io-threads", flags.io_threads, "threads reading and writing sockets")
      ->envname("VARELAY_IO_THREADS")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--quarantine", flags.quarantine_s,
                 "seconds a closed number cools before it is reused")
      ->envname("VARELAY_QUARANTINE_S")->check(CLI::Range(std::int64_t{0}, std::int64_t{365} * 86400))
      ->capture_default_str();
  app.add_option("--idempotency-retention", flags.idempotency_retention_s,
                 "seconds an Idempotency-Key's stored response is kept (then deleted, and the key may "
                 "run afresh)")
      ->envname("VARELAY_IDEMPOTENCY_RETENTION_S")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{30} * 86400))
      ->capture_default_str();
  app.add_option("--max-batch", flags.max_batch, "most commands made durable in one commit")
      ->envname("VARELAY_MAX_BATCH")->check(CLI::Range(1, 65536))->capture_default_str();
  app.add_option("--stop-snapshot", flags.stop_snapshot,
                 "at a clean stop, write the numbers and live assignments to one file the next start reads "
                 "instead of the store (true or false)")
      ->envname("VARELAY_STOP_SNAPSHOT")->capture_default_str();
  app.add_option(
         "--running-snapshot-mib", flags.running_snapshot_mib,
         "with the command log, a copy of the process writes the numbers and live assignments to "
         "one file each time the log has grown by this much (and soon after each start), and the "
         "log since is kept, so a start after a crash reads that file and the log after it "
         "instead of the store; 0: off (MiB)")
      ->envname("VARELAY_RUNNING_SNAPSHOT_MIB")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            // 0 (off), or from 0.01 MiB (a snapshot every few batches, for tests) to 1 TiB;
            // not NaN, which no range check catches.
            char* end = nullptr;
            const double mib = std::strtod(text.c_str(), &end);
            const bool number = !text.empty() && end == text.c_str() + text.size();
            if (number && (mib == 0 || (mib >= 0.01 && mib <= 1048576))) return {};
            return "must be 0 (off) or a number of MiB from 0.01 to 1048576, not '" + text + "'";
          },
          "0 or 0.01-1048576"))
      ->capture_default_str();
  app.add_option("--command-log", flags.command_log,
                 "acknowledge a batch once it is appended to the command log (data/log) and flushed, and "
                 "write the store's tables behind it on a thread of their own; false: write the tables "
                 "on the acknowledgement path (true or false)")
      ->envname("VARELAY_COMMAND_LOG")->capture_default_str();
  app.add_option("--log-gather-ms", flags.log_gather_ms,
                 "with the command log, how long batches gather before they are written to the tables "
                 "in one transaction when little waits (milliseconds)")
      ->envname("VARELAY_LOG_GATHER_MS")->check(CLI::Range(std::int64_t{0}, std::int64_t{1000}))
      ->capture_default_str();
  app.add_option(
         "--log-idle-below-mib", flags.log_idle_below_mib,
         "with the command log, the thread writing the tables runs only on an otherwise idle core "
         "(SCHED_IDLE) while they are less than this far behind, and as an ordinary thread at "
         "nice 10 past it; 0: never idle (MiB)")
      ->envname("VARELAY_LOG_IDLE_BELOW_MIB")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{64}))
      ->capture_default_str();
  app.add_option("--wal-checkpoint-pages", flags.wal_checkpoint_pages,
                 "write-ahead log pages after which a checkpoint runs on its own thread")
      ->envname("VARELAY_WAL_CHECKPOINT_PAGES")->check(CLI::Range(8, 1000000))->capture_default_str();
  app.add_option("--audit-duty-percent", flags.audit_duty_percent,
                 "share of its time a ledger audit reads; it rests between pages for the rest")
      ->envname("VARELAY_AUDIT_DUTY_PERCENT")->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--max-connections", flags.max_connections, "open connections beyond which new ones are closed")
      ->envname("VARELAY_MAX_CONNECTIONS")->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option(
         "--max-connections-per-address", flags.max_connections_per_address,
         "open connections from one client address (an IPv6 client counts by its /64) beyond "
         "which new ones from it are closed")
      ->envname("VARELAY_MAX_CONNECTIONS_PER_ADDRESS")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option(
         "--body-budget-mib", flags.body_budget_mib,
         "request bodies held in memory at once, by their declared sizes; a request that would "
         "go past it is answered 503 with Retry-After, its body unread (MiB, at least 4: the "
         "largest body a route takes)")
      ->envname("VARELAY_BODY_BUDGET_MIB")
      ->check(CLI::Range(4, 65536))
      ->capture_default_str();
  app.add_option(
         "--drain-grace-ms", flags.drain_grace_ms,
         "after SIGTERM, how long new connections are still accepted and every new request is "
         "answered 503 shutting_down with Retry-After (ends early once no connection is open)")
      ->envname("VARELAY_DRAIN_GRACE_MS")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{600'000}))
      ->capture_default_str();
  app.add_option("--drain-timeout-s", flags.drain_timeout_s,
                 "after SIGTERM, how long requests in flight are waited for at most")
      ->envname("VARELAY_DRAIN_TIMEOUT_S")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{3600}))
      ->capture_default_str();
  app.add_option("--web-root", flags.web_root,
                 "folder of the web pages (the Vite build: /pay/{id}, /master/), read once at start, at most 16 MiB; "
                 "\"\" serves none (default: web/dist of this source tree, when built)")
      ->envname("VARELAY_WEB_ROOT")->capture_default_str();
  app.add_option("--webhook-allow-http", flags.webhook_allow_http,
                 "comma-separated hosts to which plain http:// webhooks are allowed (default: none)")
      ->envname("VARELAY_WEBHOOK_ALLOW_HTTP");
  app.add_option("--webhook-allow-network", flags.webhook_allow_network,
                 "comma-separated CIDR blocks webhooks may reach although loopback or private (default: none)")
      ->envname("VARELAY_WEBHOOK_ALLOW_NETWORK");
  app.add_option("--webhook-allowed-ports", flags.webhook_allowed_ports,
                 "comma-separated ports and ranges webhooks may use besides 443 and 80, e.g. 8443,9000-9100 "
                 "(default: none)")
      ->envname("VARELAY_WEBHOOK_ALLOWED_PORTS");
  app.add_option("--webhook-ca-file", flags.webhook_ca_file, "extra CA certificates (PEM) trusted for https webhooks")
      ->envname("VARELAY_WEBHOOK_CA_FILE");
  app.add_option("--webhook-retry-schedule", flags.webhook_retry_schedule,
                 "delays after each failed attempt, e.g. 5s,30s,2m,10m (default: docs/webhooks.md, about 3 days)")
      ->envname("VARELAY_WEBHOOK_RETRY_SCHEDULE");
  app.add_option("--webhook-connect-timeout-ms", flags.webhook_connect_timeout_ms,
                 "resolve, connect and TLS handshake time limit per attempt")
      ->envname("VARELAY_WEBHOOK_CONNECT_TIMEOUT_MS")->check(CLI::Range(std::int64_t{1}, std::int64_t{600000}))
      ->capture_default_str();
  app.add_option("--webhook-timeout-ms", flags.webhook_timeout_ms, "time limit for a whole attempt")
      ->envname("VARELAY_WEBHOOK_TIMEOUT_MS")->check(CLI::Range(std::int64_t{1}, std::int64_t{600000}))
      ->capture_default_str();
  app.add_option("--webhook-max-in-flight-per-merchant", flags.webhook_max_in_flight_per_merchant,
                 "webhook attempts in flight per merchant at most")
      ->envname("VARELAY_WEBHOOK_MAX_IN_FLIGHT_PER_MERCHANT")->check(CLI::Range(1, 1024))->capture_default_str();
  app.add_option("--webhook-max-in-flight", flags.webhook_max_in_flight, "webhook attempts in flight at most")
      ->envname("VARELAY_WEBHOOK_MAX_IN_FLIGHT")->check(CLI::Range(1, 65536))->capture_default_str();
  app.add_option("--webhook-max-queued", flags.webhook_max_queued,
                 "deliveries held in memory at most; the rest wait in the store and are read back in order")
      ->envname("VARELAY_WEBHOOK_MAX_QUEUED")->check(CLI::Range(2, 10'000'000))->capture_default_str();
  app.add_option("--telegram-listen", flags.telegram_listen,
                 "HOST:PORT to take fixed-length EUC-KR telegrams on (default: off)")
      ->envname("VARELAY_TELEGRAM_LISTEN");
  app.add_option("--telegram-bank", flags.telegram_banks,
                 "CODE=CIDR[,CIDR...]: a bank that sends telegrams, and the networks it connects from (repeatable)")
      ->envname("VARELAY_TELEGRAM_BANKS")->delimiter(';');
  app.add_option("--json-bank", flags.json_banks,
                 "CODE=URL: a JSON bank's base URL for the relay's transfers and consent requests "
                 "(repeatable; default: the bank's endpoint when it is a URL)")
      ->envname("VARELAY_JSON_BANKS")->delimiter(';');
  app.add_option("--telegram-reject-codes", flags.telegram_reject_codes,
                 "file mapping reject reasons to each bank's codes ('004 amount_mismatch 0415' per line)")
      ->envname("VARELAY_TELEGRAM_REJECT_CODES");
  app.add_flag("--telegram-request-missing", flags.telegram_request_missing,
               "on a hole in a bank's telegram sequence numbers, ask it to re-send them (0600/200)")
      ->envname("VARELAY_TELEGRAM_REQUEST_MISSING");
  app.add_option("--telegram-idle-timeout-ms", flags.telegram_idle_timeout_ms,
                 "a telegram connection is closed when no frame begins this long after the accept "
                 "or the last answer")
      ->envname("VARELAY_TELEGRAM_IDLE_TIMEOUT_MS")
      ->check(CLI::Range(std::int64_t{100}, std::int64_t{86'400'000}))
      ->capture_default_str();
  app.add_option("--telegram-frame-timeout-ms", flags.telegram_frame_timeout_ms,
                 "a telegram frame must arrive whole this long after its first byte, however its "
                 "bytes come")
      ->envname("VARELAY_TELEGRAM_FRAME_TIMEOUT_MS")
      ->check(CLI::Range(std::int64_t{100}, std::int64_t{600'000}))
      ->capture_default_str();
  app.add_option(
         "--telegram-write-timeout-ms", flags.telegram_write_timeout_ms,
         "an answer telegram must be written whole within this, or the connection is closed")
      ->envname("VARELAY_TELEGRAM_WRITE_TIMEOUT_MS")
      ->check(CLI::Range(std::int64_t{100}, std::int64_t{600'000}))
      ->capture_default_str();
  app.add_option("--telegram-max-connections", flags.telegram_max_connections,
                 "telegram connections open at once, in all; more are closed at accept")
      ->envname("VARELAY_TELEGRAM_MAX_CONNECTIONS")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  app.add_option("--telegram-max-connections-per-peer", flags.telegram_max_connections_per_peer,
                 "telegram connections open at once from one address (an IPv6 peer counts by its /64); "
                 "more are closed at accept (a peer outside every --telegram-bank network is closed "
                 "at accept always)")
      ->envname("VARELAY_TELEGRAM_MAX_CONNECTIONS_PER_PEER")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  app.add_option("--bank-breaker-failures", flags.bank_breaker_failures,
                 "consecutive failed calls to a bank that open its circuit (no calls for a while)")
      ->envname("VARELAY_BANK_BREAKER_FAILURES")->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--bank-breaker-open-s", flags.bank_breaker_open_s, "seconds a bank's open circuit waits before a probe")
      ->envname("VARELAY_BANK_BREAKER_OPEN_S")->check(CLI::Range(std::int64_t{1}, std::int64_t{3600}))->capture_default_str();
  app.add_option("--bank-timeout-ms", flags.bank_timeout_ms,
                 "how long the relay waits for a bank's answer to its own telegrams (transfers, holder inquiries)")
      ->envname("VARELAY_BANK_TIMEOUT_MS")->check(CLI::Range(std::int64_t{100}, std::int64_t{120'000}))->capture_default_str();
  app.add_option("--holder-inquiries-per-minute", flags.holder_inquiries_per_minute,
                 "account-holder inquiries each merchant may make a minute (a burst of that many, then "
                 "one every 60/N s; beyond: 429 rate_limited with Retry-After)")
      ->envname("VARELAY_HOLDER_INQUIRIES_PER_MINUTE")->check(CLI::Range(1, varelay::kMaxHolderInquiriesPerMinute))->capture_default_str();
  app.add_option("--transfer-retry-max-s", flags.transfer_retry_max_s,
                 "longest pause between attempts at an unsettled transfer (the pause doubles from 2 s)")
      ->envname("VARELAY_TRANSFER_RETRY_MAX_S")->check(CLI::Range(std::int64_t{1}, std::int64_t{3600}))->capture_default_str();
  app.add_option("--seal-key-file", flags.seal_key_file,
                 "file of keys sealing personal data at rest, '<key_id>:<base64 of 32 bytes>' a line, the first "
                 "sealing (varelay seal-key new); mode 0600 or refused (default: VARELAY_SEAL_KEY, else "
                 "<data>/seal.key, made at the first start)")
      ->envname("VARELAY_SEAL_KEY_FILE");
  app.add_option("--password-threads", flags.password_threads,
                 "threads hashing and checking passwords (argon2id; each holds 64 MiB, moderate: 256 MiB, "
                 "while it works)")
      ->envname("VARELAY_PASSWORD_THREADS")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--password-hash-strength", flags.password_hash_strength,
                 "argon2id cost of new password hashes: interactive, moderate, or testing-only (the "
                 "minimum: for tests, never production)")
      ->envname("VARELAY_PASSWORD_HASH_STRENGTH")
      ->check(CLI::IsMember({"interactive", "moderate", "testing-only"}))->capture_default_str();
  app.add_flag("--print-routes", flags.print_routes, "print every HTTP route as 'METHOD /path' and exit");
  app.add_flag("--print-error-codes", flags.print_error_codes,
               "print every problem code the API can answer as 'code status' and exit");
  app.set_version_flag("--version", "varelayd 0.1.0");
  app.footer(
      "Environment: VARELAY_ADMIN_KEY fixes the bootstrap admin key (at least 24 characters) "
      "instead of\n"
      "generating one into <data>/admin.key. VARELAY_SEAL_KEY holds the lines a --seal-key-file\n"
      "would (docs/architecture.md, \"Sealed personal data\"). Every option above can also be set\n"
      "by the variable named beside it. SIGTERM or SIGINT: answer new requests 503 for the drain grace, finish the "
      "requests\n"
      "in flight, stop accepting, exit 0.");
  CLI11_PARSE(app, argc, argv);
  if (flags.print_routes) {
    for (const auto& route : varelay::api::Service::RouteList()) std::cout << route << "\n";
    return 0;
  }
  if (flags.print_error_codes) {
    for (int i = 0; i <= static_cast<int>(varelay::ErrorCode::kInternal); ++i) {
      const auto code = static_cast<varelay::ErrorCode>(i);
      std::cout << varelay::ErrorCodeName(code) << " " << varelay::api::StatusFor(code) << "\n";
    }
    return 0;
  }
  return Serve(flags);
}
