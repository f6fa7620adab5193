// Time is a value passed in, never read from a clock in the domain layer.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace varelay {

// A point in UTC time with millisecond resolution.
using Instant = std::chrono::sys_time<std::chrono::milliseconds>;
using Millis = std::chrono::milliseconds;

inline std::int64_t ToUnixMs(Instant t) { return t.time_since_epoch().count(); }
inline Instant FromUnixMs(std::int64_t ms) { return Instant(Millis(ms)); }

// RFC 3339 in UTC: "2026-11-25T10:00:00Z", with ".123" when the milliseconds are not zero.
std::string FormatRfc3339(Instant t);

// Parses RFC 3339 ("2026-11-25T19:00:00+09:00", "2026-11-25T10:00:00.5Z"); nullopt on anything
// else, including impossible dates. Fractions beyond milliseconds are truncated.
std::optional<Instant> ParseRfc3339(std::string_view text);

}  // namespace varelay
