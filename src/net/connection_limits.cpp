#include "net/connection_limits.h"

#include <utility>

namespace varelay::net {
namespace {

boost::asio::ip::address Canonical(const boost::asio::ip::address& peer) {
  if (peer.is_v6() && peer.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, peer.to_v6());
  }
  return peer;
}

}  // namespace

ConnectionLimits::ConnectionLimits(std::size_t max_total, std::size_t max_per_address)
    : max_total_(max_total), max_per_address_(max_per_address) {}

ConnectionLimits::Slot::Slot(Slot&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), peer_(other.peer_) {}

ConnectionLimits::Slot::~Slot() {
  if (owner_) owner_->Give(peer_);
}

std::optional<ConnectionLimits::Slot> ConnectionLimits::TryTake(
    const boost::asio::ip::address& peer) {
  auto key = Canonical(peer);
  std::lock_guard lock(mutex_);
  if (total_ >= max_total_) return std::nullopt;
  auto& count = per_address_[key];
  if (count >= max_per_address_) {
    if (count == 0) per_address_.erase(key);
    return std::nullopt;
  }
  ++count;
  ++total_;
  return Slot(this, key);
}

void ConnectionLimits::Give(const boost::asio::ip::address& peer) {
  std::lock_guard lock(mutex_);
  --total_;
  auto it = per_address_.find(peer);
  if (--it->second == 0) per_address_.erase(it);
}

std::size_t ConnectionLimits::Total() const {
  std::lock_guard lock(mutex_);
  return total_;
}

std::size_t ConnectionLimits::From(const boost::asio::ip::address& peer) const {
  std::lock_guard lock(mutex_);
  auto it = per_address_.find(Canonical(peer));
  return it == per_address_.end() ? 0 : it->second;
}

}  // namespace varelay::net
