// The thread-safe front of the simulated bank. Takes payments (checks, asks the relay, books only
// on an accepted pre-check), cancels deposits, and runs the sender that delivers queued notices to
// the relay with re-sends and injected faults. Everything else reaches the Bank through WithBank.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "bank.h"
#include "faults.h"
#include "relay_link.h"

namespace varelay::banksim {

enum class PaymentStatus { kAccepted, kRefused };

struct PaymentOutcome {
  PaymentStatus status = PaymentStatus::kRefused;
  // Refused: a bank reason (unknown_account, wrong_account_kind, unknown_number,
  // insufficient_funds, invalid_field, ...), the relay's pre-check reason (amount_mismatch,
  // expired, ...), or precheck_failed when the relay could not be asked.
  std::string reason;
  std::string detail;
  std::optional<Booking> booking;  // accepted only
  std::string holder_name;         // as the relay's pre-check named it
  std::string due_at;
  Money payer_balance{0, Currency::Krw()};
};

class Teller {
 public:
  using Clock = std::function<Instant()>;

  Teller(Bank& bank, RelayLink& link, FaultPlan faults, Clock now);
  ~Teller();
  Teller(const Teller&) = delete;
  Teller& operator=(const Teller&) = delete;

  // Pay into a virtual number. The bank's own checks, then the pre-check (outside the lock), then
  // the booking and the queued deposit notice. A refusal at any step moves no money.
  PaymentOutcome Pay(const PaymentOrder& order);
  // Cancel a deposit: reverse the booking and queue a cancellation notice.
  BankResult<Booking> Cancel(const std::string& transaction_id);
  // The relay asked for the telegrams numbered `from`..`to` of KST day `day` (0600/200): their
  // pending notices go out in the next round. Returns how many were pending. Call it without
  // holding anything the sender holds while it talks to the relay (a link's own lock is fine).
  std::size_t ResendTelegrams(std::chrono::sys_days day, std::uint32_t from, std::uint32_t to);

  // Runs `f(Bank&)` under the lock and returns its result.
  template <typename F>
  auto WithBank(F&& f) {
    std::lock_guard lock(mutex_);
    return f(bank_);
  }

  // One sending round: attempts every due notice once (in order, or newest first under the
  // reorder fault). Returns the number of attempts. Start() runs rounds on a thread until Stop().
  std::size_t SendDueNotices();
  void Start();
  void Stop();

  Instant Now() const { return now_(); }
  Instant started_at() const { return started_at_; }  // the origin of the fault windows
  // The secret the relay signs its requests to this bank with (the bank's own, --signing-secret);
  // set before serving. Empty: requests are not checked.
  void SetSigningSecret(std::string secret) { signing_secret_ = std::move(secret); }
  const std::string& signing_secret() const { return signing_secret_; }
  const FaultPlan& faults() const { return faults_; }
  std::string link_description() const { return link_.Describe(); }

 private:
  void SendOne(const Notice& notice);
  void Sleep(std::chrono::milliseconds delay);
  Instant FirstSendAt(Instant now) const;
  void Loop();

  Bank& bank_;
  RelayLink& link_;
  FaultPlan faults_;
  Clock now_;
  Instant started_at_;
  std::string signing_secret_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread sender_;
};

}  // namespace varelay::banksim
