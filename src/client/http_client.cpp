#include "client/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace varelay::client {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpClient::Impl {
  std::string host, port;
  std::chrono::seconds timeout;
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool connected = false;

  beast::error_code Connect() {
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    auto endpoints = resolver.resolve(host, port, ec);
    if (ec) return ec;
    stream.expires_after(timeout);
    stream.connect(endpoints, ec);
    if (!ec) {
      stream.socket().set_option(tcp::no_delay(true));
      connected = true;
      buffer.clear();
    }
    return ec;
  }

  void Close() {
    beast::error_code ignored;
    stream.socket().close(ignored);
    connected = false;
  }

  beast::error_code RoundTrip(http::request<http::string_body>& req, http::response<http::string_body>& res) {
    beast::error_code ec;
    stream.expires_after(timeout);
    http::write(stream, req, ec);
    if (ec) return ec;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(stream, buffer, parser, ec);
    if (!ec) res = parser.release();
    return ec;
  }
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::Create(std::string_view base_url, std::chrono::seconds timeout) {
  constexpr std::string_view kScheme = "http://";
  if (!base_url.starts_with(kScheme)) return Fail(ErrorCode::kInvalidField, "the URL must start with http://");
  auto rest = base_url.substr(kScheme.size());
  while (rest.ends_with('/')) rest.remove_suffix(1);
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || rest.find('/') != std::string_view::npos) {
    return Fail(ErrorCode::kInvalidField, "the URL must be http://HOST:PORT");
  }
  auto impl = std::make_unique<Impl>();
  impl->host = std::string(rest.substr(0, colon));
  if (impl->host.size() > 2 && impl->host.front() == '[') impl->host = impl->host.substr(1, impl->host.size() - 2);
  impl->port = std::string(rest.substr(colon + 1));
  impl->timeout = timeout;
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

Result<Reply> HttpClient::Send(std::string_view method, std::string_view target, std::string_view bearer,
                               std::string_view body,
                               const std::vector<std::pair<std::string, std::string>>& headers) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, impl_->host + ":" + impl_->port);
  if (!bearer.empty()) req.set(http::field::authorization, "Bearer " + std::string(bearer));
  for (const auto& [name, value] : headers) req.set(name, value);
  if (!body.empty()) {
    if (req.find(http::field::content_type) == req.end()) req.set(http::field::content_type, "application/json");
    req.body() = std::string(body);
  }
  req.keep_alive(true);
  req.prepare_payload();
  http::response<http::string_body> res;
  beast::error_code ec;
  // A kept-alive connection may have been closed by the server; one fresh attempt is safe because
  // everything the CLI and benchmark send that moves money carries its own idempotency key.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!impl_->connected) {
      if (auto cec = impl_->Connect()) {
        return Fail(ErrorCode::kInternal, "cannot connect to " + impl_->host + ":" + impl_->port + ": " + cec.message());
      }
    }
    ec = impl_->RoundTrip(req, res);
    if (!ec) break;
    impl_->Close();
  }
  if (ec) return Fail(ErrorCode::kInternal, "request failed: " + ec.message());
  if (!res.keep_alive()) impl_->Close();
  return Reply{static_cast<int>(res.result_int()), std::string(res[http::field::content_type]), std::move(res.body())};
}

}  // namespace varelay::client
