// Proves the hasher hashes and verifies argon2id on threads of its own (never the caller's), that a
// full queue is refused at once with `overloaded` instead of blocking, that many verifies at once
// are all answered, that Stop answers what still waits, and that ConstantTimeEquals compares.
#include "crypto/password_hasher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>

namespace varelay::crypto {
namespace {

using namespace std::chrono_literals;

PasswordHasherOptions Testing(int threads = 2, std::size_t max_queued = 256) {
  return {threads, max_queued, Strength::kTestingOnly};
}

template <typename T>
struct Answer {
  std::promise<std::pair<Result<T>, std::thread::id>> promise;
  std::future<std::pair<Result<T>, std::thread::id>> future = promise.get_future();
  std::function<void(Result<T>)> Callback() {
    return [this](Result<T> r) { promise.set_value({std::move(r), std::this_thread::get_id()}); };
  }
  std::pair<Result<T>, std::thread::id> Get() {
    EXPECT_EQ(future.wait_for(30s), std::future_status::ready);
    return future.get();
  }
};

std::string HashOf(PasswordHasher& hasher, const std::string& password) {
  Answer<std::string> hashed;
  hasher.Hash(password, hashed.Callback());
  auto [hash, thread] = hashed.Get();
  EXPECT_TRUE(hash) << hash.error().detail;
  return hash.value_or("");
}

TEST(PasswordHasherTest, AHashVerifiesItsPasswordOnly) {
  PasswordHasher hasher(Testing());
  const std::string hash = HashOf(hasher, "483921");
  EXPECT_TRUE(hash.starts_with("$argon2id$")) << hash;
  EXPECT_NE(HashOf(hasher, "483921"), hash);  // salted
  Answer<bool> right, wrong;
  hasher.Verify(hash, "483921", right.Callback());
  hasher.Verify(hash, "483922", wrong.Callback());
  EXPECT_EQ(right.Get().first, true);
  EXPECT_EQ(wrong.Get().first, false);
}

TEST(PasswordHasherTest, WorkRunsOnThePoolNeverOnTheCaller) {
  PasswordHasher hasher(Testing(1));
  Answer<std::string> hashed;
  hasher.Hash("correct horse 1", hashed.Callback());
  auto [hash, hash_thread] = hashed.Get();
  ASSERT_TRUE(hash);
  EXPECT_NE(hash_thread, std::this_thread::get_id());
  Answer<bool> verified;
  hasher.Verify(*hash, "correct horse 1", verified.Callback());
  auto [ok, verify_thread] = verified.Get();
  EXPECT_EQ(ok, true);
  EXPECT_NE(verify_thread, std::this_thread::get_id());
}

TEST(PasswordHasherTest, AFullQueueIsRefusedAtOnceWithOverloaded) {
  PasswordHasher hasher(Testing(1, 1));
  // The one thread is held inside the first job's callback until the test lets it go.
  std::promise<void> entered, release;
  auto released = release.get_future().share();
  hasher.Hash("first-pass", [&](Result<std::string>) {
    entered.set_value();
    released.wait();
  });
  ASSERT_EQ(entered.get_future().wait_for(30s), std::future_status::ready);
  Answer<std::string> queued;
  hasher.Hash("second-pass", queued.Callback());  // waits: the queue holds one
  Answer<std::string> refused;
  const auto before = std::chrono::steady_clock::now();
  hasher.Hash("third-pass", refused.Callback());
  // Answered before Hash returned, on this thread: nothing blocked on the busy pool.
  ASSERT_EQ(refused.future.wait_for(0s), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
  auto [result, thread] = refused.Get();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kOverloaded);
  EXPECT_EQ(thread, std::this_thread::get_id());
  release.set_value();
  EXPECT_TRUE(queued.Get().first);
}

TEST(PasswordHasherTest, ManyConcurrentVerifiesAreAllAnswered) {
  PasswordHasher hasher(Testing(3, 1000));
  const std::string hash = HashOf(hasher, "passphrase-9");
  constexpr int kCallers = 4, kEach = 50;
  std::mutex mutex;
  std::condition_variable all_in;
  int matched = 0, refused = 0, answered = 0;
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int i = 0; i < kEach; ++i) {
        const bool right = (i + c) % 2 == 0;
        hasher.Verify(hash, right ? "passphrase-9" : "passphrase-8", [&, right](Result<bool> r) {
          std::lock_guard lock(mutex);
          if (!r)
            ++refused;
          else if (*r == right)
            ++matched;
          if (++answered == kCallers * kEach) all_in.notify_one();
        });
      }
    });
  }
  for (auto& t : callers) t.join();
  std::unique_lock lock(mutex);
  EXPECT_TRUE(all_in.wait_for(lock, 60s, [&] { return answered == kCallers * kEach; })) << answered;
  EXPECT_EQ(refused, 0);
  EXPECT_EQ(matched, kCallers * kEach);
}

TEST(PasswordHasherTest, StopAnswersWhatWaitsAndRefusesWhatComesAfter) {
  auto hasher = std::make_unique<PasswordHasher>(Testing(1, 10));
  std::promise<void> entered, release;
  auto released = release.get_future().share();
  hasher->Hash("first-pass", [&](Result<std::string>) {
    entered.set_value();
    released.wait();
  });
  ASSERT_EQ(entered.get_future().wait_for(30s), std::future_status::ready);
  Answer<bool> waiting;
  hasher->Verify("$argon2id$nothing", "x", waiting.Callback());
  // Stop answers what waits at once, while the pool thread is still busy, then waits for it.
  std::thread stopper([&] { hasher->Stop(); });
  auto [result, thread] = waiting.Get();
  release.set_value();
  stopper.join();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kShuttingDown);
  Answer<std::string> late;
  hasher->Hash("late-pass", late.Callback());
  EXPECT_EQ(late.Get().first.error().code, ErrorCode::kShuttingDown);
  hasher.reset();  // the destructor after Stop joins nothing twice
}

TEST(PasswordHasherTest, BadInputIsAnErrorNotACrash) {
  PasswordHasher hasher(Testing(1));
  Answer<bool> not_a_hash;
  hasher.Verify("plain text", "x", not_a_hash.Callback());
  EXPECT_EQ(not_a_hash.Get().first.error().code, ErrorCode::kInternal);
  Answer<std::string> too_long;
  hasher.Hash(std::string(kMaxPasswordBytes + 1, 'x'), too_long.Callback());
  EXPECT_EQ(too_long.Get().first.error().code, ErrorCode::kInvalidField);
}

TEST(PasswordHasherTest, AHashOfAnotherStrengthNeedsRehash) {
  PasswordHasher testing(Testing(1));
  const std::string hash = HashOf(testing, "483921");
  EXPECT_FALSE(testing.NeedsRehash(hash));
  PasswordHasher interactive({1, 4, Strength::kInteractive});
  EXPECT_TRUE(interactive.NeedsRehash(hash));
  EXPECT_TRUE(interactive.NeedsRehash("plain text"));
}

TEST(PasswordHasherTest, StrengthsHaveStableNames) {
  EXPECT_EQ(StrengthName(Strength::kInteractive), "interactive");
  EXPECT_EQ(StrengthName(Strength::kModerate), "moderate");
  EXPECT_EQ(StrengthName(Strength::kTestingOnly), "testing-only");
  for (Strength s : {Strength::kInteractive, Strength::kModerate, Strength::kTestingOnly}) {
    EXPECT_EQ(ParseStrength(StrengthName(s)), s);
  }
  EXPECT_EQ(ParseStrength("strong"), std::nullopt);
}

TEST(ConstantTimeEqualsTest, ComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("vms_abc", "vms_abc"));
  EXPECT_FALSE(ConstantTimeEquals("vms_abc", "vms_abd"));
  EXPECT_FALSE(ConstantTimeEquals("vms_abc", "vms_ab"));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
}

}  // namespace
}  // namespace varelay::crypto
