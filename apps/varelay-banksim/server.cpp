#include "server.h"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include "net/listen.h"

namespace varelay::banksim {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::seconds kDrainTimeout{5};

// Runs `work` on `pool` and completes on the caller's executor with its response.
template <typename Token>
auto RunOn(asio::thread_pool& pool, std::function<SimResponse()> work, Token&& token) {
  return asio::async_initiate<Token, void(SimResponse)>(
      [&pool](auto handler, std::function<SimResponse()> job) {
        auto home = asio::get_associated_executor(handler);
        auto guard = asio::make_work_guard(home);
        asio::post(pool, [handler = std::move(handler), job = std::move(job),
                          guard = std::move(guard)]() mutable {
          SimResponse response = job();
          auto ex = guard.get_executor();
          asio::post(ex, [handler = std::move(handler), response = std::move(response)]() mutable {
            std::move(handler)(std::move(response));
          });
        });
      },
      token, std::move(work));
}

http::response<http::string_body> ToBeast(SimResponse&& out, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(out.status), version};
  res.set(http::field::content_type, out.content_type);
  res.set(http::field::cache_control, "no-store");
  res.set(http::field::server, "varelay-banksim");
  res.keep_alive(keep_alive);
  res.body() = std::move(out.body);
  res.prepare_payload();
  return res;
}

SimResponse PlainProblem(int status, std::string_view code, std::string_view detail) {
  std::string body = "{\"type\":\"urn:varelay-banksim:problem:" + std::string(code) +
                     "\",\"title\":\"" + std::string(code) +
                     "\",\"status\":" + std::to_string(status) + ",\"detail\":\"" +
                     std::string(detail) + "\",\"code\":\"" + std::string(code) + "\"}";
  return SimResponse{status, "application/problem+json", std::move(body)};
}

}  // namespace

struct Server::Impl {
  Handler handler;
  ServerOptions options;
  asio::io_context ioc;
  asio::thread_pool pool;
  tcp::acceptor acceptor{ioc};
  asio::signal_set signals{ioc, SIGTERM, SIGINT};
  std::atomic<std::size_t> connections{0};
  std::atomic<std::size_t> in_flight{0};
  std::atomic<bool> draining{false};

  Impl(Handler h, ServerOptions o)
      : handler(std::move(h)),
        options(std::move(o)),
        pool(static_cast<std::size_t>(options.workers)) {}

  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kUseTuple);
      if (ec) {
        if (!acceptor.is_open()) co_return;
        continue;
      }
      if (connections.load() >= options.max_connections) {
        beast::error_code ignored;
        socket.close(ignored);
        continue;
      }
      asio::co_spawn(ioc, Session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> Write(beast::tcp_stream& stream, SimResponse out, unsigned version,
                              bool keep_alive, beast::error_code& ec) {
    auto res = ToBeast(std::move(out), version, keep_alive);
    stream.expires_after(options.read_timeout);
    auto [write_ec, written] = co_await http::async_write(stream, res, kUseTuple);
    ec = write_ec;
  }

  asio::awaitable<void> Session(tcp::socket socket) {
    ++connections;
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    beast::error_code ec;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.header_limit_bytes));
      parser.body_limit(kMaxRequestBytes);
      stream.expires_after(options.read_timeout);
      auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, kUseTuple);
      if (read_ec == http::error::body_limit) {
        co_await Write(
            stream, PlainProblem(413, "body_too_large", "the request body is larger than 64 KiB"),
            11, false, ec);
        break;
      }
      if (read_ec == http::error::header_limit) {
        co_await Write(
            stream,
            PlainProblem(431, "headers_too_large", "the request headers are larger than 16 KiB"),
            11, false, ec);
        break;
      }
      if (read_ec) break;
      auto& req = parser.get();
      SimRequest request{std::string(req.method_string()), std::string(req.target()),
                         std::string(req[http::field::content_type]), std::move(req.body())};
      request.signature_timestamp = std::string(req["Varelay-Timestamp"]);
      request.signature = std::string(req["Varelay-Signature"]);
      ++in_flight;
      // Plain statements around co_await: g++ 12 mishandles temporaries of a co_await inside ?:.
      SimResponse out;
      if (draining.load()) {
        out = PlainProblem(503, "shutting_down", "the bank is closing");
      } else {
        std::function<SimResponse()> job = [this, request = std::move(request)] {
          return handler(request);
        };
        out = co_await RunOn(pool, std::move(job), asio::use_awaitable);
      }
      --in_flight;
      if (out.drop) break;  // the dropped-answer fault: the work is done, no answer comes
      if (out.delay.count() > 0) {
        asio::steady_timer late(ioc, out.delay);
        co_await late.async_wait(kUseTuple);
      }
      bool keep_alive = req.keep_alive() && !draining.load();
      co_await Write(stream, std::move(out), req.version(), keep_alive, ec);
      if (ec || !keep_alive) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    --connections;
  }

  asio::awaitable<void> Drain() {
    draining = true;
    beast::error_code ignored;
    acceptor.close(ignored);
    asio::steady_timer timer(ioc);
    auto deadline = std::chrono::steady_clock::now() + kDrainTimeout;
    while (in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      timer.expires_after(std::chrono::milliseconds(10));
      co_await timer.async_wait(kUseTuple);
    }
    ioc.stop();
  }
};

Server::Server(Handler handler, ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(handler), std::move(options))) {}

Server::~Server() {
  impl_->pool.stop();
  impl_->pool.join();
}

Result<unsigned short> Server::Listen() {
  return net::Listen(impl_->acceptor, impl_->options.host, impl_->options.port);
}

void Server::Run() {
  auto& impl = *impl_;
  asio::co_spawn(impl.ioc, impl.Accept(), asio::detached);
  impl.signals.async_wait([&impl](const beast::error_code& ec, int) {
    if (!ec) asio::co_spawn(impl.ioc, impl.Drain(), asio::detached);
  });
  impl.ioc.run();
}

}  // namespace varelay::banksim
