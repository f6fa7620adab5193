#include "net/connection_limits.h"

#include <algorithm>
#include <utility>

namespace varelay::net {
namespace {

// The key a peer is counted under: an IPv4 address; for IPv6 its /64, since one host is
// commonly given a whole /64 and could otherwise take a slot cap per address in it.
boost::asio::ip::address Canonical(const boost::asio::ip::address& peer) {
  if (!peer.is_v6()) return peer;
  auto v6 = peer.to_v6();
  if (v6.is_v4_mapped()) return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6);
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes);
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
