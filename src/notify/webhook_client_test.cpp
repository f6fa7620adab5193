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

// A tiny HTTP(S) server on 127.0.0.1, port 0, on its own thread. Each connection: read one
// request, record it, write the responder's bytes, then hold the socket until the client closes
// it, so the client alone decides when an attempt ends.
class TestServer {
 public:
  explicit TestServer(Responder responder,
                      std::optional<std::pair<std::string, std::string>> tls = {})
      : responder_(std::move(responder)) {
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
      co_return;
    }
    ssl::stream<tcp::socket> stream(std::move(socket), *tls_);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kUseTuple);
    if (!ec) co_await Serve(stream);
  }

  template <typename Stream>
  asio::awaitable<void> Serve(Stream& stream) {
    beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, kUseTuple);
    if (read_ec) co_return;
    ReceivedRequest received;
    auto& req = parser.get();
    received.method = std::string(req.method_string());
    received.target = std::string(req.target());
    for (const auto& field : req) {
      received.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    received.body = req.body();
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(received);
    }
    std::string raw = responder_(received);
    if (!raw.empty()) co_await asio::async_write(stream, asio::buffer(raw), kUseTuple);
    char byte;
    for (;;) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(&byte, 1), kUseTuple);
      if (ec) co_return;
    }
  }

  Responder responder_;
  std::optional<ssl::context> tls_;
  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::atomic<int> accepted_{0};
  std::mutex mutex_;
  std::vector<ReceivedRequest> requests_;
  std::thread thread_;
};

UrlPolicy LoopbackPolicy() {
  UrlPolicy policy;
  policy.allow_http_hosts = {"127.0.0.1", "localhost"};
  policy.allow_networks = {*ParseNetwork("127.0.0.0/8"), *ParseNetwork("::1/128")};
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

// One attempt on a fresh io_context run on this thread; run_for returns as soon as the attempt
// is done (no work left), the deadline only ends a broken test.
Delivery Deliver(ClientOptions options, WebhookRequest request) {
  asio::io_context io;
  WebhookClient client(io, std::move(options));
  std::promise<WebhookResponse> promise;
  auto future = promise.get_future();
  int calls = 0;
  auto started = std::chrono::steady_clock::now();
  client.Send(std::move(request), [&](WebhookResponse response) {
    if (++calls == 1) promise.set_value(std::move(response));
  });
  io.run_for(kTestDeadline);
  Delivery delivery;
  delivery.elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(calls, 1) << "done must run exactly once";
  if (future.wait_for(0s) == std::future_status::ready) delivery.response = future.get();
  return delivery;
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

// Proves a response body beyond max_response_bytes does not hide the status.
TEST(WebhookClient, ReportsTheStatusOfAHugeResponse) {
  TestServer server([](const ReceivedRequest&) {
    return RawResponse(200, "OK", "", std::string(1024 * 1024, 'x'));
  });
  auto delivery = Deliver(LoopbackOptions(), Post(UrlOf(server)));
  EXPECT_EQ(delivery.response.status, 200);
  EXPECT_EQ(delivery.response.error, "");
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
  WebhookClient client(io, LoopbackOptions());
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
