#include "net/listen.h"

namespace varelay::net {

Result<unsigned short> Listen(boost::asio::ip::tcp::acceptor& acceptor, const std::string& host, unsigned short port) {
  namespace asio = boost::asio;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return Fail(ErrorCode::kInvalidField, "cannot listen on '" + host + "': not an IP address");
  asio::ip::tcp::endpoint endpoint(address, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return Fail(ErrorCode::kInternal, "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  }
  return acceptor.local_endpoint().port();
}

}  // namespace varelay::net
