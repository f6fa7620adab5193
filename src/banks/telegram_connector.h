// The telegram connector's rules, apart from sockets: which engine command a bank's telegram
// becomes, and which answer telegram the engine's outcome becomes. Deposit notices are keyed so a
// re-send is recognised by (date, number, sequence), as banks expect.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "banks/telegram/reject_codes.h"
#include "banks/telegram/telegram.h"
#include "engine/commands.h"

namespace varelay::banks {

// The relay's transaction id for a telegram: "tg:YYYYMMDD:NNNNNN:<number>" from the KST send date,
// the sequence number and the virtual account number: the family's duplicate rule recognises a
// repeat by exactly (date, number, sequence), and a re-send keeps the original's date and
// sequence (only the send count rises). A cancellation names its original by the header's
// original date and sequence and its own number.
std::string TelegramTransactionId(std::chrono::year_month_day date, std::uint32_t sequence, std::string_view number);

// What to do with a decoded request telegram from `bank`.
struct TelegramAction {
  std::optional<Command> command;            // for the engine
  std::optional<telegram::RejectReason> reject;  // answered at once with this reason
  bool accept_at_once = false;               // answered "0000" without the engine
};
TelegramAction ActionFor(const telegram::Telegram& request);

// The answer telegram's bytes for `request`, given the engine's outcome.
std::string AnswerFor(const telegram::Telegram& request, const Result<Outcome>& outcome,
                      const telegram::RejectCodeTable& codes);
// The answer when the relay decided without the engine: accept (`reason` nullopt) or refuse.
std::string AnswerWith(const telegram::Telegram& request, std::optional<telegram::RejectReason> reason,
                       const telegram::RejectCodeTable& codes);

// Notices a hole in a bank's sequence numbers (unique per bank and KST day): the family's
// receiver asks for what it never saw (0600/200). Counting starts with the first telegram this
// process sees from a bank on a day, so a restart does not ask for the whole day again.
class SequenceGaps {
 public:
  struct Gap {
    std::uint32_t from = 0, to = 0;  // inclusive
  };
  // Records `sequence`; the numbers skipped since the highest one seen, if any.
  std::optional<Gap> Observe(const std::string& bank, std::chrono::year_month_day day, std::uint32_t sequence);

 private:
  std::map<std::pair<std::string, int>, std::uint32_t> highest_;  // (bank, days since epoch) -> highest
};

// The relay's request to re-send `gap`'s deposit notices, answering on the connection `seen` came in.
telegram::Telegram MissingSequenceRequestFor(const telegram::Header& seen, SequenceGaps::Gap gap,
                                             std::uint32_t relay_sequence, Instant now);

// Which internal reason an engine refusal is, for the bank's code table.
telegram::RejectReason ReasonFor(const Error& error);
telegram::RejectReason ReasonFor(PrecheckRefusal refusal);

}  // namespace varelay::banks
