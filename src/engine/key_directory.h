// Which API keys are active, readable from any thread: the HTTP layer turns away a request whose
// key is unknown before it reads the body (a stranger must not make the relay read and parse
// 4 MiB). The engine publishes a new set whenever keys change; the engine still checks every
// key in full (Relay::Authenticate), so a set a moment old can only let a request on, never in.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

namespace varelay {

class KeyDirectory {
 public:
  using Hashes = std::unordered_set<std::string>;

  // Replaces the set of active keys, each the SHA-256 (hex) of its secret as Relay stores it.
  // Engine thread; readers see either the old set or the new one whole.
  void Publish(Hashes hashes);

  // Whether `bearer` (the token after "Bearer ") is the secret of a key active at the last
  // Publish. False before any Publish. Any thread; hashes the token (a microsecond).
  bool Knows(std::string_view bearer) const;

 private:
  mutable std::mutex mutex_;  // guards the pointer only; the set behind it never changes
  std::shared_ptr<const Hashes> hashes_ = std::make_shared<const Hashes>();
};

}  // namespace varelay
