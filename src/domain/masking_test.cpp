// Proves each kind of personal data masks to the shape answers show (Korean names by syllable,
// never by byte), and that what is kept is only what the shape allows.
#include "domain/masking.h"

#include <gtest/gtest.h>

namespace varelay {
namespace {

TEST(MaskingTest, KoreanNamesMaskBySyllable) {
  EXPECT_EQ(MaskName("김철수"), "김*수");
  EXPECT_EQ(MaskName("남궁민수"), "남**수");
  EXPECT_EQ(MaskName("이훈"), "이*");
  EXPECT_EQ(MaskName("김"), "*");
  EXPECT_EQ(MaskName(""), "");
}

TEST(MaskingTest, NamesOfSeveralWordsKeepEachFirstLetter) {
  EXPECT_EQ(MaskName("John Smith"), "J*** S****");
  EXPECT_EQ(MaskName("Jo Ann Lee"), "J* A** L**");
  EXPECT_EQ(MaskName("김 철수"), "김 철*");
  EXPECT_EQ(MaskName("John"), "J**n");
}

TEST(MaskingTest, PhonesKeepTheirFirstAndLastGroups) {
  EXPECT_EQ(MaskPhone("010-1234-5678"), "010-****-5678");
  EXPECT_EQ(MaskPhone("02 123 4567"), "02 *** 4567");
  EXPECT_EQ(MaskPhone("+82-10-1234-5678"), "+82-**-****-5678");
  EXPECT_EQ(MaskPhone("01012345678"), "010****5678");
  EXPECT_EQ(MaskPhone("1234567"), "***4567");
  EXPECT_EQ(MaskPhone("1234-5678"), "****-5678");
  EXPECT_EQ(MaskPhone(""), "");
}

TEST(MaskingTest, AccountsAreMaskedButForTheirLastDigits) {
  EXPECT_EQ(MaskAccount("11112222333"), "*******2333");
  EXPECT_EQ(MaskAccount("1234"), "***4");
  EXPECT_EQ(MaskAccount("9"), "9");
  EXPECT_EQ(MaskAccount(""), "");
}

TEST(MaskingTest, BirthDatesShowNothing) {
  EXPECT_EQ(MaskBirthDate("1990-01-31"), "****-**-**");
  EXPECT_EQ(MaskBirthDate("19900131"), "****-**-**");
  EXPECT_EQ(MaskBirthDate(""), "");
}

TEST(MaskingTest, EmailsKeepTheFirstLetterAndTheDomain) {
  EXPECT_EQ(MaskEmail("john@example.com"), "j***@example.com");
  EXPECT_EQ(MaskEmail("jane.doe+pay@example.com"), "j***@example.com");
  EXPECT_EQ(MaskEmail("j@example.com"), "j***@example.com");
  EXPECT_EQ(MaskEmail("김철수@example.kr"), "김***@example.kr");
  EXPECT_EQ(MaskEmail("@example.com"), "***@example.com");
  EXPECT_EQ(MaskEmail("nobody"), "n***");
  EXPECT_EQ(MaskEmail(""), "");
}

TEST(MaskingTest, BrokenUtf8NeverReadsPastTheEnd) {
  // A lead byte promising three more bytes at the very end: one character, masked.
  EXPECT_EQ(MaskName(std::string("ab\xF0", 3)), "a*\xF0");
  EXPECT_EQ(MaskName(std::string("\xEA\xB9", 2)), "*");
}

}  // namespace
}  // namespace varelay
