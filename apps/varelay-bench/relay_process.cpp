#include "relay_process.h"

#include <cstdio>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "client/http_client.h"
#include "ledger_audit_load.h"

namespace varelay::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Recovering 10^7 numbers is the slowest start the bench asks for; past this, something is wrong.
constexpr auto kStartTimeout = std::chrono::seconds(300);
constexpr auto kStopTimeout = std::chrono::seconds(60);
// Fine enough for the restart figure, coarse enough not to steal a core from the relay.
constexpr auto kPollInterval = std::chrono::milliseconds(2);

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string Tail(const std::filesystem::path& file, std::size_t lines_max) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string tail;
  for (auto i = lines.size() > lines_max ? lines.size() - lines_max : 0; i < lines.size(); ++i) {
    tail += "  " + lines[i] + "\n";
  }
  return tail;
}

// The URL varelayd prints once it listens, or empty while it has not yet.
std::string ListeningUrl(const std::filesystem::path& log) {
  constexpr std::string_view kPrefix = "varelayd listening on ";
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(kPrefix)) return line.substr(kPrefix.size());
  }
  return {};
}

bool Healthy(const std::string& url) {
  auto client = client::HttpClient::Create(url, std::chrono::seconds(5));
  if (!client) return false;
  auto reply = (*client)->Send("GET", "/healthz", "");
  return reply && reply->status == 200;
}

}  // namespace

ProcessUsage ReadUsage(pid_t pid) {
  ProcessUsage usage;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), {});
  // The command name may hold spaces; fields are counted after its closing parenthesis, which
  // is followed by field 3 (state). utime and stime are fields 14 and 15.
  auto close = content.rfind(')');
  if (close != std::string::npos && close + 2 < content.size()) {
    std::istringstream fields(content.substr(close + 2));
    std::string field;
    long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
      if (i == 14) utime = std::stoll(field);
      if (i == 15) stime = std::stoll(field);
    }
    usage.cpu_s = double(utime + stime) / double(::sysconf(_SC_CLK_TCK));
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:")) usage.rss_kib = std::stoll(line.substr(6));
    if (line.starts_with("VmHWM:")) usage.peak_rss_kib = std::stoll(line.substr(6));
  }
  return usage;
}

RelayProcess::RelayProcess(const Options& options) : options_(options) {
  data_ = std::filesystem::temp_directory_path() / ("varelay-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(data_);
  std::filesystem::create_directories(data_);
  if (options_.ledger_entries > 0) FillLedger(data_, options_.ledger_entries);
  Launch();
}

RelayProcess::~RelayProcess() {
  Stop();
  if (options_.keep_data) {
    std::fprintf(stderr, "varelay-bench: varelayd's data folder kept: %s\n", data_.c_str());
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(data_, ignored);
}

void RelayProcess::Launch() {
  auto log = data_ / ("varelayd-" + std::to_string(++starts_) + ".log");
  std::string data = data_.string(), threads = std::to_string(options_.io_threads);
  // Built before the fork: the child of a threaded process should not allocate.
  std::vector<std::string> args{options_.varelayd, "--listen", "127.0.0.1:0", "--data", data,
                                "--quarantine", "0", "--io-threads", threads,
                                "--webhook-allow-http", "127.0.0.1", "--webhook-allow-network",
                                "127.0.0.0/8", "--webhook-allowed-ports", "1024-65535",
                                // Every client of the bench connects from this one address.
                                "--max-connections-per-address", "1000000"};
  args.insert(args.end(), options_.varelayd_args.begin(), options_.varelayd_args.end());
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  auto started = Clock::now();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("cannot fork to start varelayd");
  if (pid_ == 0) {
    ::setenv("VARELAY_ADMIN_KEY", kAdminKey.c_str(), 1);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    // Nothing else of the bench's goes with it: its webhook receiver's listening socket, inherited,
    // kept the receiver's port open in varelayd.
    ::close_range(3, ~0U, 0);
    ::execv(options_.varelayd.c_str(), argv.data());
    std::perror("exec varelayd");
    std::_Exit(127);
  }
  url_.clear();
  while (Clock::now() - started < kStartTimeout) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
    if (url_.empty()) url_ = ListeningUrl(log);
    if (!url_.empty() && Healthy(url_)) return;
    std::this_thread::sleep_for(kPollInterval);
  }
  Stop();  // the folder stays, so its log can be read
  throw std::runtime_error("varelayd (" + options_.varelayd +
                           ") did not become healthy; the end of " + log.string() + ":\n" +
                           Tail(log, 20));
}

double RelayProcess::Stop() {
  if (pid_ <= 0) return 0;
  auto started = Clock::now();
  ::kill(pid_, SIGTERM);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (Clock::now() - started > kStopTimeout) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  pid_ = -1;
  return MillisSince(started);
}

double RelayProcess::Kill() {
  if (pid_ <= 0) return 0;
  auto started = Clock::now();
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return MillisSince(started);
}

std::string RelayProcess::RecoveredFrom() const {
  std::ifstream log(data_ / ("varelayd-" + std::to_string(starts_) + ".log"));
  const std::string said = "live assignments from ";
  for (std::string line; std::getline(log, line);) {
    if (!line.starts_with("varelayd: recovered ")) continue;
    auto from = line.find(said);
    if (from != std::string::npos) return line.substr(from + said.size());
  }
  return {};
}

double RelayProcess::Restart() {
  Stop();
  auto started = Clock::now();
  Launch();
  return MillisSince(started);
}

}  // namespace varelay::bench
