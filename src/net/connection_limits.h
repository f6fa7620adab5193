// Caps on open connections, in total and per peer address, for every server that takes
// connections from outside (the relay's HTTP API and its telegram listener), so that one host
// cannot take every slot.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>

namespace varelay::net {

class ConnectionLimits {
 public:
  // At most `max_total` connections open, at most `max_per_address` of them from one address: an
  // IPv4 address, or an IPv6 /64 (one host often holds a whole /64); an IPv4-mapped IPv6 address
  // counts as its IPv4 address.
  ConnectionLimits(std::size_t max_total, std::size_t max_per_address);
  ConnectionLimits(const ConnectionLimits&) = delete;
  ConnectionLimits& operator=(const ConnectionLimits&) = delete;

  // One connection's place; given back when destroyed. Must not outlive its ConnectionLimits.
  class Slot {
   public:
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&&) = delete;
    Slot(const Slot&) = delete;
    ~Slot();

   private:
    friend class ConnectionLimits;
    Slot(ConnectionLimits* owner, boost::asio::ip::address peer) : owner_(owner), peer_(peer) {}
    ConnectionLimits* owner_;
    boost::asio::ip::address peer_;
  };

  // A place for a connection from `peer`; nullopt when the total or the peer's cap is reached
  // (close the connection at once). Any thread.
  std::optional<Slot> TryTake(const boost::asio::ip::address& peer);

  std::size_t Total() const;
  std::size_t From(const boost::asio::ip::address& peer) const;

 private:
  void Give(const boost::asio::ip::address& peer);

  const std::size_t max_total_;
  const std::size_t max_per_address_;
  mutable std::mutex mutex_;
  std::size_t total_ = 0;
  std::map<boost::asio::ip::address, std::size_t> per_address_;  // by /64 for IPv6; only those open
};

}  // namespace varelay::net
