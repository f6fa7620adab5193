// The telegram connector's rules, apart from sockets: which engine command a bank's telegram
// becomes, and which answer telegram the engine's outcome becomes. Deposit notices are keyed so a
// re-send is recognised by (date, number, sequence), as banks expect.
#pragma once

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

// Which internal reason an engine refusal is, for the bank's code table.
telegram::RejectReason ReasonFor(const Error& error);
telegram::RejectReason ReasonFor(PrecheckRefusal refusal);

}  // namespace varelay::banks
