// Proves the reject-code table maps each internal reason to a bank's own code, falls back to the
// defaults, and refuses a bad config line by number.
#include "banks/telegram/reject_codes.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace varelay::telegram {
namespace {

constexpr std::string_view kConfig = R"(# Reject codes per bank
# <bank code> <reason> <code>

004 amount_mismatch 0415
004	expired	0416   # tabs work too
088 amount_mismatch V713
011 amount_mismatch K409
011 format_error    K999
)";

// Proves configured banks get their codes and everything else the defaults.
TEST(RejectCodeTable, MapsReasonsPerBank) {
  auto table = RejectCodeTable::Parse(kConfig);
  ASSERT_TRUE(table) << table.error().detail;
  EXPECT_EQ(table->CodeFor("004", RejectReason::kAmountMismatch), "0415");
  EXPECT_EQ(table->CodeFor("004", RejectReason::kExpired), "0416");
  EXPECT_EQ(table->CodeFor("088", RejectReason::kAmountMismatch), "V713");
  EXPECT_EQ(table->CodeFor("011", RejectReason::kAmountMismatch), "K409");
  EXPECT_EQ(table->CodeFor("011", RejectReason::kFormatError), "K999");
  EXPECT_EQ(table->CodeFor("088", RejectReason::kExpired),
            DefaultRejectCode(RejectReason::kExpired));
  EXPECT_EQ(table->CodeFor("020", RejectReason::kUnknownNumber),
            DefaultRejectCode(RejectReason::kUnknownNumber));
}

// Proves every reason has a name that parses back and a 4-character default.
TEST(RejectCodeTable, EveryReasonHasANameAndADefault) {
  RejectCodeTable defaults;
  for (std::size_t i = 0; i < kRejectReasonCount; ++i) {
    auto reason = static_cast<RejectReason>(i);
    EXPECT_EQ(ParseRejectReason(RejectReasonName(reason)), reason);
    EXPECT_EQ(DefaultRejectCode(reason).size(), 4u);
    EXPECT_NE(DefaultRejectCode(reason), "0000");
    EXPECT_EQ(defaults.CodeFor("004", reason), DefaultRejectCode(reason));
  }
  EXPECT_EQ(RejectReasonName(RejectReason::kMerchantInactive), "merchant_inactive");
  EXPECT_FALSE(ParseRejectReason("late"));
}

// Proves each kind of bad line is refused with its line number.
TEST(RejectCodeTable, RefusesBadLinesWithTheirNumber) {
  struct Case {
    std::string_view text;
    std::string_view expected;
  };
  for (const Case& c : {
           Case{"004 expired 0416\n004 amount_mismatch\n", "line 2: expected"},
           Case{"# header\n\n4 expired 0416\n", "line 3: bank code '4'"},
           Case{"004 late 0416\n", "line 1: unknown reason 'late'"},
           Case{"004 expired 416\n", "line 1: code '416'"},
           Case{"004 expired 04-6\n", "line 1: code '04-6'"},
           Case{"004 expired 0416 extra\n", "line 1: expected"},
           Case{"004 expired 0416\r\n088 expired 0001\r\n004 expired 0417\r\n",
                "line 3: bank 004 expired already given on line 1"},
       }) {
    auto table = RejectCodeTable::Parse(c.text);
    ASSERT_FALSE(table) << c.text;
    EXPECT_EQ(table.error().code, ErrorCode::kInvalidField);
    EXPECT_EQ(table.error().detail.substr(0, c.expected.size()), c.expected)
        << table.error().detail;
  }
  EXPECT_TRUE(RejectCodeTable::Parse(""));
  EXPECT_TRUE(RejectCodeTable::Parse("\n# only comments\n   \n"));
}

// Proves the table loads from a file and a missing file is an error.
TEST(RejectCodeTable, LoadsFromAFile) {
  std::string path = testing::TempDir() + "reject_codes_test.txt";
  std::ofstream(path) << kConfig;
  auto table = RejectCodeTable::Load(path);
  std::remove(path.c_str());
  ASSERT_TRUE(table) << table.error().detail;
  EXPECT_EQ(table->CodeFor("088", RejectReason::kAmountMismatch), "V713");
  auto missing = RejectCodeTable::Load(path);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace varelay::telegram
