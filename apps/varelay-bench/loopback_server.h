// A small HTTP/1.1 server on 127.0.0.1 for the bench's own ends of the wire: the webhook receiver
// and the no-op ceiling. Each request is answered with the status its handler returns and a
// two-byte body (none with 204), kept alive when the client asks for it.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <memory>
#include <string>

namespace varelay::bench {

using ServerRequest = boost::beast::http::request<boost::beast::http::string_body>;

class LoopbackServer {
 public:
  // Runs on the server's threads, concurrently when there are several; returns the HTTP status.
  using Handler = std::function<int(const ServerRequest&)>;

  // Listens on 127.0.0.1:0 and serves on `threads` threads until destroyed.
  LoopbackServer(Handler handler, int threads);
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  // "http://127.0.0.1:PORT"
  const std::string& url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace varelay::bench
