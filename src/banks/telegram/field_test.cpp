// Proves numeric fields are right-aligned zero-filled, text left-aligned space-filled, parsers
// accept exactly the field's width of the right bytes, and KST dates convert to UTC instants.
#include "banks/telegram/field.h"

#include <gtest/gtest.h>

namespace varelay::telegram {
namespace {

using std::chrono::day;
using std::chrono::month;
using std::chrono::year;
using std::chrono::year_month_day;

Instant At(std::string_view rfc3339) { return *ParseRfc3339(rfc3339); }

// Proves numbers and digit strings are zero-filled on the left, and too-wide values are refused.
TEST(Field, FormatsNumericRightAlignedZeroFilled) {
  EXPECT_EQ(FormatNumeric(15000, 10).value(), "0000015000");
  EXPECT_EQ(FormatNumeric(0, 3).value(), "000");
  EXPECT_EQ(FormatNumeric(9'999'999'999'999, 13).value(), "9999999999999");
  EXPECT_FALSE(FormatNumeric(10'000'000'000'000, 13));
  EXPECT_EQ(FormatDigits("4", 3).value(), "004");
  EXPECT_EQ(FormatDigits("088", 3).value(), "088");
  EXPECT_FALSE(FormatDigits("0088", 3));
  EXPECT_FALSE(FormatDigits("08a", 3));
}

// Proves text is space-filled on the right and cut to the width in bytes.
TEST(Field, FormatsTextLeftAlignedSpaceFilled) {
  EXPECT_EQ(FormatText("AB", 5), "AB   ");
  EXPECT_EQ(FormatText("ABCDEF", 4), "ABCD");
  EXPECT_EQ(FormatText("홍길동", 7), "\xC8\xAB\xB1\xE6\xB5\xBF ");
}

// Proves numeric parsing takes only ASCII digits of exactly the width.
TEST(Field, NumericParseRefusesAnythingButDigits) {
  EXPECT_EQ(ParseNumeric("0000015000", 10, "amount").value(), 15000u);
  for (std::string_view bad : {"00000150 0", "-000001500", "+000001500", "0000015000 ", "000001500",
                               "00000150\xB0\xA1", "          "}) {
    auto parsed = ParseNumeric(bad, 10, "amount");
    ASSERT_FALSE(parsed) << "accepted '" << bad << "'";
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidField);
    EXPECT_EQ(parsed.error().field, "amount");
  }
  EXPECT_EQ(ParseDigits("004", 3, "bank").value(), "004");
  EXPECT_FALSE(ParseDigits("04 ", 3, "bank"));
  EXPECT_FALSE(ParseDigits("0004", 3, "bank"));
}

// Proves text parsing checks the width, trims trailing spaces and refuses bytes outside EUC-KR.
TEST(Field, TextParseTrimsAndValidates) {
  EXPECT_EQ(ParseText("\xC8\xAB\xB1\xE6\xB5\xBF    ", 10, "name").value(), "홍길동");
  EXPECT_FALSE(ParseText("abc", 4, "name"));
  auto bad = ParseText("\xFF\xFE  ", 4, "name");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "name");
}

// Proves KST wall-clock fields convert to and from UTC instants, across midnight.
TEST(Field, KstDateTimesAreUtcPlusNine) {
  EXPECT_EQ(ParseKstDateTime("20261125190000", "t").value(), At("2026-11-25T10:00:00Z"));
  EXPECT_EQ(ParseKstDateTime("20261126003000", "t").value(), At("2026-11-25T15:30:00Z"));
  EXPECT_EQ(FormatKstDateTime(At("2026-11-25T15:30:00.999Z")), "20261126003000");
  EXPECT_EQ(FormatKstDateTime(At("2026-12-31T15:00:00Z")), "20270101000000");
  EXPECT_EQ(KstDate(At("2026-11-25T15:00:00Z")), year_month_day(year(2026), month(11), day(26)));
  EXPECT_EQ(KstDate(At("2026-11-25T14:59:59Z")), year_month_day(year(2026), month(11), day(25)));
  EXPECT_EQ(KstMidnight(year_month_day(year(2026), month(11), day(26))),
            At("2026-11-25T15:00:00Z"));
}

// Proves impossible dates and times are refused.
TEST(Field, RefusesImpossibleDatesAndTimes) {
  EXPECT_EQ(ParseDate("20240229", "d").value(), year_month_day(year(2024), month(2), day(29)));
  EXPECT_EQ(FormatDate(year_month_day(year(2024), month(2), day(9))), "20240209");
  for (std::string_view bad : {"20250229", "20261301", "20261100", "2026112 ", "2026-1-1"}) {
    EXPECT_FALSE(ParseDate(bad, "d")) << bad;
  }
  for (std::string_view bad :
       {"20261125240000", "20261125236000", "20261125235960", "2026112519000", "20261125 90000"}) {
    EXPECT_FALSE(ParseKstDateTime(bad, "t")) << bad;
  }
}

// Proves only all-spaces or all-zeros count as "not given".
TEST(Field, BlankNumericIsSpacesOrZeros) {
  EXPECT_TRUE(IsBlankNumeric("      "));
  EXPECT_TRUE(IsBlankNumeric("000000"));
  EXPECT_FALSE(IsBlankNumeric("000 00"));
  EXPECT_FALSE(IsBlankNumeric("000001"));
}

}  // namespace
}  // namespace varelay::telegram
