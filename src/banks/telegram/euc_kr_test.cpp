// Proves UTF-8 <-> EUC-KR conversion is exact, cuts never split a 2-byte character, and bytes or
// characters outside EUC-KR are error values.
#include "banks/telegram/euc_kr.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace varelay::telegram {
namespace {

// 홍 길 동 in KS X 1001.
constexpr std::string_view kHongGilDong = "\xC8\xAB\xB1\xE6\xB5\xBF";

// Proves Hangul and ASCII convert both ways to the KS X 1001 bytes.
TEST(EucKr, ConvertsHangulBothWays) {
  EXPECT_EQ(Utf8ToEucKr("홍길동").value(), kHongGilDong);
  EXPECT_EQ(EucKrToUtf8(kHongGilDong).value(), "홍길동");
  EXPECT_EQ(Utf8ToEucKr("(주)가나 ABC 123").value(), "(\xC1\xD6)\xB0\xA1\xB3\xAA ABC 123");
  EXPECT_EQ(EucKrToUtf8("(\xC1\xD6)\xB0\xA1\xB3\xAA ABC 123").value(), "(주)가나 ABC 123");
  EXPECT_EQ(Utf8ToEucKr("").value(), "");
}

// Proves 8 syllables in a 14-byte field keep 7 (14 bytes), never half of the 8th.
TEST(EucKr, FitKeepsWholeSyllables) {
  std::string fitted = FitEucKr("가나다라마바사아", 14).value();
  ASSERT_EQ(fitted.size(), 14u);
  EXPECT_EQ(EucKrToUtf8(fitted).value(), "가나다라마바사");
}

// Proves a syllable that would straddle the end after an odd number of ASCII bytes is dropped
// whole and the gap padded with a space.
TEST(EucKr, FitCutsAtOddPositionsWithoutSplitting) {
  // 가(2) a(1) 나 다 라 마 바(2 each) = 13 bytes; 사 would need bytes 13 and 14.
  std::string fitted = FitEucKr("가a나다라마바사", 14).value();
  ASSERT_EQ(fitted.size(), 14u);
  EXPECT_EQ(fitted.back(), ' ');
  EXPECT_EQ(DecodeEucKrField(fitted).value(), "가a나다라마바");
  EXPECT_EQ(FitEucKr("a가", 2).value(), "a ");
  EXPECT_EQ(FitEucKr("가", 1).value(), " ");
  EXPECT_EQ(FitEucKr("홍길동", 14).value(), std::string(kHongGilDong) + std::string(8, ' '));
  EXPECT_EQ(FitEucKr("abc", 0).value(), "");
}

// Proves received bytes that are not EUC-KR are refused, not converted or crashed on.
TEST(EucKr, RefusesInvalidBytes) {
  for (std::string_view bad : {std::string_view("\xFF\xFF"), std::string_view("\x80"),
                               std::string_view("ab\xB0"), std::string_view("\xB0\x41"),
                               std::string_view("\xA1\x20"), std::string_view("\xC8\xAB\xB1")}) {
    auto decoded = EucKrToUtf8(bad);
    ASSERT_FALSE(decoded) << "accepted " << testing::PrintToString(bad);
    EXPECT_EQ(decoded.error().code, ErrorCode::kInvalidField);
  }
  EXPECT_FALSE(DecodeEucKrField("\xB0 "));
  EXPECT_FALSE(EucKrToUtf8("\x8C\x63"));  // CP949 (UHC) 똠: refused, not read as C1 + 'c'
  EXPECT_FALSE(EucKrToUtf8("\xC9\xA1"));  // user-defined row of KS X 1001
}

// Proves characters EUC-KR lacks are errors for FitEucKr and '?' for the replacing variant.
TEST(EucKr, UnrepresentableCharacters) {
  EXPECT_FALSE(Utf8ToEucKr("똠"));  // a modern syllable outside the 2,350 of KS X 1001
  EXPECT_FALSE(Utf8ToEucKr("pay 😀"));
  EXPECT_FALSE(Utf8ToEucKr("\xC3"));       // truncated UTF-8
  EXPECT_FALSE(Utf8ToEucKr("a\xC2\x85"));  // C1 control
  EXPECT_EQ(FitEucKrReplacing("a\xC2\x85"
                              "가",
                              4),
            "a?\xB0\xA1");
  EXPECT_FALSE(FitEucKr("똠방", 14));
  EXPECT_EQ(FitEucKrReplacing("똠방", 6), "?\xB9\xE6   ");
  EXPECT_EQ(FitEucKrReplacing("a\xC3"
                              "b😀",
                              6),
            "a?b?  ");
  EXPECT_EQ(FitEucKrReplacing("가나다", 5), "\xB0\xA1\xB3\xAA ");
}

// Proves decoding a field trims trailing spaces only.
TEST(EucKr, DecodeFieldTrimsTrailingSpaces) {
  EXPECT_EQ(DecodeEucKrField(std::string(kHongGilDong) + "        ").value(), "홍길동");
  EXPECT_EQ(DecodeEucKrField("  a b  ").value(), "  a b");
  EXPECT_EQ(DecodeEucKrField("      ").value(), "");
}

// Proves conversion is safe from several threads at once (one converter per thread).
TEST(EucKr, ConvertsOnSeveralThreads) {
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&failures, t] {
      for (int i = 0; i < 2000; ++i) {
        if (Utf8ToEucKr("홍길동").value_or("") != kHongGilDong) ++failures[t];
        if (EucKrToUtf8(kHongGilDong).value_or("") != "홍길동") ++failures[t];
        if (EucKrToUtf8("\xFF")) ++failures[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

}  // namespace
}  // namespace varelay::telegram
