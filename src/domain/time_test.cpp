#include "domain/time.h"

#include <gtest/gtest.h>

namespace varelay {
namespace {

// Proves RFC 3339 round-trips and offsets are normalised to UTC.
TEST(Time, ParsesAndFormatsRfc3339) {
  auto t = ParseRfc3339("2026-11-25T19:00:00+09:00");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatRfc3339(*t), "2026-11-25T10:00:00Z");
  EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2026-11-25T10:00:00.5Z")), "2026-11-25T10:00:00.500Z");
  EXPECT_EQ(ToUnixMs(*ParseRfc3339("1970-01-01T00:00:01Z")), 1000);
}

// Proves impossible or sloppy timestamps are refused rather than guessed.
TEST(Time, RefusesMalformedTimestamps) {
  for (const char* bad : {"2026-02-30T10:00:00Z", "2026-11-25 10:00:00Z", "2026-11-25T10:00:00",
                          "2026-11-25T24:00:00Z", "2026-11-25T10:00:00+9:00", "yesterday", "",
                          "2026-11-25T10:00:00.Z", "2026-11-25T10:00:00Zjunk"}) {
    EXPECT_FALSE(ParseRfc3339(bad)) << bad;
  }
}

}  // namespace
}  // namespace varelay
