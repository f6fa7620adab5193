// The 100-byte common header of the KSNET/Hyphen telegram family (layout: docs/telegrams.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/error.h"
#include "domain/time.h"

namespace varelay::telegram {

inline constexpr std::size_t kHeaderBytes = 100;

// Response code meaning accepted, on either side.
inline constexpr std::string_view kResponseOk = "0000";

struct Header {
  std::string identification_code;  // 9 bytes text, per contract
  std::string institution_code;     // 8 bytes text, the relay's code at this bank
  std::string bank_code_legacy;     // 2 digits
  std::string message_code;         // 4 digits: "0200", "0210", "0900", ...
  std::string business_code;        // 3 digits: "300", "100", "400", "101", "200"
  int send_count = 1;               // 1 digit: 1 on first send, higher on a re-send
  std::uint32_t sequence = 0;       // 6 digits, unique per institution + bank + KST day
  // Send date and time (offsets 33 and 41, KST on the wire), whole seconds.
  Instant sent_at{};
  std::string response_code{kResponseOk};       // 4 bytes text, the relay's answer
  std::string bank_response_code{kResponseOk};  // 4 bytes text, the bank's answer
  // The telegram a cancellation or result inquiry refers to; zeros or spaces on the wire when none
  // (read as nullopt and 0; written as zeros).
  std::optional<std::chrono::year_month_day> original_date;
  std::uint32_t original_sequence = 0;
  std::string bank_reference;  // 15 bytes text, the bank's own transaction id
  std::string bank_code;       // 3 digits, KFTC ("004")

  friend bool operator==(const Header&, const Header&) = default;
};

// Exactly kHeaderBytes bytes. Precondition (checked always, it guards amounts and sequence
// numbers): every numeric member fits its width and digit members are digits; text is cut to fit.
std::string EncodeHeader(const Header& header);

// Parses exactly kHeaderBytes bytes; a wrong length or field is kInvalidField naming the field
// ("header.sequence"). Does not check that the message and business codes are known (Decode does).
Result<Header> DecodeHeader(std::string_view bytes);

}  // namespace varelay::telegram
