// Why the relay refuses a bank's telegram, and how each bank spells it. The relay decides one
// internal reason; the 4-character response code sent back depends on the bank (an amount mismatch
// is "0415" at one bank, "V713" at another).
#pragma once

#include <array>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "domain/error.h"

namespace varelay::telegram {

enum class RejectReason {
  kUnknownNumber,     // no such virtual account number, or withdrawn
  kNotAssigned,       // the number exists but serves no order now
  kExpired,           // past the assignment's due time
  kAmountMismatch,    // the amount fails the number's rule
  kMerchantInactive,  // merchant or service suspended
  kDuplicate,         // a sequence or transaction id reused with other content (an exact re-send
                      // of a notice is not refused: it is answered "0000" again, booked once)
  kFormatError,       // the telegram could not be decoded
  kSystemError,       // the relay could not decide (overloaded, shutting down, internal error)
};

inline constexpr std::size_t kRejectReasonCount = 8;

// The config and log spelling: "unknown_number", "amount_mismatch", ...
std::string_view RejectReasonName(RejectReason reason);
std::optional<RejectReason> ParseRejectReason(std::string_view name);

// The code used for a bank without its own entry (see docs/telegrams.md).
std::string_view DefaultRejectCode(RejectReason reason);

// Per-bank codes, read from a text config: one `<bank code> <reason> <code>` per line, separated
// by spaces or tabs, `#` to the end of a line is a comment, blank lines are skipped. The bank code
// is the 3-digit KFTC code, the reason a RejectReasonName, the code exactly 4 ASCII letters or
// digits. Example:
//
//   # KB Kookmin
//   004 amount_mismatch 0415
//   004 expired         0416
//   088 amount_mismatch V713
class RejectCodeTable {
 public:
  // Every bank gets the defaults.
  RejectCodeTable() = default;

  // Fails (kInvalidField) on the first bad line, with its number in the detail ("line 3: unknown
  // reason 'late'"): wrong number of words, bad bank code, unknown reason, bad code, or the same
  // bank and reason twice.
  static Result<RejectCodeTable> Parse(std::string_view config_text);
  // Parse() of a file's contents; kNotFound when the file cannot be read.
  static Result<RejectCodeTable> Load(const std::filesystem::path& path);

  // The 4-character code `bank_code` uses for `reason`; DefaultRejectCode when it has none.
  std::string_view CodeFor(std::string_view bank_code, RejectReason reason) const;

 private:
  // Bank code -> code per reason; empty where the bank uses the default.
  std::map<std::string, std::array<std::string, kRejectReasonCount>, std::less<>> codes_;
};

}  // namespace varelay::telegram
