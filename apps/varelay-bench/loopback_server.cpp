#include "loopback_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>
#include <thread>
#include <vector>

#include "net/listen.h"

namespace varelay::bench {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kBodyBytesMax = 1 << 20;  // a webhook body is a few hundred bytes
constexpr auto kReadTimeout = std::chrono::seconds(30);

}  // namespace

struct LoopbackServer::Impl {
  Handler handler;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::string url;
  std::vector<std::jthread> threads;

  asio::awaitable<void> Session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(kBodyBytesMax);
      stream.expires_after(kReadTimeout);
      auto [read_ec, read_bytes] = co_await http::async_read(stream, buffer, parser, kUseTuple);
      if (read_ec) break;
      const auto& request = parser.get();
      http::response<http::string_body> response{static_cast<http::status>(handler(request)),
                                                 request.version()};
      if (response.result() != http::status::no_content) {  // a 204 has no body
        response.set(http::field::content_type, "text/plain");
        response.body() = "ok";
      }
      response.keep_alive(request.keep_alive());
      response.prepare_payload();
      auto [write_ec, write_bytes] = co_await http::async_write(stream, response, kUseTuple);
      if (write_ec || !response.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kUseTuple);
      if (!acceptor.is_open()) co_return;
      if (ec) continue;
      socket.set_option(tcp::no_delay(true));
      asio::co_spawn(ioc, Session(std::move(socket)), asio::detached);
    }
  }
};

LoopbackServer::LoopbackServer(Handler handler, int threads) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  auto port = net::Listen(impl_->acceptor, "127.0.0.1", 0);
  if (!port) throw std::runtime_error(port.error().detail);  // the bench cannot go on without it
  impl_->url = "http://127.0.0.1:" + std::to_string(*port);
  asio::co_spawn(impl_->ioc, impl_->Accept(), asio::detached);
  for (int i = 0; i < threads; ++i) impl_->threads.emplace_back([this] { impl_->ioc.run(); });
}

LoopbackServer::~LoopbackServer() {
  impl_->ioc.stop();
  impl_->threads.clear();  // joins
}

const std::string& LoopbackServer::url() const { return impl_->url; }

}  // namespace varelay::bench
