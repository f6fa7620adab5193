// The HTTP/1.1 listener: Boost.Beast with C++20 coroutines on a small pool of I/O threads.
// Reads and writes sockets, enforces size and time limits, and hands each request to Service.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "api/division_gateway.h"
#include "api/service.h"
#include "banks/bank_health.h"
#include "domain/error.h"
#include "engine/engine.h"

namespace varelay::api {

struct ServerOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;  // 0: any free port
  int io_threads = 2;
  std::chrono::seconds read_timeout{30};       // per request, headers and body
  // SIGTERM: for drain_grace the server goes on accepting and answers every new request 503
  // shutting_down with Retry-After, then closes its connection, so clients that connected (or
  // queued) before the stop hear an answer, not a reset; the grace ends early once no connection
  // is left. Requests in flight complete; the drain waits for them up to drain_timeout in all.
  std::chrono::milliseconds drain_grace{1000};
  std::chrono::seconds drain_timeout{10};
  std::size_t max_connections = 4096;          // beyond this, new connections are closed at once
  std::size_t max_connections_per_address = 256;  // from one client address; beyond, closed at once
  std::size_t header_limit_bytes = 16 * 1024;     // per request: at most max_connections times this
  // Request bodies held in memory at once, counted by what each request declares (a chunked one
  // by its route's limit) from its head on until its answer is written; a request that would go
  // past it is answered 503 `overloaded` with Retry-After, its body unread.
  std::size_t body_budget_bytes = 64 << 20;
  banks::BankHealth* bank_health = nullptr;     // circuit breakers for calls to banks; optional
  std::chrono::milliseconds bank_timeout{5000};  // an account-holder inquiry waits this long for the bank
  DivisionGateway* division = nullptr;  // runs the division routes; none: they answer 500
  std::map<std::string, std::string> json_banks;  // --json-bank CODE=URL (a master's holder inquiry)
};

class HttpServer {
 public:
  HttpServer(Service& service, Engine& engine, ServerOptions options);
  ~HttpServer();

  // Binds and listens; returns the bound port.
  Result<unsigned short> Listen();

  // Serves until SIGTERM or SIGINT, then drains (ServerOptions::drain_grace): answers new
  // requests 503, lets requests in flight finish (the engine completes their batch), stops
  // accepting, stops the engine, and returns.
  void Run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace varelay::api
