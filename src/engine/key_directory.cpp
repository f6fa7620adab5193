#include "engine/key_directory.h"

#include "domain/digest.h"

namespace varelay {

void KeyDirectory::Publish(Roles roles) {
  auto published = std::make_shared<const Roles>(std::move(roles));
  std::lock_guard lock(mutex_);
  roles_ = std::move(published);
}

std::optional<Role> KeyDirectory::RoleOf(std::string_view bearer) const {
  if (bearer.empty()) return std::nullopt;
  std::shared_ptr<const Roles> roles;
  {
    std::lock_guard lock(mutex_);
    roles = roles_;
  }
  // The same handle Relay::Authenticate looks keys up by.
  auto it = roles->find(Sha256Hex(bearer));
  if (it == roles->end()) return std::nullopt;
  return it->second;
}

}  // namespace varelay
