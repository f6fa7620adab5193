// Proves the webhook client's outcomes over real loopback sockets, TLS and refusals included.
#include "notify/webhook_client.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

namespace varelay::notify {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kTestDeadline = 10s;  // only a broken test waits this long

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // in the order received
  std::string body;

  std::string Header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (beast::iequals(n, name)) return v;
    }
    return "<absent>";
  }
};

// Raw bytes to send back for a request; empty: never answer (hold the connection open).
using Responder = std::function<std::string(const ReceivedRequest&)>;

std::string RawResponse(int status, std::string_view reason, std::string_view extra_headers = {},
                        std::string_view body = {}) {
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra_headers) + "\r\n" + std::string(body);
}

// How a test server treats its connections beyond answering requests one after another.
struct ServerRules {
  bool close_after_answer = false;  // close each connection once its first answer is written
  int drop_nth_request = 0;         // a connection's nth request is read, then closed unanswered
  std::size_t answer_when_received = 0;  // hold every answer until this many requests came in all
};

// A tiny HTTP(S) server on 127.0.0.1, port 0, on its own thread. Each connection: read a request,
// record it, write the responder's bytes, and read the next one (keep-alive) until the client
// closes it, so the client alone decides when an attempt ends and whether a connection is reused.
class TestServer {
 public:
  explicit TestServer(Responder responder,
                      std::optional<std::pair<std::string, std::string>> tls = {},
                      ServerRules rules = {})
      : responder_(std::move(responder)), rules_(rules) {
    if (tls) {
      tls_.emplace(ssl::context::tls_server);
      tls_->use_certificate_chain(asio::buffer(tls->first));
      tls_->use_private_key(asio::buffer(tls->second), ssl::context::pem);
    }
    acceptor_.open(tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    asio::co_spawn(io_, Accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  ~TestServer() {
    io_.stop();
    thread_.join();
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  int accepted() const { return accepted_.load(); }
  int closed() const { return closed_.load(); }  // connections ended and closed, either side

  std::vector<ReceivedRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
      if (ec) co_return;
      ++accepted_;
      asio::co_spawn(io_, Session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> Session(tcp::socket socket) {
    if (!tls_) {
      co_await Serve(socket);
      socket.close();
    } else {
      ssl::stream<tcp::socket> stream(std::move(socket), *tls_);
      auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kUseTuple);
      if (!ec) co_await Serve(stream);
      stream.next_layer().close();
    }
    ++closed_;
  }

  template <typename Stream>
  asio::awaitable<void> Serve(Stream& stream) {
    beast::flat_buffer buffer;
    for (int nth = 1;; ++nth) {
      http::request_parser<http::string_body> parser;
      auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, kUseTuple);
      if (read_ec) co_return;
      auto received = Record(parser.get());
      if (nth == rules_.drop_nth_request) co_return;
      co_await WaitForRequests(rules_.answer_when_received);
      std::string raw = responder_(received);
      if (raw.empty()) break;
      co_await asio::async_write(stream, asio::buffer(raw), kUseTuple);
      if (rules_.close_after_answer) co_return;
    }
    char byte;
    for (;;) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(&byte, 1), kUseTuple);
      if (ec) co_return;
    }
  }

  ReceivedRequest Record(const http::request<http::string_body>& req) {
    ReceivedRequest received;
    received.method = std::string(req.method_string());
    received.target = std::string(req.target());
    for (const auto& field : req) {
      received.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    received.body = req.body();
    std::lock_guard lock(mutex_);
    requests_.push_back(received);
    return received;
  }

  asio::awaitable<void> WaitForRequests(std::size_t count) {
    asio::steady_timer timer(io_);
    auto until = std::chrono::steady_clock::now() + kTestDeadline;
    while (requests().size() < count && std::chrono::steady_clock::now() < until) {
      timer.expires_after(1ms);
      co_await timer.async_wait(kUseTuple);
    }
  }

  Responder responder_;
  ServerRules rules_;
  std::optional<ssl::context> tls_;
  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::atomic<int> accepted_{0};
  std::atomic<int> closed_{0};
  std::mutex mutex_;
  std::vector<ReceivedRequest> requests_;
  std::thread thread_;
};

UrlPolicy LoopbackPolicy() {
  UrlPolicy policy;
  policy.allow_http_hosts = {"127.0.0.1", "localhost"};
  policy.allow_networks = {*ParseNetwork("127.0.0.0/8"), *ParseNetwork("::1/128")};
  policy.allow_ports = {{1, 65535}};  // test servers listen on any free port
  return policy;
}

ClientOptions LoopbackOptions() {
  ClientOptions options;
  options.policy = LoopbackPolicy();
  return options;
}

std::string UrlOf(const TestServer& server, std::string_view path = "/hooks",
                  std::string_view scheme = "http", std::string_view host = "127.0.0.1") {
  return std::string(scheme) + "://" + std::string(host) + ":" + std::to_string(server.port()) +
         std::string(path);
}

struct Delivery {
  WebhookResponse response;
  std::chrono::steady_clock::duration elapsed{};
};

// A client on its own io_context, run on this thread only while a Send is waited for.
class SequentialClient {
 public:
  explicit SequentialClient(ClientOptions options) : client_(std::in_place, io_, std::move(options)) {}

  // Destroys the client (closing idle connections), then runs what is left: the deadline only
  // ends a broken test.
  ~SequentialClient() {
    client_.reset();
    io_.restart();
    io_.run_for(kTestDeadline);
    EXPECT_EQ(calls_, sends_) << "done must run exactly once per Send";
  }

  Delivery Send(WebhookRequest request) {
    outcome_.reset();
    auto started = std::chrono::steady_clock::now();
    ++sends_;
    client_->Send(std::move(request), [this](WebhookResponse response) {
      if (++calls_ == sends_) outcome_ = std::move(response);
    });
    io_.restart();
    auto until = started + kTestDeadline;
    while (!outcome_ && io_.run_one_until(until) > 0) {
    }
    Delivery delivery;
    delivery.elapsed = std::chrono::steady_clock::now() - started;
    EXPECT_TRUE(outcome_.has_value()) << "done must run";
    if (outcome_) delivery.response = std::move(*outcome_);
    return delivery;
  }

  WebhookClient& client() { return *client_; }
  asio::io_context& io() { return io_; }

 private:
  asio::io_context io_;
  std::optional<WebhookClient> client_;
  std::optional<WebhookResponse> outcome_;
  int sends_ = 0;
  int calls_ = 0;
};

// One attempt on a fresh client and io_context run on this thread.
Delivery Deliver(ClientOptions options, WebhookRequest request) {
  SequentialClient client(std::move(options));
  return client.Send(std::move(request));
}

WebhookRequest Post(std::string url, std::string body = R"({"type":"deposit.matched"})") {
  WebhookRequest request;
  request.url = std::move(url);
  request.body = std::move(body);
  return request;
}

// Polls until `done` holds or the deadline passes.
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds deadline = 5000ms) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Proves a 2xx is reported, and the request reaches the server byte for byte with our headers.
TEST(WebhookClient, DeliversHeadersAndBodyExactly) {
  TestServer server([](const ReceivedRequest&) { return RawResponse(200, "OK", "", "thanks"); });
  auto request =
      Post(UrlOf(server, "/hooks/a?x=1&y=%20z"),
           std::string(R"({"type":"deposit.matched","data":{"payer_name":"김철수 \u00e9"}})"));
  request.headers = {{"webhook-id", "evt_2b3c"},
                     {"webhook-timestamp", "1795920354"},
                     {"webhook-signature", "v1,abc= v1,def="}};
  auto sent_body = request.body;
  auto delivery = Deliver(LoopbackOptions(), request);
  EXPECT_EQ(delivery.response.status, 200);
  EXPECT_EQ(delivery.response.error, "");
  EXPECT_FALSE(delivery.response.retry_after.has_value());
  auto received = server.requests();
  ASSERT_EQ(received.size(), 1u);
  const auto& r = received[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/hooks/a?x=1&y=%20z");
  EXPECT_EQ(r.body, sent_body);
  EXPECT_EQ(r.Header("webhook-id"), "evt_2b3c");
  EXPECT_EQ(r.Header("webhook-timestamp"), "1795920354");
  EXPECT_EQ(r.Header("webhook-signature"), "v1,abc= v1,def=");
  EXPECT_EQ(r.Header("Host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.Header("Content-Length"), std::to_string(sent_body.size()));
  EXPECT_EQ(r.Header("User-Agent"), "varelay-webhooks/0.1");
}

// Proves a non-2xx status is an outcome, not an error (410 disables an endpoint upstream).
TEST(WebhookClient, Reports410) {
  TestServer server([](const ReceivedRequest&) { return RawResponse(410, "Gone"); });
  auto delivery = Deliver(LoopbackOptions(), Post(UrlOf(server)));
  EXPECT_EQ(delivery.response.status, 410);
  EXPECT_EQ(delivery.response.error, "");
}

// Proves a redirect is reported as its status and not followed.
TEST(WebhookClient, DoesNotFollowRedirects) {
  TestServer server([](const ReceivedRequest&) {
    return RawResponse(307, "Temporary Redirect", "Location: /elsewhere\r\n");
  });
  auto delivery = Deliver(LoopbackOptions(), Post(UrlOf(server)));
  EXPECT_EQ(delivery.response.status, 307);
  EXPECT_EQ(server.requests().size(), 1u);
}

// Proves Retry-After in delta-seconds.
TEST(WebhookClient, ReadsRetryAfterSeconds) {
  TestServer server([](const ReceivedRequest&) {
    return RawResponse(503, "Service Unavailable", "Retry-After: 7\r\n");
  });
  auto delivery = Deliver(LoopbackOptions(), Post(UrlOf(server)));
  EXPECT_EQ(delivery.response.status, 503);
  ASSERT_TRUE(delivery.response.retry_after.has_value());
  EXPECT_EQ(*delivery.response.retry_after, 7s);
}

std::string HttpDate(std::chrono::system_clock::time_point when) {
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[64];
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return text;
}

// Proves Retry-After as an HTTP-date is made relative to now, a past date is 0, junk is absent.
TEST(WebhookClient, ReadsRetryAfterDates) {
  struct Case {
    std::string value;
    std::optional<std::chrono::seconds> low, high;
  };
  auto now = std::chrono::system_clock::now();
  const Case cases[] = {
      {HttpDate(now + 120s), 115s, 120s},
      {HttpDate(now - 3600s), 0s, 0s},
      {"Sun, 06 Nov 1994 08:49:37 GMT", 0s, 0s},
      {"Sunday, 06-Nov-94 08:49:37 GMT", 0s, 0s},
      {"Sun Nov  6 08:49:37 1994", 0s, 0s},
      {"99999999999999999999", 2147483648s, 2147483648s},
      {"soon", std::nullopt, std::nullopt},
      {"-5", std::nullopt, std::nullopt},
      {"Sun, 31 Feb 2030 08:49:37 GMT", std::nullopt, std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.value);
    TestServer server([&](const ReceivedRequest&) {
      return RawResponse(429, "Too Many Requests", "Retry-After: " + c.value + "\r\n");
    });
    auto delivery = Deliver(LoopbackOptions(), Post(UrlOf(server)));
    EXPECT_EQ(delivery.response.status, 429);
    ASSERT_EQ(delivery.response.retry_after.has_value(), c.low.has_value());
    if (!c.low) continue;
    EXPECT_GE(*delivery.response.retry_after, *c.low);
    EXPECT_LE(*delivery.response.retry_after, *c.high);
  }
}

// Proves a server that accepts and never answers is cut at total_timeout with error "timeout".
TEST(WebhookClient, TimesOutASilentServer) {
  TestServer server([](const ReceivedRequest&) { return std::string(); });
  auto options = LoopbackOptions();
  options.total_timeout = 300ms;
  auto delivery = Deliver(options, Post(UrlOf(server)));
  EXPECT_EQ(delivery.response.status, 0);
  EXPECT_EQ(delivery.response.error, "timeout");
  EXPECT_GE(delivery.elapsed, 300ms);
  EXPECT_LT(delivery.elapsed, 3s);
  EXPECT_EQ(server.requests().size(), 1u);
}

// Proves a status counts once its header arrived, and a body that stalls ends at total_timeout.
TEST(WebhookClient, KeepsTheStatusWhenTheBodyStalls) {
  TestServer server([](const ReceivedRequest&) {
    return std::string("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly the start");
  });
  auto options = LoopbackOptions();
  options.total_timeout = 300ms;
  auto delivery = Deliver(options, Post(UrlOf(server)));
  EXPECT_EQ(delivery.response.status, 200);
  EXPECT_EQ(delivery.response.error, "");
  EXPECT_GE(delivery.elapsed, 300ms);
  EXPECT_LT(delivery.elapsed, 3s);
}

// Proves a response body beyond max_response_bytes does not hide the status, and is not kept.
TEST(WebhookClient, ReportsTheStatusOfAHugeResponse) {
  TestServer server([](const ReceivedRequest&) {
    return RawResponse(200, "OK", "", std::string(1024 * 1024, 'x'));
  });
  auto delivery = Deliver(LoopbackOptions(), Post(UrlOf(server)));
  EXPECT_EQ(delivery.response.status, 200);
  EXPECT_EQ(delivery.response.error, "");
  EXPECT_EQ(delivery.response.body, "");
  EXPECT_LT(delivery.elapsed, 3s);
}

// Proves a chunked body beyond the limit is cut too, still with its status.
TEST(WebhookClient, ReportsTheStatusOfAHugeChunkedResponse) {
  TestServer server([](const ReceivedRequest&) {
    std::string chunk(64 * 1024, 'y');
    std::string raw = "HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 4; ++i) raw += "10000\r\n" + chunk + "\r\n";
    return raw + "0\r\n\r\n";
  });
  auto delivery = Deliver(LoopbackOptions(), Post(UrlOf(server)));
  EXPECT_EQ(delivery.response.status, 202);
  EXPECT_EQ(delivery.response.error, "");
}

// Proves a closed port is reported as "connection refused".
TEST(WebhookClient, ReportsConnectionRefused) {
  unsigned short port;
  {
    asio::io_context io;
    tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = probe.local_endpoint().port();
  }
  auto delivery =
      Deliver(LoopbackOptions(), Post("http://127.0.0.1:" + std::to_string(port) + "/"));
  EXPECT_EQ(delivery.response.status, 0);
  EXPECT_EQ(delivery.response.error, "connection refused");
}

// Proves a connect that never completes is cut at connect_timeout with "connect timeout".
TEST(WebhookClient, TimesOutAConnectThatHangs) {
  asio::io_context io;
  tcp::acceptor full(io);
  full.open(tcp::v4());
  full.bind({asio::ip::make_address("127.0.0.1"), 0});
  full.listen(0);
  // Linux drops SYNs while a listener's accept queue is full: one unaccepted connection fills a
  // backlog of 0, so the client's handshake never completes.
  tcp::socket filler(io);
  filler.connect(full.local_endpoint());
  auto options = LoopbackOptions();
  options.connect_timeout = 200ms;
  options.total_timeout = 5s;
  auto url = "http://127.0.0.1:" + std::to_string(full.local_endpoint().port()) + "/";
  auto delivery = Deliver(options, Post(url));
  EXPECT_EQ(delivery.response.status, 0);
  EXPECT_EQ(delivery.response.error, "connect timeout");
  EXPECT_GE(delivery.elapsed, 200ms);
  EXPECT_LT(delivery.elapsed, 3s);
}

// Proves an address refused after resolution is never connected to, and the error names the range.
TEST(WebhookClient, RefusesResolvedAddressesWithoutConnecting) {
  TestServer server([](const ReceivedRequest&) { return RawResponse(200, "OK"); });
  auto options = LoopbackOptions();
  options.policy.allow_networks.clear();
  auto delivery = Deliver(options, Post(UrlOf(server, "/hooks", "http", "localhost")));
  EXPECT_EQ(delivery.response.status, 0);
  EXPECT_NE(delivery.response.error.find("refused address "), std::string::npos)
      << delivery.response.error;
  EXPECT_NE(delivery.response.error.find("(loopback range)"), std::string::npos)
      << delivery.response.error;
  // Connect once ourselves and wait until the server counted it: had the client connected, it
  // would have been counted first.
  asio::io_context io;
  tcp::socket probe(io);
  probe.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  ASSERT_TRUE(WaitFor([&] { return server.accepted() >= 1; }));
  EXPECT_EQ(server.accepted(), 1);
}

// Proves a refused literal address fails as an invalid URL, also without a connection.
TEST(WebhookClient, RefusesLiteralAddressesAsInvalidUrls) {
  auto options = LoopbackOptions();
  options.policy.allow_networks.clear();
  auto delivery = Deliver(options, Post("http://127.0.0.1:9/hooks"));
  EXPECT_EQ(delivery.response.status, 0);
  EXPECT_TRUE(delivery.response.error.starts_with("invalid url: ")) << delivery.response.error;
  EXPECT_NE(delivery.response.error.find("loopback range"), std::string::npos);

  auto https_only = Deliver(ClientOptions{}, Post("http://example.com/"));
  EXPECT_NE(https_only.response.error.find("plain http is only allowed"), std::string::npos);
}

// Proves headers the client owns, or that could split the request, are refused before sending.
TEST(WebhookClient, RefusesHeadersThatWouldCorruptTheRequest) {
  TestServer server([](const ReceivedRequest&) { return RawResponse(200, "OK"); });
  const std::vector<std::pair<std::string, std::string>> bad[] = {
      {{"Host", "evil.example"}},
      {{"content-length", "5"}},
      {{"X-Split", "a\r\nX-Injected: 1"}},
      {{"Bad Name", "x"}},
      {{"", "x"}},
  };
  for (const auto& headers : bad) {
    auto request = Post(UrlOf(server));
    request.headers = headers;
    auto delivery = Deliver(LoopbackOptions(), request);
    EXPECT_EQ(delivery.response.status, 0);
    EXPECT_NE(delivery.response.error, "");
  }
  EXPECT_TRUE(server.requests().empty());
}

// Proves CancelAll, called from another thread, ends an attempt in flight with "cancelled".
TEST(WebhookClient, CancelAllEndsAttemptsInFlight) {
  TestServer server([](const ReceivedRequest&) { return std::string(); });
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  std::promise<WebhookResponse> promise;
  auto future = promise.get_future();
  {
    WebhookClient client(io, LoopbackOptions());
    client.Send(Post(UrlOf(server)), [&](WebhookResponse r) { promise.set_value(std::move(r)); });
    ASSERT_TRUE(WaitFor([&] { return server.requests().size() == 1; }));
    client.CancelAll();
    ASSERT_EQ(future.wait_for(kTestDeadline), std::future_status::ready);
  }
  work.reset();
  runner.join();
  auto response = future.get();
  EXPECT_EQ(response.status, 0);
  EXPECT_EQ(response.error, "cancelled");
}

// Proves attempts run concurrently on a multi-threaded io_context, each completing once.
TEST(WebhookClient, RunsManyAttemptsConcurrently) {
  TestServer server(
      [](const ReceivedRequest& r) { return RawResponse(r.target == "/fail" ? 500 : 204, "X"); });
  asio::io_context io;
  auto options = LoopbackOptions();
  options.idle_timeout = 100ms;  // so that io runs out of work soon after the last attempt
  WebhookClient client(io, options);
  constexpr int kAttempts = 40;
  std::atomic<int> done{0}, ok{0};
  for (int i = 0; i < kAttempts; ++i) {
    client.Send(Post(UrlOf(server, i % 4 == 0 ? "/fail" : "/ok")), [&, i](WebhookResponse r) {
      if (r.status == (i % 4 == 0 ? 500 : 204)) ++ok;
      ++done;
    });
  }
  std::thread second([&] { io.run_for(kTestDeadline); });
  io.run_for(kTestDeadline);
  second.join();
  EXPECT_EQ(done.load(), kAttempts);
  EXPECT_EQ(ok.load(), kAttempts);
}

// --- Keep-alive ----------------------------------------------------------------------------------

// Proves sequential sends to one origin share one connection, and requests do not ask to close it.
TEST(WebhookClientKeepAlive, ReusesTheConnectionForTheNextSend) {
  TestServer server([](const ReceivedRequest&) { return RawResponse(200, "OK", "", "thanks"); });
  SequentialClient client(LoopbackOptions());
  for (std::string path : {"/a", "/b?x=1", "/a"}) {
    auto delivery = client.Send(Post(UrlOf(server, path)));
    EXPECT_EQ(delivery.response.status, 200);
    EXPECT_EQ(delivery.response.error, "");
    EXPECT_EQ(delivery.response.body, "thanks");
  }
  EXPECT_EQ(server.accepted(), 1);
  auto received = server.requests();
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(received[1].target, "/b?x=1");
  for (const auto& r : received) EXPECT_EQ(r.Header("Connection"), "<absent>");
}

// Proves a response that does not allow reuse, or was not read whole, closes its connection.
TEST(WebhookClientKeepAlive, DoesNotReuseAfterAResponseThatForbidsIt) {
  const std::string answers[] = {
      RawResponse(200, "OK", "Connection: close\r\n"),
      "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
      RawResponse(200, "OK", "", std::string(4096, 'x')),  // beyond max_response_bytes
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA",  // bytes after the response
  };
  for (const auto& answer : answers) {
    SCOPED_TRACE(answer.substr(0, 40));
    TestServer server([&](const ReceivedRequest&) { return answer; });
    auto options = LoopbackOptions();
    options.max_response_bytes = 1024;
    SequentialClient client(options);
    EXPECT_EQ(client.Send(Post(UrlOf(server))).response.status, 200);
    EXPECT_EQ(client.Send(Post(UrlOf(server))).response.status, 200);
    EXPECT_EQ(server.accepted(), 2);
    EXPECT_TRUE(WaitFor([&] { return server.closed() >= 1; }));
  }
}

// Proves a connection the server closed while idle is not used: the send goes on a new one.
TEST(WebhookClientKeepAlive, SkipsAConnectionTheServerClosedWhileIdle) {
  ServerRules rules;
  rules.close_after_answer = true;
  TestServer server([](const ReceivedRequest&) { return RawResponse(204, "No Content"); }, {},
                    rules);
  SequentialClient client(LoopbackOptions());
  EXPECT_EQ(client.Send(Post(UrlOf(server))).response.status, 204);
  ASSERT_TRUE(WaitFor([&] { return server.closed() == 1; }));
  auto second = client.Send(Post(UrlOf(server)));
  EXPECT_EQ(second.response.status, 204);
  EXPECT_EQ(second.response.error, "");
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(server.requests().size(), 2u);
}

// Proves a reused connection that ends before any byte of an answer is retried once on a new
// connection, and that the server may then have received the request twice.
TEST(WebhookClientKeepAlive, RetriesOnANewConnectionWhenAReusedOneCloses) {
  ServerRules rules;
  rules.drop_nth_request = 2;  // as a server closing an idle connection just as a request arrives
  TestServer server([](const ReceivedRequest&) { return RawResponse(200, "OK"); }, {}, rules);
  SequentialClient client(LoopbackOptions());
  EXPECT_EQ(client.Send(Post(UrlOf(server))).response.status, 200);
  auto request = Post(UrlOf(server), R"({"n":2})");
  request.headers = {{"webhook-id", "evt_2"}};
  auto second = client.Send(std::move(request));
  EXPECT_EQ(second.response.status, 200);
  EXPECT_EQ(second.response.error, "");
  EXPECT_EQ(server.accepted(), 2);
  auto received = server.requests();
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(received[1].body, R"({"n":2})");
  EXPECT_EQ(received[2].body, R"({"n":2})");
  EXPECT_EQ(received[2].Header("webhook-id"), "evt_2");
}

// Proves a new connection that ends before an answer is reported, not retried.
TEST(WebhookClientKeepAlive, DoesNotRetryANewConnection) {
  ServerRules rules;
  rules.drop_nth_request = 1;
  TestServer server([](const ReceivedRequest&) { return RawResponse(200, "OK"); }, {}, rules);
  auto delivery = Deliver(LoopbackOptions(), Post(UrlOf(server)));
  EXPECT_EQ(delivery.response.status, 0);
  EXPECT_EQ(delivery.response.error, "connection closed before a response");
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(server.requests().size(), 1u);
}

// Proves an idle connection is closed at idle_timeout, after which io has no work left.
TEST(WebhookClientKeepAlive, ClosesAnIdleConnectionAtTheIdleTimeout) {
  TestServer server([](const ReceivedRequest&) { return RawResponse(200, "OK"); });
  auto options = LoopbackOptions();
  options.idle_timeout = 200ms;
  SequentialClient client(options);
  auto parked = std::chrono::steady_clock::now();
  EXPECT_EQ(client.Send(Post(UrlOf(server))).response.status, 200);
  EXPECT_EQ(server.closed(), 0);
  client.io().restart();
  client.io().run_for(kTestDeadline);  // returns once the pool's timer has closed the connection
  auto idle = std::chrono::steady_clock::now() - parked;
  EXPECT_GE(idle, 200ms);
  EXPECT_LT(idle, 3s);
  ASSERT_TRUE(WaitFor([&] { return server.closed() == 1; }));
  EXPECT_EQ(client.Send(Post(UrlOf(server))).response.status, 200);
  EXPECT_EQ(server.accepted(), 2);
}

// Proves CancelAll closes idle connections at once and leaves io without work.
TEST(WebhookClientKeepAlive, CancelAllClosesIdleConnections) {
  TestServer server([](const ReceivedRequest&) { return RawResponse(200, "OK"); });
  SequentialClient client(LoopbackOptions());
  EXPECT_EQ(client.Send(Post(UrlOf(server))).response.status, 200);
  client.client().CancelAll();
  ASSERT_TRUE(WaitFor([&] { return server.closed() == 1; }));
  auto started = std::chrono::steady_clock::now();
  client.io().restart();
  client.io().run_for(kTestDeadline);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_EQ(client.Send(Post(UrlOf(server))).response.status, 200);
  EXPECT_EQ(server.accepted(), 2);
}

// Proves at most max_idle_per_origin connections wait per origin: the others are closed.
TEST(WebhookClientKeepAlive, BoundsIdleConnectionsPerOrigin) {
  ServerRules rules;
  rules.answer_when_received = 3;  // three connections at once
  TestServer server([](const ReceivedRequest&) { return RawResponse(200, "OK"); }, {}, rules);
  auto options = LoopbackOptions();
  options.max_idle_per_origin = 2;
  SequentialClient client(options);
  std::atomic<int> ok{0};
  for (int i = 0; i < 3; ++i) {
    client.client().Send(Post(UrlOf(server)), [&](WebhookResponse r) { ok += r.status == 200; });
  }
  client.io().restart();
  auto until = std::chrono::steady_clock::now() + kTestDeadline;
  while (ok < 3 && client.io().run_one_until(until) > 0) {
  }
  ASSERT_EQ(ok.load(), 3);
  EXPECT_EQ(server.accepted(), 3);
  ASSERT_TRUE(WaitFor([&] { return server.closed() == 1; }));
  EXPECT_EQ(client.Send(Post(UrlOf(server))).response.status, 200);
  EXPECT_EQ(client.Send(Post(UrlOf(server))).response.status, 200);
  EXPECT_EQ(server.accepted(), 3);
  EXPECT_EQ(server.closed(), 1);
}

// Proves the default keeps a burst's connections: two merchants sharing a receiver, each with the
// dispatcher's 8 deliveries in flight, send burst after burst over the same 16 connections.
TEST(WebhookClientKeepAlive, KeepsWhatABurstOfTwoMerchantsUses) {
  constexpr int kBurst = 16;
  ServerRules rules;
  rules.answer_when_received = kBurst;  // all of a burst in flight at once
  TestServer server([](const ReceivedRequest&) { return RawResponse(200, "OK"); }, {}, rules);
  SequentialClient client(LoopbackOptions());
  for (int burst = 0; burst < 3; ++burst) {
    std::atomic<int> ok{0};
    for (int i = 0; i < kBurst; ++i) {
      client.client().Send(Post(UrlOf(server)), [&](WebhookResponse r) { ok += r.status == 200; });
    }
    client.io().restart();
    auto until = std::chrono::steady_clock::now() + kTestDeadline;
    while (ok < kBurst && client.io().run_one_until(until) > 0) {
    }
    ASSERT_EQ(ok.load(), kBurst) << "burst " << burst;
  }
  EXPECT_EQ(server.accepted(), kBurst);
  EXPECT_EQ(server.closed(), 0);
}

// Proves at most max_idle_total connections wait in all: parking one closes the oldest.
TEST(WebhookClientKeepAlive, BoundsIdleConnectionsInAll) {
  TestServer first([](const ReceivedRequest&) { return RawResponse(200, "OK"); });
  TestServer second([](const ReceivedRequest&) { return RawResponse(200, "OK"); });
  auto options = LoopbackOptions();
  options.max_idle_total = 1;
  SequentialClient client(options);
  EXPECT_EQ(client.Send(Post(UrlOf(first))).response.status, 200);
  EXPECT_EQ(client.Send(Post(UrlOf(second))).response.status, 200);
  ASSERT_TRUE(WaitFor([&] { return first.closed() == 1; }));
  EXPECT_EQ(client.Send(Post(UrlOf(second))).response.status, 200);
  EXPECT_EQ(second.accepted(), 1);
  EXPECT_EQ(client.Send(Post(UrlOf(first))).response.status, 200);
  EXPECT_EQ(first.accepted(), 2);
}

// Proves a zero limit turns reuse off: every request says Connection: close.
TEST(WebhookClientKeepAlive, CanBeTurnedOff) {
  TestServer server([](const ReceivedRequest&) { return RawResponse(200, "OK"); });
  auto options = LoopbackOptions();
  options.max_idle_total = 0;
  SequentialClient client(options);
  EXPECT_EQ(client.Send(Post(UrlOf(server))).response.status, 200);
  EXPECT_EQ(client.Send(Post(UrlOf(server))).response.status, 200);
  EXPECT_EQ(server.accepted(), 2);
  for (const auto& r : server.requests()) EXPECT_EQ(r.Header("Connection"), "close");
}

// --- TLS -----------------------------------------------------------------------------------------

struct Pem {
  std::string certificate;
  std::string private_key;
};

std::string ToPem(const std::function<int(BIO*)>& write) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (write(bio.get()) != 1) return {};
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// A self-signed P-256 certificate valid for an hour either side of now, for `alt_names`
// ("DNS:localhost,IP:127.0.0.1").
Pem MakeSelfSigned(const char* alt_names) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("varelay test"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, alt_names},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    X509_add_ext(cert.get(), extension, -1);
    X509_EXTENSION_free(extension);
  }
  X509_sign(cert.get(), key.get(), EVP_sha256());
  Pem pem;
  pem.certificate = ToPem([&](BIO* bio) { return PEM_write_bio_X509(bio, cert.get()); });
  pem.private_key = ToPem([&](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  return pem;
}

class WebhookClientTls : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/varelay_notify_test_XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WriteCa(const Pem& pem) {
    auto path = dir_ / "ca.pem";
    std::ofstream(path) << pem.certificate;
    return path.string();
  }

  std::filesystem::path dir_;
};

// Proves https succeeds when the certificate is trusted through ca_file, by name and by IP.
TEST_F(WebhookClientTls, DeliversWhenTheCertificateIsTrusted) {
  auto pem = MakeSelfSigned("DNS:localhost,IP:127.0.0.1");
  TestServer server([](const ReceivedRequest&) { return RawResponse(200, "OK"); },
                    std::pair{pem.certificate, pem.private_key});
  auto options = LoopbackOptions();
  options.ca_file = WriteCa(pem);
  for (std::string_view host : {"localhost", "127.0.0.1"}) {
    SCOPED_TRACE(host);
    auto delivery = Deliver(options, Post(UrlOf(server, "/tls", "https", host), "{}"));
    EXPECT_EQ(delivery.response.status, 200);
    EXPECT_EQ(delivery.response.error, "");
  }
  auto received = server.requests();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[0].Header("Host"), "localhost:" + std::to_string(server.port()));
  EXPECT_EQ(received[0].body, "{}");
}

// Proves a TLS connection is reused for its origin only: the host as written is part of it.
TEST_F(WebhookClientTls, ReusesATlsConnectionPerOrigin) {
  auto pem = MakeSelfSigned("DNS:localhost,IP:127.0.0.1");
  TestServer server([](const ReceivedRequest&) { return RawResponse(200, "OK"); },
                    std::pair{pem.certificate, pem.private_key});
  auto options = LoopbackOptions();
  options.ca_file = WriteCa(pem);
  SequentialClient client(options);
  for (std::string_view host : {"localhost", "localhost", "127.0.0.1", "localhost"}) {
    SCOPED_TRACE(host);
    auto delivery = client.Send(Post(UrlOf(server, "/tls", "https", host), "{}"));
    EXPECT_EQ(delivery.response.status, 200);
    EXPECT_EQ(delivery.response.error, "");
  }
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(server.requests().size(), 4u);
}

// Proves an untrusted certificate fails verification and nothing is sent.
TEST_F(WebhookClientTls, FailsWhenTheCertificateIsNotTrusted) {
  auto pem = MakeSelfSigned("DNS:localhost,IP:127.0.0.1");
  TestServer server([](const ReceivedRequest&) { return RawResponse(200, "OK"); },
                    std::pair{pem.certificate, pem.private_key});
  auto delivery = Deliver(LoopbackOptions(), Post(UrlOf(server, "/tls", "https", "localhost")));
  EXPECT_EQ(delivery.response.status, 0);
  EXPECT_TRUE(delivery.response.error.starts_with("tls: certificate verify failed"))
      << delivery.response.error;
  EXPECT_TRUE(server.requests().empty());
}

// Proves a trusted certificate for another name is refused, naming the mismatch.
TEST_F(WebhookClientTls, FailsWhenTheNameDoesNotMatch) {
  auto pem = MakeSelfSigned("DNS:hooks.example.test");
  TestServer server([](const ReceivedRequest&) { return RawResponse(200, "OK"); },
                    std::pair{pem.certificate, pem.private_key});
  auto options = LoopbackOptions();
  options.ca_file = WriteCa(pem);
  auto by_name = Deliver(options, Post(UrlOf(server, "/tls", "https", "localhost")));
  EXPECT_EQ(by_name.response.error, "tls: certificate verify failed (hostname mismatch)");
  auto by_ip = Deliver(options, Post(UrlOf(server, "/tls", "https", "127.0.0.1")));
  EXPECT_EQ(by_ip.response.error, "tls: certificate verify failed (IP address mismatch)");
  EXPECT_TRUE(server.requests().empty());
}

// Proves an unreadable ca_file fails https attempts with a clear reason.
TEST_F(WebhookClientTls, ReportsAnUnreadableCaFile) {
  auto options = LoopbackOptions();
  options.ca_file = (dir_ / "missing.pem").string();
  auto delivery = Deliver(options, Post("https://localhost:9/tls"));
  EXPECT_TRUE(delivery.response.error.starts_with("tls: cannot load CA file"))
      << delivery.response.error;
}

}  // namespace
}  // namespace varelay::notify
