// Password hashing with argon2id (libsodium's crypto_pwhash_str) on a pool of threads of its
// own, so that neither the engine's single writer nor an I/O thread ever spends the tens of
// milliseconds and megabytes a hash costs.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "domain/error.h"

namespace varelay::crypto {

// How costly each hash is: libsodium's limits of the same names. Memory per hash in progress:
// interactive 64 MiB, moderate 256 MiB. kTestingOnly is OPSLIMIT_MIN/MEMLIMIT_MIN (8 KiB):
// trivially cheap to attack, for tests only, never a production setting.
enum class Strength { kInteractive, kModerate, kTestingOnly };
std::string_view StrengthName(Strength strength);  // "interactive", "moderate", "testing-only"
std::optional<Strength> ParseStrength(std::string_view name);

// Passwords longer than this are refused (kInvalidField) rather than hashed: the division rules
// allow 64 characters, and an unbounded input is an unbounded cost.
inline constexpr std::size_t kMaxPasswordBytes = 1024;

struct PasswordHasherOptions {
  int threads = 1;               // hashing threads (each holds a hash's memory while it works)
  std::size_t max_queued = 256;  // jobs waiting for a thread at most (not counting those running)
  Strength strength = Strength::kInteractive;
  // Niceness of the hashing threads (0..19): a verification takes a tenth of a second of a core
  // and 64 MiB, and the threads that answer deposits should have the core first when both want it.
  int nice = 10;
};

class PasswordHasher {
 public:
  // Starts the threads.
  explicit PasswordHasher(PasswordHasherOptions options);
  // Stop(), then joins the threads.
  ~PasswordHasher();
  PasswordHasher(const PasswordHasher&) = delete;
  PasswordHasher& operator=(const PasswordHasher&) = delete;

  // Hashes `password` into an argon2id string ("$argon2id$v=19$m=...") at the configured
  // strength; `done` runs on a pool thread with it (kInternal if libsodium runs out of memory).
  // Refused at once, `done` running on the caller's thread before Hash returns: kOverloaded
  // when max_queued jobs already wait, kShuttingDown after Stop(), kInvalidField for a password
  // over kMaxPasswordBytes.
  void Hash(std::string password, std::function<void(Result<std::string>)> done);
  // Whether `password` matches `hash` (any argon2 string crypto_pwhash_str made, at any
  // strength); `done` runs on a pool thread with true or false, or kInternal when `hash` is not
  // an argon2 hash string. Refused at once as Hash is.
  void Verify(std::string hash, std::string password, std::function<void(Result<bool>)> done);

  // Whether `hash` was made at another strength than the configured one (or is not a hash):
  // after a successful Verify, the caller may store a fresh Hash. Cheap; any thread.
  bool NeedsRehash(std::string_view hash) const;

  // Stops taking jobs; every job still waiting is answered kShuttingDown at once (on the thread
  // calling Stop), jobs running finish, and the threads end. Idempotent; returns once the
  // threads have ended.
  void Stop();

 private:
  // A job runs the work and answers; refuse answers an error instead (a full queue, a stop).
  struct Job {
    std::function<void()> run;
    std::function<void(Error)> refuse;
  };
  void Submit(Job job);
  void Run();

  PasswordHasherOptions options_;
  unsigned long long opslimit_;
  std::size_t memlimit_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;  // bounded by options_.max_queued
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// Compares two secrets (tokens, MACs) in time that depends on their length only, never on where
// they differ (sodium_memcmp after a length check).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace varelay::crypto
