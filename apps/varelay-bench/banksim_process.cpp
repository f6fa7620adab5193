#include "banksim_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace varelay::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kStartTimeout = std::chrono::seconds(15);
constexpr auto kStopTimeout = std::chrono::seconds(15);
constexpr auto kPollInterval = std::chrono::milliseconds(5);

// What follows `prefix` on the first line of `log` that starts with it; empty while none does.
std::string After(const std::filesystem::path& log, std::string_view prefix) {
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(prefix)) return line.substr(prefix.size());
  }
  return {};
}

std::string Whole(const std::filesystem::path& file) {
  std::ifstream in(file);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

}  // namespace

BanksimProcess::BanksimProcess(const std::string& binary, const std::string& bank_code,
                               std::filesystem::path log)
    : log_(std::move(log)) {
  // Its relay link is never used: a port nothing listens on, a key nothing checks.
  const std::string relay_url = "http://127.0.0.1:9", bank_key = "unused";
  // Built before the fork: the child of a threaded process should not allocate.
  std::vector<std::string> args{binary,    "--listen",         "127.0.0.1:0", "--relay",
                                relay_url, "--api-key",        bank_key,      "--bank",
                                bank_code, "--telegram-serve", "127.0.0.1:0"};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("cannot fork to start varelay-banksim");
  if (pid_ == 0) {
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::close_range(3, ~0U, 0);
    ::execv(binary.c_str(), argv.data());
    std::perror("exec varelay-banksim");
    std::_Exit(127);
  }
  auto started = Clock::now();
  while (Clock::now() - started < kStartTimeout) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
    url_ = After(log_, "varelay-banksim listening on ");
    telegram_ = After(log_, "varelay-banksim telegram server on ");
    if (!url_.empty() && !telegram_.empty()) return;
    std::this_thread::sleep_for(kPollInterval);
  }
  Stop();
  auto said = Whole(log_);
  std::error_code ignored;
  std::filesystem::remove(log_, ignored);
  throw std::runtime_error("varelay-banksim (" + binary + ") did not come up; its log:\n" + said);
}

BanksimProcess::~BanksimProcess() {
  Stop();
  std::error_code ignored;
  std::filesystem::remove(log_, ignored);
}

void BanksimProcess::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  auto started = Clock::now();
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
}

}  // namespace varelay::bench
