#include "api/http_server.h"

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <thread>
#include <vector>

#include "api/problem.h"
#include "banks/json_bank_client.h"
#include "banks/outbound_telegrams.h"
#include "domain/digest.h"
#include "domain/identifiers.h"
#include "engine/async_submit.h"
#include "net/connection_limits.h"
#include "net/listen.h"
#include "notify/webhook_client.h"

namespace varelay::api {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// How long a client told 503 should wait before it tries again.
constexpr std::string_view kRetryAfterS = "1";
// After its answer, how long a closing connection is read from and what it sends dropped (a body
// refused unread), so that closing it does not reset it before the client has read the answer.
constexpr auto kLinger = std::chrono::seconds(2);

// The memory request bodies may hold at once (ServerOptions::body_budget_bytes). Any thread.
class BodyBudget {
 public:
  explicit BodyBudget(std::size_t capacity) : capacity_(capacity) {}

  // A share of the budget, given back when destroyed.
  class Share {
   public:
    Share() = default;
    Share(const Share&) = delete;
    Share& operator=(const Share&) = delete;
    ~Share() {
      if (budget_) budget_->used_.fetch_sub(bytes_);
    }

   private:
    friend class BodyBudget;
    BodyBudget* budget_ = nullptr;
    std::size_t bytes_ = 0;
  };

  // Takes `bytes` into `share` (empty); false, taking nothing, when they do not fit.
  bool TryTake(std::size_t bytes, Share& share) {
    if (bytes == 0) return true;
    std::size_t used = used_.load();
    do {
      if (bytes > capacity_ - std::min(used, capacity_)) return false;
    } while (!used_.compare_exchange_weak(used, used + bytes));
    share.budget_ = this;
    share.bytes_ = bytes;
    return true;
  }

 private:
  const std::size_t capacity_;
  std::atomic<std::size_t> used_{0};
};

http::response<http::string_body> ToBeast(HttpResponse&& out, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(out.status), version};
  res.set(http::field::content_type, out.content_type);
  res.set(http::field::cache_control, "no-store");
  for (auto& [name, value] : out.headers) res.set(name, value);
  if (out.status == 503 && res.find(http::field::retry_after) == res.end()) {
    res.set(http::field::retry_after, kRetryAfterS);
  }
  res.keep_alive(keep_alive);
  res.body() = std::move(out.body);
  res.prepare_payload();
  return res;
}

}  // namespace

// Asks a bank for one virtual account number (real-time issuance): POST the order to the
// contract's URL, signed with the bank's secret when it has one, and read {"number": "..."}.
// Any failure (timeout, refusal, a malformed answer) is an error value for the engine to weigh
// against the contract's fallback.
asio::awaitable<Result<std::string>> AskBankForNumber(asio::io_context& ioc, const NeedsBankNumber& need) {
  notify::ClientOptions options;
  options.policy.trusted = true;  // the operator configured this URL, not a merchant
  options.connect_timeout = std::chrono::milliseconds(need.timeout_ms);
  options.total_timeout = std::chrono::milliseconds(need.timeout_ms);
  options.max_response_bytes = 4096;
  notify::WebhookClient client(ioc, std::move(options));
  json::object order{{"merchant", need.merchant},     {"bank", need.bank},
                     {"mother_account", need.mother_account}, {"order_id", need.order_id},
                     {"amount", need.amount.minor()}, {"currency", need.amount.currency().code()},
                     {"due_at", FormatRfc3339(need.due_at)}};
  notify::WebhookRequest request{need.url, {}, json::serialize(order)};
  if (!need.signing_secret.empty()) {
    auto ts = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count());
    auto url = boost::urls::parse_uri(need.url);
    std::string target = url ? std::string(url->encoded_target()) : "/";
    if (target.empty()) target = "/";
    request.headers.emplace_back("Varelay-Timestamp", ts);
    request.headers.emplace_back(
        "Varelay-Signature", "v1=" + HmacSha256Hex(need.signing_secret, ts + ".POST." + target + "." + request.body));
  }
  auto response = co_await asio::async_initiate<decltype(asio::use_awaitable), void(notify::WebhookResponse)>(
      [&client](auto handler, notify::WebhookRequest r) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        client.Send(std::move(r), [shared](notify::WebhookResponse out) { std::move (*shared)(std::move(out)); });
      },
      asio::use_awaitable, std::move(request));
  if (!response.error.empty()) co_return Fail(ErrorCode::kBankUnavailable, response.error);
  if (response.status != 200 && response.status != 201) {
    co_return Fail(ErrorCode::kBankUnavailable, "the bank answered HTTP " + std::to_string(response.status));
  }
  boost::system::error_code ec;
  auto answer = json::parse(response.body, ec);
  const json::value* number = !ec && answer.is_object() ? answer.as_object().if_contains("number") : nullptr;
  if (!number || !number->is_string() || !IsVirtualAccountNumber(number->get_string())) {
    co_return Fail(ErrorCode::kBankUnavailable, "the bank's answer has no valid \"number\"");
  }
  co_return std::string(number->get_string());
}

struct HttpServer::Impl {
  Service& service;
  Engine& engine;
  ServerOptions options;
  // Before the io_context: sessions it destroys with it give their places back to these.
  net::ConnectionLimits connections{options.max_connections, options.max_connections_per_address};
  BodyBudget bodies{options.body_budget_bytes};
  std::atomic<std::size_t> in_flight{0};
  std::atomic<bool> draining{false};
  asio::io_context ioc;
  // Accept and Drain are the only code that touches the acceptor, and both run on this strand:
  // with two io threads, a close on one while the other started the next accept crashed the
  // reactor (a SIGTERM just as a connection came in).
  asio::strand<asio::io_context::executor_type> accept_strand = asio::make_strand(ioc);
  tcp::acceptor acceptor{accept_strand};
  asio::signal_set signals{ioc, SIGTERM, SIGINT};

  Impl(Service& s, Engine& e, ServerOptions o) : service(s), engine(e), options(std::move(o)) {}

  // Submits a request; an assignment on a real-time contract goes to the engine twice: once to
  // learn that the bank must issue the number, then with the number the bank issued (or why it
  // could not).
  asio::awaitable<EngineReply> Submit(Submission s) {
    std::optional<Submission> again;
    if (std::holds_alternative<CreateAssignment>(s.command)) again = s;
    auto reply = co_await AsyncSubmit(engine, std::move(s), asio::use_awaitable);
    const auto* need = reply.result ? std::get_if<NeedsBankNumber>(&*reply.result) : nullptr;
    if (!need || !again) co_return reply;
    auto& c = std::get<CreateAssignment>(again->command);
    c.bank_due_at = need->due_at;
    auto now = [] { return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now()); };
    if (options.bank_health && !options.bank_health->Allow(need->bank, now())) {
      c.bank_failure = "bank " + need->bank + " is not called for now: its circuit is open after repeated failures";
    } else {
      auto number = co_await AskBankForNumber(ioc, *need);
      if (options.bank_health) options.bank_health->Record(need->bank, number.has_value(), now());
      if (number) {
        c.bank_number = std::move(*number);
      } else {
        c.bank_failure = number.error().detail;
      }
    }
    co_return co_await AsyncSubmit(engine, std::move(*again), asio::use_awaitable);
  }

  // An account-holder inquiry (0600/400) to a telegram bank, through its circuit breaker.
  asio::awaitable<Result<std::string>> AskHolder(const BankRoute& bank, const HolderInquiryRequest& q) {
    auto now = [] { return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now()); };
    if (options.bank_health && !options.bank_health->Allow(bank.bank, now())) {
      co_return Fail(ErrorCode::kBankUnavailable,
                     "bank " + bank.bank + " is not called for now: its circuit is open after repeated failures");
    }
    auto request = banks::HolderInquiryTelegram(bank.bank, q.account, q.holder_id, banks::NextQuerySequence(), now());
    auto answer = co_await banks::Exchange(ioc.get_executor(), bank.endpoint, request, options.bank_timeout);
    if (options.bank_health) options.bank_health->Record(bank.bank, answer.has_value(), now());
    if (!answer) co_return std::unexpected(answer.error());
    co_return banks::ReadHolderAnswer(request, *answer);
  }

  // The same inquiry at a JSON bank (Open Banking inquiry/real_name at its --json-bank URL, else its
  // endpoint), through its circuit breaker: a master enrolling at a JSON bank.
  asio::awaitable<Result<std::string>> AskJsonHolder(const BankRoute& bank, const HolderInquiryRequest& q) {
    auto now = [] { return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now()); };
    std::string base = banks::JsonBaseUrl(options.json_banks, bank.bank, bank.endpoint);
    if (base.empty()) co_return Fail(ErrorCode::kBankUnavailable, "no URL for JSON bank " + bank.bank + " (varelayd --json-bank)");
    if (options.bank_health && !options.bank_health->Allow(bank.bank, now())) {
      co_return Fail(ErrorCode::kBankUnavailable,
                     "bank " + bank.bank + " is not called for now: its circuit is open after repeated failures");
    }
    std::string body = banks::JsonRealNameBody(
        q.bank, q.account, q.holder_id,
        banks::QueryTranId(banks::NextQuerySequence(), banks::OutboundHeader{}.json_institution_code));
    std::string secret = bank.signing_secret;
    banks::JsonBankClient client(ioc, options.bank_timeout);
    auto response = co_await client.Post(std::move(base), banks::kJsonRealNamePath, std::move(body), std::move(secret));
    auto holder = banks::ReadJsonRealNameAnswer(response);
    if (options.bank_health) {
      options.bank_health->Record(bank.bank, holder.has_value() || holder.error().code == ErrorCode::kNotFound, now());
    }
    co_return holder;
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      // A connection gets the io_context's executor, not the strand: sessions run in parallel.
      auto [ec, socket] = co_await acceptor.async_accept(ioc, kUseTuple);
      if (ec) {
        if (!acceptor.is_open()) co_return;
        continue;  // e.g. too many open files: keep serving the connections we have
      }
      // Over the total or its address's cap: closed at once, by going out of scope.
      auto peer = socket.remote_endpoint(ec).address();
      if (ec) continue;
      auto slot = connections.TryTake(peer);
      if (!slot) continue;
      socket.set_option(tcp::no_delay(true), ec);
      asio::co_spawn(ioc, Session(tcp::socket(std::move(socket)), std::move(*slot)),
                     asio::detached);
    }
  }

  static HttpResponse Problem(ErrorCode code, std::string detail) {
    return ProblemResponse(Error{code, std::move(detail), ""});
  }

  // Writes an answer after which the connection closes.
  asio::awaitable<void> WriteLast(beast::tcp_stream& stream, HttpResponse out) {
    auto res = ToBeast(std::move(out), 11, false);
    stream.expires_after(options.read_timeout);
    co_await http::async_write(stream, res, kUseTuple);
    co_return;
  }

  // The answer to a head that could not be read, if it deserves one.
  static std::optional<HttpResponse> HeadProblem(const beast::error_code& ec) {
    if (ec == http::error::header_limit) {
      return Problem(ErrorCode::kHeadersTooLarge, "the request headers are larger than 16 KiB");
    }
    if (ec == http::error::body_limit) {
      return Problem(ErrorCode::kBodyTooLarge, "the request body is larger than any route accepts");
    }
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::eof ||
        ec == asio::error::operation_aborted) {
      return std::nullopt;
    }
    return Problem(ErrorCode::kMalformedRequest, "the request is not valid HTTP/1.1");
  }

  // Decides from a request's head alone whether its body is read: nullopt to read it (its share
  // of the body budget taken into `share`), or the answer to give at once, the body unread.
  std::optional<HttpResponse> Screen(http::request_parser<http::string_body>& parser,
                                     BodyBudget::Share& share) {
    auto& header = parser.get();
    auto admission =
        service.Admit(std::string_view(header.method_string()), std::string_view(header.target()),
                      std::string_view(header[http::field::authorization]), engine.keys());
    if (admission.refusal) return std::move(admission.refusal);
    auto declared = parser.content_length();
    if (admission.body_limit == 0 && (parser.chunked() || (declared && *declared > 0))) {
      return Problem(ErrorCode::kBodyTooLarge, "this route takes no request body");
    }
    if (declared && *declared > admission.body_limit) {
      return Problem(ErrorCode::kBodyTooLarge,
                     "the request body is larger than this route accepts (" +
                         std::to_string(admission.body_limit) + " bytes)");
    }
    parser.body_limit(admission.body_limit);
    std::size_t expected = declared           ? static_cast<std::size_t>(*declared)
                           : parser.chunked() ? admission.body_limit
                                              : 0;
    if (!bodies.TryTake(expected, share)) {
      return Problem(ErrorCode::kOverloaded,
                     "too many request bodies are being received; retry shortly");
    }
    return std::nullopt;
  }

  // The answer to one whole request: refused by Service, or through the engine (and a bank).
  asio::awaitable<HttpResponse> Handle(const http::request<http::string_body>& req, int& route, const std::string& peer) {
    HttpRequestView view;
    view.method = std::string_view(req.method_string());
    view.target = std::string_view(req.target());
    view.authorization = std::string_view(req[http::field::authorization]);
    view.content_type = std::string_view(req[http::field::content_type]);
    view.accept = std::string_view(req[http::field::accept]);
    view.peer = peer;
    if (auto it = req.find("Idempotency-Key"); it != req.end()) {
      view.has_idempotency_key = true;
      view.idempotency_key = std::string_view(it->value());
    }
    view.body = req.body();
    view.if_none_match = std::string_view(req[http::field::if_none_match]);
    auto timestamp = req.find("Varelay-Timestamp");
    auto signature = req.find("Varelay-Signature");
    if (timestamp != req.end() || signature != req.end()) {
      view.has_signature = true;
      if (timestamp != req.end()) view.signature_timestamp = std::string_view(timestamp->value());
      if (signature != req.end()) view.signature = std::string_view(signature->value());
    }
    if (draining.load()) co_return Problem(ErrorCode::kShuttingDown, "the relay is shutting down");
    auto prepared = service.Prepare(view);
    route = prepared.route;
    if (prepared.response) co_return std::move(*prepared.response);
    if (prepared.division) {
      if (!options.division) co_return Problem(ErrorCode::kInternal, "division accounts are not configured");
      // Named: g++ 12 destroys a temporary made inside a co_await expression twice.
      const DivisionGateway::HolderAsker ask_holder =
          [this](const BankRoute& bank, const HolderInquiryRequest& q) -> asio::awaitable<Result<std::string>> {
        const BankRoute route_copy = bank;  // held in this frame for as long as the bank is asked
        const HolderInquiryRequest inquiry = q;
        if (route_copy.protocol == BankProtocol::kJson) co_return co_await AskJsonHolder(route_copy, inquiry);
        co_return co_await AskHolder(route_copy, inquiry);
      };
      co_return co_await options.division->Handle(std::move(*prepared.division), ask_holder);
    }
    auto reply = co_await Submit(std::move(*prepared.submission));
    const auto* ticket = reply.result ? std::get_if<HolderInquiryTicket>(&*reply.result) : nullptr;
    if (prepared.holder_inquiry && ticket) {
      if (ticket->retry_after) co_return Service::RateLimited(*ticket->retry_after);
      auto holder = co_await AskHolder(ticket->route, *prepared.holder_inquiry);
      // Recorded before the answer goes out (the engine retries nothing: a refusal now,
      // overloaded or stopping, leaves the record `asked`).
      co_await Submit(Service::HolderOutcome(ticket->inquiry_id, holder));
      co_return service.FinishHolderInquiry(*prepared.holder_inquiry, holder);
    }
    co_return service.Finish(prepared.route, reply.result, reply.rendered);
  }

  asio::awaitable<void> Session(tcp::socket socket,
                                [[maybe_unused]] net::ConnectionLimits::Slot slot) {
    beast::error_code peer_ec;
    const std::string peer = socket.remote_endpoint(peer_ec).address().to_string();
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.header_limit_bytes));
      // The route's own limit is applied once the header names the route; until then, the largest.
      parser.body_limit(std::max({kMaxBodyBytes, kMaxPoolLoadBytes, kMaxBankMessageBytes}));
      stream.expires_after(options.read_timeout);
      auto [header_ec, header_bytes] = co_await http::async_read_header(stream, buffer, parser, kUseTuple);
      if (header_ec) {
        if (auto problem = HeadProblem(header_ec)) co_await WriteLast(stream, std::move(*problem));
        break;
      }
      BodyBudget::Share body_share;  // held until the answer is written
      if (draining.load()) {
        co_await WriteLast(stream, Problem(ErrorCode::kShuttingDown, "the relay is shutting down"));
        break;
      }
      if (auto refusal = Screen(parser, body_share)) {
        co_await WriteLast(stream, std::move(*refusal));
        break;
      }
      if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        http::response<http::empty_body> go_on{http::status::continue_, 11};
        co_await http::async_write(stream, go_on, kUseTuple);
      }
      auto [body_ec, body_bytes] = co_await http::async_read(stream, buffer, parser, kUseTuple);
      if (body_ec == http::error::body_limit) {
        co_await WriteLast(stream, Problem(ErrorCode::kBodyTooLarge,
                                           "the request body is larger than this route accepts"));
        break;
      }
      if (body_ec) break;

      // In flight from now until the answer is written: a drain waits for it, so a change that
      // was committed is never left without its answer.
      ++in_flight;
      struct InFlight {
        std::atomic<std::size_t>& count;
        ~InFlight() { --count; }
      } in_flight_guard{in_flight};
      auto started = std::chrono::steady_clock::now();
      auto& req = parser.get();
      int route = -1;
      HttpResponse out = co_await Handle(req, route, peer);
      service.metrics().Observe(route, out.status,
                                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      bool keep_alive = req.keep_alive() && !draining.load();
      auto res = ToBeast(std::move(out), req.version(), keep_alive);
      // HEAD: the headers a GET would get, its Content-Length included (set above), no body.
      if (req.method() == http::verb::head) res.body().clear();
      stream.expires_after(options.read_timeout);
      auto [write_ec, written] = co_await http::async_write(stream, res, kUseTuple);
      if (write_ec || !keep_alive) break;
    }
    co_await Close(stream);
  }

  // Closes a connection without resetting it: stops sending, then reads and drops whatever the
  // client still sends (a body refused unread) until it closes too, for kLinger at most. A close
  // with unread bytes would send a reset, and the client could lose the answer before reading it.
  asio::awaitable<void> Close(beast::tcp_stream& stream) {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(kLinger);
    std::array<char, 4096> dropped;
    for (;;) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(dropped), kUseTuple);
      if (ec) break;
    }
    stream.socket().close(ignored);
  }

  // SIGTERM: answer what comes 503 for the grace, let requests in flight finish, then stop
  // accepting and stop the engine and the loop. The acceptor stays open through the grace: a
  // connection waiting in its backlog when it closed would be reset. Runs on the accept strand
  // (see accept_strand).
  asio::awaitable<void> Drain() {
    draining = true;
    const auto started = std::chrono::steady_clock::now();
    const auto grace_end = started + options.drain_grace;
    const auto deadline = started + std::max<std::chrono::steady_clock::duration>(
                                        options.drain_timeout, options.drain_grace);
    asio::steady_timer timer(ioc);
    int quiet_polls = 0;  // in a row with no connection: the accept loop has emptied the backlog
    for (;;) {
      const auto now = std::chrono::steady_clock::now();
      quiet_polls = connections.Total() == 0 ? quiet_polls + 1 : 0;
      const bool idle = in_flight.load() == 0;
      if (now >= deadline || (idle && (now >= grace_end || quiet_polls >= 2))) break;
      timer.expires_after(std::chrono::milliseconds(2));
      co_await timer.async_wait(kUseTuple);
    }
    beast::error_code ignored;
    acceptor.close(ignored);
    engine.Stop();  // applies and commits whatever is still queued
    ioc.stop();
    co_return;
  }
};

HttpServer::HttpServer(Service& service, Engine& engine, ServerOptions options)
    : impl_(std::make_unique<Impl>(service, engine, std::move(options))) {}

HttpServer::~HttpServer() = default;

Result<unsigned short> HttpServer::Listen() {
  return net::Listen(impl_->acceptor, impl_->options.host, impl_->options.port);
}

void HttpServer::Run() {
  auto& impl = *impl_;
  asio::co_spawn(impl.accept_strand, impl.Accept(), asio::detached);
  impl.signals.async_wait([&impl](const beast::error_code& ec, int) {
    if (!ec) asio::co_spawn(impl.accept_strand, impl.Drain(), asio::detached);
  });
  std::vector<std::thread> threads;
  for (int i = 1; i < impl.options.io_threads; ++i) threads.emplace_back([&impl] { impl.ioc.run(); });
  impl.ioc.run();
  for (auto& t : threads) t.join();
}

}  // namespace varelay::api
