// Two kinds of assertion (as userver's UASSERT/UINVARIANT): VARELAY_ASSERT is checked in debug
// builds on hot paths; VARELAY_INVARIANT is always checked, for breaches that would mean corrupted
// money. Neither is ever used on outside input: outside input gets an Error.
#pragma once

#include <source_location>
#include <string_view>

namespace varelay::detail {
[[noreturn]] void InvariantFailed(std::string_view condition, std::string_view message,
                                  std::source_location where = std::source_location::current());
}  // namespace varelay::detail

#define VARELAY_INVARIANT(condition, message)                    \
  do {                                                           \
    if (!(condition)) [[unlikely]] {                             \
      ::varelay::detail::InvariantFailed(#condition, (message)); \
    }                                                            \
  } while (false)

#ifdef NDEBUG
#define VARELAY_ASSERT(condition, message) \
  do {                                     \
  } while (false)
#else
#define VARELAY_ASSERT(condition, message) VARELAY_INVARIANT(condition, message)
#endif
