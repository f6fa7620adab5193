// Fixed-width telegram fields. Numeric fields are right-aligned and zero-filled ("0000015000"),
// text fields left-aligned and space-filled. Dates and times in telegrams are Korean Standard Time
// (UTC+9, no daylight saving); Instant is UTC, so every conversion goes through kKstOffset.
//
// Parse functions take exactly the field's bytes and fail (kInvalidField, with `field` set to the
// name given) on a wrong length or content; they never assert on what a bank sent.
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

inline constexpr std::chrono::hours kKstOffset{9};

// Widest numeric field the codec reads into an integer (13-digit amounts fit with room).
inline constexpr std::size_t kMaxNumericWidth = 18;

// `value` right-aligned and zero-filled in `width` digits; nullopt when it does not fit.
std::optional<std::string> FormatNumeric(std::uint64_t value, std::size_t width);

// A digit string right-aligned and zero-filled ("4" in 3 -> "004"); nullopt when it is longer
// than `width` or has a non-digit.
std::optional<std::string> FormatDigits(std::string_view digits, std::size_t width);

// UTF-8 text as EUC-KR, left-aligned, space-filled, cut at a character boundary; characters EUC-KR
// lacks become '?' (see FitEucKrReplacing).
std::string FormatText(std::string_view utf8, std::size_t width);

// Exactly `width` ASCII digits -> value. width <= kMaxNumericWidth.
Result<std::uint64_t> ParseNumeric(std::string_view field, std::size_t width,
                                   std::string_view name);

// Exactly `width` ASCII digits, kept as text (codes whose leading zeros matter: "004", "0200").
Result<std::string> ParseDigits(std::string_view field, std::size_t width, std::string_view name);

// Exactly `width` bytes of EUC-KR text -> UTF-8 with trailing spaces trimmed.
Result<std::string> ParseText(std::string_view field, std::size_t width, std::string_view name);

// A field that is only spaces or only zeros: the family's way of saying "not given".
bool IsBlankNumeric(std::string_view field);

// KST calendar date of an instant, and back (midnight KST).
std::chrono::year_month_day KstDate(Instant t);
Instant KstMidnight(std::chrono::year_month_day date);

// YYYYMMDD of a date (years 0..9999).
std::string FormatDate(std::chrono::year_month_day date);
// YYYYMMDDHHMMSS in KST of an instant (milliseconds dropped).
std::string FormatKstDateTime(Instant t);

// 8 bytes YYYYMMDD: a valid calendar date.
Result<std::chrono::year_month_day> ParseDate(std::string_view field, std::string_view name);
// 14 bytes YYYYMMDDHHMMSS in KST -> UTC instant; a valid date and a time up to 23:59:59.
Result<Instant> ParseKstDateTime(std::string_view field, std::string_view name);

}  // namespace varelay::telegram
