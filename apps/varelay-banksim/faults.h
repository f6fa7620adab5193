// Fault injection for the simulated bank: each fault is switched on by its own flag, and every
// random decision is a deterministic roll of (seed, fault, notice, attempt), so a failing run can
// be repeated exactly whatever the thread timing was. The transfer faults act on the telegram
// server (telegram_server.h), where the relay asks the bank to move money: a transfer is rolled
// by its telegram (send date and sequence) and its send count.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/money.h"

namespace varelay::banksim {

// A time window relative to the simulator's start: notices are not delivered inside it (or, as a
// transfer outage, telegrams from the relay are not served).
struct OutageWindow {
  std::chrono::milliseconds start{0};
  std::chrono::milliseconds end{0};
};

struct FaultPlan {
  double duplicate_p = 0;  // after an answered notice, send it once more
  bool reorder = false;  // release new notices at the end of a resend-interval window, newest first
  std::chrono::milliseconds delay{0};  // before every request to the relay (pre-check and notices)
  double drop_answer_p = 0;            // the relay answered 200, the bank acts as if it had not
  std::optional<OutageWindow> outage;
  std::int64_t amount_off_minor = 0;  // added to the notified amount (not to the booking)
  std::chrono::seconds late{0};       // hold a deposit notice this long before its first send
  double cancel_after_p = 0;          // cancel a deposit once its notice was answered
  // Execute and record a withdrawal (telegram 0100/100, JSON transfer/withdraw) but send no
  // answer (JSON: the connection is closed unanswered).
  double drop_transfer_answer_p = 0;
  // Telegram server: a window in which every telegram closes its connection unexecuted; the JSON
  // bank routes (/v2.0/...) answer 503 in it, unexecuted.
  std::optional<OutageWindow> transfer_outage;
  // Both protocols: a withdrawal is executed at once and answered this late (a debit timeout).
  std::chrono::milliseconds debit_delay{0};
  std::uint64_t seed = 1;

  bool Any() const;
};

// New kinds go last: a kind's number is part of its roll.
enum class FaultKind { kDuplicate, kDropAnswer, kCancelAfter, kDropTransferAnswer };

// Parses "START_S:END_S" (seconds, fractions allowed, START < END); nullopt when malformed.
std::optional<OutageWindow> ParseOutage(std::string_view text);

// True when the fault of `kind` strikes attempt `attempt` of notice `notice_seq`: a roll in [0, 1)
// below the fault's probability. The same inputs give the same answer on every run.
bool Strikes(const FaultPlan& plan, FaultKind kind, std::uint64_t notice_seq, int attempt);

// Whether `since_start` falls inside the outage window.
bool InOutage(const FaultPlan& plan, std::chrono::milliseconds since_start);
// Whether `since_start` falls inside the transfer outage window (the telegram server's).
bool InTransferOutage(const FaultPlan& plan, std::chrono::milliseconds since_start);

// The amount to put in a deposit notice for a booking of `booked`: booked + amount_off_minor, kept
// within 1..kMaxAmountMinor (a negative offset that would reach zero is applied upwards instead).
Money NotifiedAmount(const FaultPlan& plan, Money booked);

// One line naming every active fault, for the start-up log ("faults: none" when there are none).
std::string DescribeFaults(const FaultPlan& plan);

}  // namespace varelay::banksim
