#include "engine/key_directory.h"

#include "domain/digest.h"

namespace varelay {

void KeyDirectory::Publish(Hashes hashes) {
  auto published = std::make_shared<const Hashes>(std::move(hashes));
  std::lock_guard lock(mutex_);
  hashes_ = std::move(published);
}

bool KeyDirectory::Knows(std::string_view bearer) const {
  if (bearer.empty()) return false;
  std::shared_ptr<const Hashes> hashes;
  {
    std::lock_guard lock(mutex_);
    hashes = hashes_;
  }
  // The same handle Relay::Authenticate looks keys up by.
  return hashes->contains(Sha256Hex(bearer));
}

}  // namespace varelay
