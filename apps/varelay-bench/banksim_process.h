// The simulated bank beside the varelayd under test (--division, --division-during): a real
// varelay-banksim child process serving one bank over loopback telegrams, whose own HTTP API
// opens and reads the masters' accounts (/sim/accounts).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace varelay::bench {

class BanksimProcess {
 public:
  // Starts `binary` for bank `bank_code`, serving its JSON bank API and telegrams on 127.0.0.1:0,
  // and waits for both of its listening lines. It sends the relay nothing (no deposit notices are
  // asked of it), so it starts before varelayd, which is given its URL. Its log goes to `log`.
  // Throws std::runtime_error (with its log) when it does not come up.
  BanksimProcess(const std::string& binary, const std::string& bank_code,
                 std::filesystem::path log);
  // SIGTERM, then waits for the exit; removes the log.
  ~BanksimProcess();
  BanksimProcess(const BanksimProcess&) = delete;
  BanksimProcess& operator=(const BanksimProcess&) = delete;

  const std::string& url() const { return url_; }                     // its own HTTP API
  const std::string& telegram_endpoint() const { return telegram_; }  // "127.0.0.1:PORT"

 private:
  void Stop();

  std::filesystem::path log_;
  pid_t pid_ = -1;
  std::string url_, telegram_;
};

}  // namespace varelay::bench
