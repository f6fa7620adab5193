#include "crypto/password_hasher.h"

#include <pthread.h>
#include <sodium.h>
#include <sys/resource.h>
#include <unistd.h>

#include "domain/assert.h"

namespace varelay::crypto {
namespace {

struct Limits {
  unsigned long long opslimit;
  std::size_t memlimit;
};

Limits LimitsFor(Strength strength) {
  switch (strength) {
    case Strength::kInteractive:
      return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
    case Strength::kModerate:
      return {crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
    case Strength::kTestingOnly:
      return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
  }
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

bool IsArgon2Hash(std::string_view hash) {
  return hash.size() < crypto_pwhash_STRBYTES &&
         (hash.starts_with("$argon2id$") || hash.starts_with("$argon2i$"));
}

}  // namespace

std::string_view StrengthName(Strength strength) {
  switch (strength) {
    case Strength::kInteractive:
      return "interactive";
    case Strength::kModerate:
      return "moderate";
    case Strength::kTestingOnly:
      return "testing-only";
  }
  return "interactive";
}

std::optional<Strength> ParseStrength(std::string_view name) {
  for (Strength s : {Strength::kInteractive, Strength::kModerate, Strength::kTestingOnly}) {
    if (StrengthName(s) == name) return s;
  }
  return std::nullopt;
}

PasswordHasher::PasswordHasher(PasswordHasherOptions options) : options_(options) {
  VARELAY_INVARIANT(::sodium_init() >= 0, "libsodium initialised");
  VARELAY_INVARIANT(options_.threads >= 1, "a password hasher has at least one thread");
  const Limits limits = LimitsFor(options_.strength);
  opslimit_ = limits.opslimit;
  memlimit_ = limits.memlimit;
  threads_.reserve(static_cast<std::size_t>(options_.threads));
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { Run(); });
}

PasswordHasher::~PasswordHasher() { Stop(); }

void PasswordHasher::Hash(std::string password, std::function<void(Result<std::string>)> done) {
  if (password.size() > kMaxPasswordBytes) {
    done(Fail(ErrorCode::kInvalidField,
              "a password is at most " + std::to_string(kMaxPasswordBytes) + " bytes"));
    return;
  }
  auto shared_done = std::make_shared<std::function<void(Result<std::string>)>>(std::move(done));
  Job job;
  job.run = [this, password = std::move(password), shared_done]() mutable {
    char hash[crypto_pwhash_STRBYTES];
    const int failed =
        ::crypto_pwhash_str(hash, password.data(), password.size(), opslimit_, memlimit_);
    ::sodium_memzero(password.data(), password.size());
    if (failed != 0)
      return (*shared_done)(Fail(ErrorCode::kInternal, "argon2id ran out of memory"));
    (*shared_done)(std::string(hash));
  };
  job.refuse = [shared_done](Error error) { (*shared_done)(std::unexpected(std::move(error))); };
  Submit(std::move(job));
}

void PasswordHasher::Verify(std::string hash, std::string password,
                            std::function<void(Result<bool>)> done) {
  if (password.size() > kMaxPasswordBytes) {
    done(Fail(ErrorCode::kInvalidField,
              "a password is at most " + std::to_string(kMaxPasswordBytes) + " bytes"));
    return;
  }
  auto shared_done = std::make_shared<std::function<void(Result<bool>)>>(std::move(done));
  Job job;
  job.run = [hash = std::move(hash), password = std::move(password), shared_done]() mutable {
    if (!IsArgon2Hash(hash))
      return (*shared_done)(Fail(ErrorCode::kInternal, "the stored password hash is not argon2"));
    const bool match =
        ::crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
    ::sodium_memzero(password.data(), password.size());
    (*shared_done)(match);
  };
  job.refuse = [shared_done](Error error) { (*shared_done)(std::unexpected(std::move(error))); };
  Submit(std::move(job));
}

bool PasswordHasher::NeedsRehash(std::string_view hash) const {
  if (!IsArgon2Hash(hash)) return true;
  const std::string terminated(hash);
  return ::crypto_pwhash_str_needs_rehash(terminated.c_str(), opslimit_, memlimit_) != 0;
}

void PasswordHasher::Submit(Job job) {
  std::unique_lock lock(mutex_);
  if (stopping_ || queue_.size() >= options_.max_queued) {
    const bool stopping = stopping_;
    lock.unlock();
    // Answered on the caller's thread, before Submit returns: a full pool must not block an I/O
    // thread, let alone the engine.
    if (stopping)
      return job.refuse(Error{ErrorCode::kShuttingDown, "the password hasher has stopped", {}});
    return job.refuse(
        Error{ErrorCode::kOverloaded,
              "too many password checks waiting (" + std::to_string(options_.max_queued) + ")",
              {}});
  }
  queue_.push_back(std::move(job));
  lock.unlock();
  wake_.notify_one();
}

void PasswordHasher::Run() {
  pthread_setname_np(pthread_self(), "vr-passwords");
  // This thread only (Linux keeps a niceness per thread); failing leaves it at the process's.
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), options_.nice);
  for (;;) {
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;  // Stop() answers what is left
    Job job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    job.run();
  }
}

void PasswordHasher::Stop() {
  std::deque<Job> left;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    left.swap(queue_);
  }
  wake_.notify_all();
  for (Job& job : left)
    job.refuse(Error{ErrorCode::kShuttingDown, "the password hasher is stopping", {}});
  for (auto& thread : threads_) {
    if (thread.joinable() && thread.get_id() != std::this_thread::get_id()) thread.join();
  }
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return a.empty() || ::sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace varelay::crypto
