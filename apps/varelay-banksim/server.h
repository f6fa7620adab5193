// The simulated bank's HTTP/1.1 listener: one Boost.Beast coroutine per connection on one I/O
// thread; each request is handled on a small worker pool (a payment waits for the relay's
// pre-check, which must not stall other connections). Size and time limits on every request.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "domain/error.h"
#include "routes.h"

namespace varelay::banksim {

struct ServerOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 0;  // 0: any free port
  int workers = 4;          // threads that run handlers
  std::chrono::seconds read_timeout{30};
  std::size_t max_connections = 256;  // beyond this, new connections are closed at once
  std::size_t header_limit_bytes = 16 * 1024;
};

class Server {
 public:
  using Handler = std::function<SimResponse(const SimRequest&)>;
  Server(Handler handler, ServerOptions options);
  ~Server();

  // Binds and listens; returns the bound port.
  Result<unsigned short> Listen();
  // Serves until SIGTERM or SIGINT, then closes the listener, lets handlers in flight finish
  // (at most a few seconds) and returns.
  void Run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace varelay::banksim
