#include "domain/identifiers.h"

#include <gtest/gtest.h>

namespace varelay {
namespace {

// Proves each identifier check accepts its documented shape and nothing else.
TEST(Identifiers, AcceptOnlyTheirShapes) {
  EXPECT_TRUE(IsBankCode("004"));
  EXPECT_FALSE(IsBankCode("04"));
  EXPECT_FALSE(IsBankCode("0a4"));
  EXPECT_TRUE(IsMerchantId("shop-1"));
  EXPECT_FALSE(IsMerchantId("Shop"));
  EXPECT_FALSE(IsMerchantId("-shop"));
  EXPECT_TRUE(IsRegion("seoul"));
  EXPECT_FALSE(IsRegion("seoul_1"));
  EXPECT_TRUE(IsExternalId("order:2026-11.25_A"));
  EXPECT_FALSE(IsExternalId("order 1"));
  EXPECT_FALSE(IsExternalId(std::string(65, 'a')));
  EXPECT_TRUE(IsVirtualAccountNumber("12345678901234"));
  EXPECT_FALSE(IsVirtualAccountNumber("1234-5678"));
  EXPECT_FALSE(IsVirtualAccountNumber(std::string(17, '1')));
  EXPECT_TRUE(IsIdempotencyKey("a1b2-c3"));
  EXPECT_FALSE(IsIdempotencyKey("has space"));
}

// Proves free text counts code points, not bytes, and refuses control characters.
TEST(Identifiers, CleanTextCountsCodePoints) {
  EXPECT_TRUE(IsCleanText("홍길동", 3));
  EXPECT_FALSE(IsCleanText("홍길동", 2));
  EXPECT_FALSE(IsCleanText("", 10));
  EXPECT_FALSE(IsCleanText("a\nb", 10));
}

// Proves the UTF-8 check refuses truncated, overlong and surrogate sequences.
TEST(Identifiers, ValidUtf8) {
  EXPECT_TRUE(IsValidUtf8("홍길동 abc"));
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xED\x95"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
}

}  // namespace
}  // namespace varelay
