// Proves sealed text opens to what was sealed and only under the right key: tampering, a wrong or
// unknown key and bad formats are errors, rotation keeps old data opening, and key files and key
// text are refused when readable by others or malformed.
#include "crypto/sealer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <set>

namespace varelay::crypto {
namespace {

// Two fixed keys, so the tests need no randomness for the keys themselves.
const std::string kOld = "old:" + std::string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
const std::string kNew = "new-2:" + std::string("ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=");

Sealer Make(const std::string& text) {
  auto sealer = Sealer::FromKeyText(text);
  EXPECT_TRUE(sealer) << sealer.error().detail;
  return std::move(*sealer);
}

TEST(SealerTest, WhatIsSealedOpens) {
  const Sealer sealer = Make(kOld);
  for (std::string plain : {std::string("김철수"), std::string("010-1234-5678"), std::string(),
                            std::string(5000, 'x')}) {
    const std::string sealed = sealer.Seal(plain);
    EXPECT_TRUE(sealed.starts_with("s1.old.")) << sealed;
    EXPECT_EQ(sealed.find_first_not_of(
                  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."),
              std::string::npos);
    auto opened = sealer.Open(sealed);
    ASSERT_TRUE(opened) << opened.error().detail;
    EXPECT_EQ(*opened, plain);
  }
}

TEST(SealerTest, TheSameTextSealsDifferentlyEachTime) {
  const Sealer sealer = Make(kOld);
  EXPECT_NE(sealer.Seal("김철수"), sealer.Seal("김철수"));
}

TEST(SealerTest, ATamperedByteIsAnError) {
  const Sealer sealer = Make(kOld);
  const std::string sealed = sealer.Seal("900101-1234567");
  for (std::size_t i = std::string("s1.old.").size(); i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    auto opened = sealer.Open(bad);
    ASSERT_FALSE(opened) << "byte " << i;
    EXPECT_EQ(opened.error().code, ErrorCode::kInternal);
  }
  EXPECT_FALSE(sealer.Open(sealed.substr(0, sealed.size() - 1)));
}

TEST(SealerTest, AWrongOrUnknownKeyIsAnError) {
  const Sealer old_only = Make(kOld);
  const Sealer new_only = Make(kNew);
  auto unknown = new_only.Open(old_only.Seal("secret"));
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().detail.find("old"), std::string::npos) << unknown.error().detail;
  // The right id with other key bytes: the box does not open.
  const Sealer impostor =
      Make("old:" + std::string("ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="));
  EXPECT_FALSE(impostor.Open(old_only.Seal("secret")));
}

TEST(SealerTest, BadFormatsAreErrorsNotCrashes) {
  const Sealer sealer = Make(kOld);
  for (std::string_view bad :
       {"", "s1", "s1.", "s1.old", "s1.old.", "s2.old.AAAA", "s1.old.!!!!", "s1.old.AAAA",
        "plain text", "s1..AAAA",
        "s1.old.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}) {
    auto opened = sealer.Open(bad);
    EXPECT_FALSE(opened) << bad;
  }
}

TEST(SealerTest, RotationSealsWithTheFirstKeyAndOpensWithAll) {
  const Sealer before = Make(kOld);
  const std::string old_sealed = before.Seal("김철수");
  const Sealer after = Make(kNew + "\n" + kOld + "\n");
  EXPECT_EQ(after.current_key_id(), "new-2");
  EXPECT_EQ(after.key_count(), 2u);
  EXPECT_EQ(*after.Open(old_sealed), "김철수");
  const std::string new_sealed = after.Seal("김철수");
  EXPECT_TRUE(new_sealed.starts_with("s1.new-2."));
  EXPECT_TRUE(after.SealedWithCurrentKey(new_sealed));
  EXPECT_FALSE(after.SealedWithCurrentKey(old_sealed));
  EXPECT_TRUE(before.SealedWithCurrentKey(old_sealed));
  EXPECT_FALSE(before.Open(new_sealed));
}

TEST(SealerTest, KeyTextAllowsCommentsBlankLinesAndCrlf) {
  const Sealer sealer = Make("# rotated 2026-12\r\n\n" + kNew + "\r\n" + kOld);
  EXPECT_EQ(sealer.current_key_id(), "new-2");
  EXPECT_EQ(sealer.key_count(), 2u);
}

TEST(SealerTest, MalformedKeyTextIsRefusedWithoutShowingTheKey) {
  const std::string key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  for (const std::string& bad : std::vector<std::string>{
           "", "\n# only a comment\n", key, ":" + key, "Upper:" + key, "a_b:" + key,
           "seventeen-chars-x:" + key, "k1:", "k1:not base64!", "k1:" + key.substr(4),
           "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8fHw==", "k1 :" + key, "k1:" + key + " ",
           "k1:" + key + "\nk1:" + key}) {
    auto sealer = Sealer::FromKeyText(bad);
    ASSERT_FALSE(sealer) << bad;
    EXPECT_EQ(sealer.error().code, ErrorCode::kInvalidField) << bad;
    EXPECT_EQ(sealer.error().detail.find(key.substr(4, 20)), std::string::npos)
        << sealer.error().detail;
  }
  EXPECT_NE(Sealer::FromKeyText("k1:" + key + "\nk1:" + key).error().detail.find("duplicate"),
            std::string::npos);
  std::string many;
  for (std::size_t i = 0; i <= kMaxSealKeys; ++i)
    many += "k" + std::to_string(i) + ":" + key + "\n";
  EXPECT_FALSE(Sealer::FromKeyText(many));
}

TEST(SealerTest, NewKeyLinesLoadAndDiffer) {
  const std::string a = Sealer::NewKeyLine("k1");
  const std::string b = Sealer::NewKeyLine("k2");
  EXPECT_TRUE(a.starts_with("k1:"));
  EXPECT_NE(a.substr(3), b.substr(3));
  const Sealer sealer = Make(a + "\n" + b);
  EXPECT_EQ(*sealer.Open(sealer.Seal("x")), "x");
  EXPECT_TRUE(IsSealKeyId(Sealer::DefaultKeyId(std::chrono::system_clock::now())));
  EXPECT_EQ(Sealer::DefaultKeyId(std::chrono::sys_days{std::chrono::December / 7 / 2026} +
                                 std::chrono::hours(19) + std::chrono::minutes(48) +
                                 std::chrono::seconds(12)),
            "k20261207-194812");
}

class SealerFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("varelay-sealer-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path Write(const std::string& text, mode_t mode) {
    auto path = dir_ / "seal.key";
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(SealerFileTest, AnOwnerOnlyFileLoads) {
  auto sealer = Sealer::FromKeyFile(Write(kNew + "\n" + kOld + "\n", 0600));
  ASSERT_TRUE(sealer) << sealer.error().detail;
  EXPECT_EQ(sealer->current_key_id(), "new-2");
  EXPECT_TRUE(Sealer::FromKeyFile(Write(kOld, 0400)));
}

TEST_F(SealerFileTest, AFileOthersMayReadIsRefused) {
  for (mode_t mode : {0640, 0604, 0660, 0620, 0644}) {
    auto sealer = Sealer::FromKeyFile(Write(kOld, mode));
    ASSERT_FALSE(sealer) << std::oct << mode;
    EXPECT_EQ(sealer.error().code, ErrorCode::kForbidden);
    EXPECT_NE(sealer.error().detail.find("chmod 600"), std::string::npos) << sealer.error().detail;
  }
}

TEST_F(SealerFileTest, MissingMalformedAndNonRegularFilesAreRefused) {
  EXPECT_EQ(Sealer::FromKeyFile(dir_ / "absent.key").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(Sealer::FromKeyFile(Write("k1:short", 0600)).error().code, ErrorCode::kInvalidField);
  ::chmod(dir_.c_str(), 0700);
  EXPECT_FALSE(Sealer::FromKeyFile(dir_));
  EXPECT_FALSE(Sealer::FromKeyFile(Write(std::string(kMaxSealKeyTextBytes + 1, '#'), 0600)));
}

TEST_F(SealerFileTest, AMissingFileIsCreatedOwnerOnlyAndThenReused) {
  const auto path = dir_ / "seal.key";
  bool created = false;
  auto first = Sealer::OpenOrCreateKeyFile(path, "k1", created);
  ASSERT_TRUE(first) << first.error().detail;
  EXPECT_TRUE(created);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string sealed = first->Seal("김철수");
  auto again = Sealer::OpenOrCreateKeyFile(path, "k2", created);
  ASSERT_TRUE(again) << again.error().detail;
  EXPECT_FALSE(created);
  EXPECT_EQ(again->current_key_id(), "k1");
  EXPECT_EQ(*again->Open(sealed), "김철수");
}

TEST_F(SealerFileTest, AKeyHalfWrittenByAKilledStartIsReplaced) {
  const auto path = dir_ / "seal.key";
  std::ofstream(path.string() + ".new") << "k1:AAEC";  // a start killed while writing
  bool created = false;
  auto sealer = Sealer::OpenOrCreateKeyFile(path, "k2", created);
  ASSERT_TRUE(sealer) << sealer.error().detail;
  EXPECT_TRUE(created);
  EXPECT_EQ(sealer->current_key_id(), "k2");
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".new"));
}

TEST(SealerKeyIdTest, KeyIdsAreShortLowercaseWords) {
  EXPECT_TRUE(IsSealKeyId("k1"));
  EXPECT_TRUE(IsSealKeyId("2026-12"));
  EXPECT_TRUE(IsSealKeyId(std::string(16, 'a')));
  EXPECT_FALSE(IsSealKeyId(std::string(17, 'a')));
  EXPECT_FALSE(IsSealKeyId(""));
  EXPECT_FALSE(IsSealKeyId("K1"));
  EXPECT_FALSE(IsSealKeyId("k.1"));
  EXPECT_FALSE(IsSealKeyId("k_1"));
}

}  // namespace
}  // namespace varelay::crypto
