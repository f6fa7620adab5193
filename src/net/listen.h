// Opening a listening TCP socket, the same way for every server of the project (the relay's HTTP
// API and telegram listener, the simulated bank, the benchmark's loopback servers).
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <string>

#include "domain/error.h"

namespace varelay::net {

// Opens `acceptor` on `host` (an IP address, not a name) and `port` (0: any free port), with
// SO_REUSEADDR, and listens. Returns the bound port. Fails kInvalidField when `host` is not an IP
// address, kInternal when the socket cannot be bound (the port in use, no permission).
Result<unsigned short> Listen(boost::asio::ip::tcp::acceptor& acceptor, const std::string& host, unsigned short port);

}  // namespace varelay::net
