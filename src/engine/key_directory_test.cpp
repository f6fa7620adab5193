// Proves the key directory the HTTP layer checks before reading a body follows the engine's keys:
// the bootstrap key and keys read back at a start are in it, a created key is in it by the time
// its creator hears of it, and a revoked key is out of it by then; each key with its role.
#include "engine/key_directory.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "domain/digest.h"
#include "engine/engine.h"
#include "store/sqlite_store.h"

namespace varelay {
namespace {

const std::string kAdminToken = "vrk_key_directory_admin_0123456789";

TEST(KeyDirectoryTest, KnowsOnlyWhatWasPublished) {
  KeyDirectory directory;
  EXPECT_FALSE(directory.Knows(kAdminToken));
  directory.Publish({{Sha256Hex(kAdminToken), Role::kAdmin}, {Sha256Hex("vrk_bank"), Role::kBank}});
  EXPECT_TRUE(directory.Knows(kAdminToken));
  EXPECT_EQ(directory.RoleOf(kAdminToken), Role::kAdmin);
  EXPECT_EQ(directory.RoleOf("vrk_bank"), Role::kBank);
  EXPECT_EQ(directory.RoleOf("vrk_someone_else"), std::nullopt);
  EXPECT_FALSE(directory.Knows("vrk_someone_else"));
  EXPECT_FALSE(directory.Knows(""));
  directory.Publish({});
  EXPECT_FALSE(directory.Knows(kAdminToken));
}

class EngineKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("varelay-keys-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    Open();
  }
  void TearDown() override {
    engine_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    engine_.reset();
    store_.reset();
    auto store = OpenSqliteStore((dir_ / "varelay.db").string());
    ASSERT_TRUE(store) << store.error().detail;
    store_ = std::move(*store);
    engine_ = std::make_unique<Engine>(*store_, clock_, EngineOptions{});
    ASSERT_TRUE(engine_->Recover());
  }
  // Runs one command as the admin; `seen` is whether `token` was in the directory when the
  // reply came (an empty token: the one the reply issued).
  Result<Outcome> Run(Command command, std::string token, bool& seen) {
    Submission s;
    s.bearer = kAdminToken;
    s.command = std::move(command);
    Result<Outcome> out = Fail(ErrorCode::kInternal, "no reply");
    s.reply = [&](Result<Outcome> r, std::optional<RenderedResponse>) {
      if (token.empty() && r) token = std::get<IssuedApiKey>(*r).token;
      seen = engine_->keys().Knows(token);
      out = std::move(r);
    };
    EXPECT_TRUE(engine_->Submit(std::move(s)));
    engine_->Step();
    return out;
  }

  std::filesystem::path dir_;
  ManualClock clock_{*ParseRfc3339("2026-11-25T10:00:00Z")};
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineKeysTest, FollowsCreationRevocationAndRestart) {
  ASSERT_TRUE(engine_->EnsureAdminKey(kAdminToken));
  EXPECT_TRUE(engine_->keys().Knows(kAdminToken));
  bool seen = false;
  auto bank = Run(CreateBank{"004", "KB Kookmin"}, kAdminToken, seen);
  ASSERT_TRUE(bank) << bank.error().detail;
  auto issued = Run(CreateApiKey{Role::kBank, "", "004", "camt"}, "", seen);
  ASSERT_TRUE(issued) << issued.error().detail;
  EXPECT_TRUE(seen) << "a new key is known before its creator hears of it";
  const auto key = std::get<IssuedApiKey>(*issued);

  Open();  // a restart reads the keys back
  EXPECT_EQ(engine_->keys().RoleOf(kAdminToken), Role::kAdmin);
  EXPECT_EQ(engine_->keys().RoleOf(key.token), Role::kBank) << "each key with its role";

  auto revoked = Run(RevokeApiKey{key.key.id}, key.token, seen);
  ASSERT_TRUE(revoked) << revoked.error().detail;
  EXPECT_FALSE(seen) << "a revoked key is gone before the revocation is answered";
  EXPECT_TRUE(engine_->keys().Knows(kAdminToken));
}

}  // namespace
}  // namespace varelay
