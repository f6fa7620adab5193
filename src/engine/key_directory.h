// Which API keys are active, and each one's role, readable from any thread: the HTTP layer turns
// away a request whose key is unknown, or whose role may never call its route, before it reads
// the body (a stranger, or a merchant on a bank's route, must not make the relay read and parse
// 4 MiB). The engine publishes a new set whenever keys change; the engine still checks every key
// in full (Relay::Authenticate, then each command's role check), so a set a moment old can only
// let a request on, never in.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "domain/model.h"

namespace varelay {

class KeyDirectory {
 public:
  // Each active key's role, by the SHA-256 (hex) of its secret as Relay stores it.
  using Roles = std::unordered_map<std::string, Role>;

  // Replaces the set of active keys. Engine thread; readers see either the old set or the new
  // one whole.
  void Publish(Roles roles);

  // The role of the key whose secret is `bearer` (the token after "Bearer "), if it was active at
  // the last Publish; nullopt before any Publish. Any thread; hashes the token (a microsecond).
  std::optional<Role> RoleOf(std::string_view bearer) const;
  bool Knows(std::string_view bearer) const { return RoleOf(bearer).has_value(); }

 private:
  mutable std::mutex mutex_;  // guards the pointer only; the map behind it never changes
  std::shared_ptr<const Roles> roles_ = std::make_shared<const Roles>();
};

}  // namespace varelay
