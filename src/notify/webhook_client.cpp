#include "notify/webhook_client.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <deque>
#include <expected>
#include <list>
#include <mutex>
#include <unordered_map>

namespace varelay::notify {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;
using ErrorCodeAsio = boost::system::error_code;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kUserAgent = "varelay-webhooks/0.1";
constexpr std::uint32_t kMaxResponseHeaderBytes = 16 * 1024;
constexpr int kMaxInterimResponses = 8;  // 1xx answers skipped before the final status
// RFC 9111 §1.2.2: a delta-seconds too large to hold is taken as 2^31.
constexpr std::uint64_t kMaxDeltaSeconds = 2147483648;

// A step of an attempt either succeeds or yields the reason reported in WebhookResponse::error.
template <typename T>
using Step = std::expected<T, std::string>;

WebhookResponse Failed(std::string reason) {
  WebhookResponse response;
  response.error = std::move(reason);
  return response;
}

// --- Retry-After ---------------------------------------------------------------------------------

std::vector<std::string_view> SplitOnSpaces(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    auto start = text.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    text.remove_prefix(start);
    auto end = std::min(text.find(' '), text.size());
    out.push_back(text.substr(0, end));
    text.remove_prefix(end);
  }
  return out;
}

std::optional<int> Digits(std::string_view text, std::size_t min_size, std::size_t max_size) {
  if (text.size() < min_size || text.size() > max_size) return std::nullopt;
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<unsigned> Month(std::string_view name) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (unsigned i = 0; i < 12; ++i) {
    if (kMonths[i] == name) return i + 1;
  }
  return std::nullopt;
}

// "08:49:37"; a leap second (60) is read as 59, which errs on the side of retrying sooner.
std::optional<std::chrono::seconds> TimeOfDay(std::string_view text) {
  if (text.size() != 8 || text[2] != ':' || text[5] != ':') return std::nullopt;
  auto h = Digits(text.substr(0, 2), 2, 2), m = Digits(text.substr(3, 2), 2, 2),
       s = Digits(text.substr(6, 2), 2, 2);
  if (!h || !m || !s || *h > 23 || *m > 59 || *s > 60) return std::nullopt;
  return std::chrono::hours(*h) + std::chrono::minutes(*m) + std::chrono::seconds(std::min(*s, 59));
}

std::optional<std::chrono::sys_seconds> MakeDate(std::optional<int> year,
                                                 std::optional<unsigned> month,
                                                 std::optional<int> day,
                                                 std::optional<std::chrono::seconds> time) {
  if (!year || !month || !day || !time || *day < 1) return std::nullopt;
  std::chrono::year_month_day date{std::chrono::year(*year), std::chrono::month(*month),
                                   std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days(date) + *time;
}

// The three HTTP-date forms a recipient must accept (RFC 9110 §5.6.7); the weekday is not checked.
std::optional<std::chrono::sys_seconds> ParseHttpDate(std::string_view text, int current_year) {
  auto t = SplitOnSpaces(text);
  if (t.size() == 6 && t[0].ends_with(',') && t[5] == "GMT") {  // Sun, 06 Nov 1994 08:49:37 GMT
    return MakeDate(Digits(t[3], 4, 4), Month(t[2]), Digits(t[1], 2, 2), TimeOfDay(t[4]));
  }
  if (t.size() == 4 && t[0].ends_with(',') && t[3] == "GMT") {  // Sunday, 06-Nov-94 08:49:37 GMT
    if (t[1].size() != 9 || t[1][2] != '-' || t[1][6] != '-') return std::nullopt;
    auto two_digit = Digits(t[1].substr(7, 2), 2, 2);
    if (!two_digit) return std::nullopt;
    // A two-digit year more than 50 years ahead means the previous century (RFC 9110).
    int year = current_year / 100 * 100 + *two_digit;
    if (year > current_year + 50) year -= 100;
    return MakeDate(year, Month(t[1].substr(3, 3)), Digits(t[1].substr(0, 2), 2, 2),
                    TimeOfDay(t[2]));
  }
  if (t.size() == 5) {  // Sun Nov  6 08:49:37 1994
    return MakeDate(Digits(t[4], 4, 4), Month(t[1]), Digits(t[2], 1, 2), TimeOfDay(t[3]));
  }
  return std::nullopt;
}

std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value,
                                                    std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::ranges::all_of(value, [](char c) { return c >= '0' && c <= '9'; })) {
    std::uint64_t delta = kMaxDeltaSeconds;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), delta);
    if (ec != std::errc{} || delta > kMaxDeltaSeconds) delta = kMaxDeltaSeconds;
    return std::chrono::seconds(static_cast<std::int64_t>(delta));
  }
  auto today = std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(now));
  auto date = ParseHttpDate(value, static_cast<int>(today.year()));
  if (!date) return std::nullopt;
  return std::max(std::chrono::seconds(0), std::chrono::floor<std::chrono::seconds>(*date - now));
}

// --- Request -------------------------------------------------------------------------------------

bool IsTokenChar(unsigned char c) {
  return std::isalnum(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// The client owns the framing and identity headers; a caller's copy would duplicate or contradict
// them. Names and values are checked so that no caller can split the request (CR, LF).
std::string CheckHeaders(const std::vector<std::pair<std::string, std::string>>& headers) {
  static constexpr std::string_view kOwned[] = {
      "host", "content-length", "content-type", "user-agent", "connection", "transfer-encoding"};
  for (const auto& [name, value] : headers) {
    if (name.empty() || !std::ranges::all_of(name, IsTokenChar)) {
      return "invalid header name \"" + name + "\"";
    }
    bool bad_value = std::ranges::any_of(
        value, [](unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; });
    if (bad_value) return "invalid header value for " + name;
    for (auto owned : kOwned) {
      if (beast::iequals(name, owned)) return "header " + name + " is set by the client";
    }
  }
  return {};
}

std::string HostHeader(const EndpointUrl& url) {
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  bool default_port = url.port == (url.https ? "443" : "80");
  return default_port ? host : host + ":" + url.port;
}

// The pool's key: connections are shared only between URLs that agree on all three.
std::string Origin(const EndpointUrl& url) {
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  return (url.https ? "https://" : "http://") + host + ":" + url.port;
}

http::request<http::string_body> BuildRequest(const EndpointUrl& url, WebhookRequest& request,
                                              bool keep_alive) {
  http::request<http::string_body> message{http::verb::post, url.target, 11};
  message.set(http::field::host, HostHeader(url));
  message.set(http::field::user_agent, kUserAgent);
  message.set(http::field::content_type, "application/json");
  message.keep_alive(keep_alive);
  for (const auto& [name, value] : request.headers) message.insert(name, value);
  message.body() = std::move(request.body);
  message.prepare_payload();
  return message;
}

// --- Error texts ---------------------------------------------------------------------------------

std::string ResolveError(const ErrorCodeAsio& ec, const std::string& host) {
  if (ec == asio::error::host_not_found) return "dns: host not found (" + host + ")";
  if (ec == asio::error::host_not_found_try_again) return "dns: temporary failure (" + host + ")";
  return "dns: " + ec.message();
}

std::string ConnectError(const ErrorCodeAsio& ec) {
  if (ec == asio::error::connection_refused) return "connection refused";
  return "connect: " + ec.message();
}

std::string TransferError(const ErrorCodeAsio& ec, std::string_view phase) {
  if (ec == asio::error::eof || ec == http::error::end_of_stream ||
      ec == http::error::partial_message || ec == ssl::error::stream_truncated) {
    return "connection closed before a response";
  }
  if (ec == asio::error::connection_reset) return "connection reset";
  if (ec == http::error::header_limit) return "response header larger than 16 KiB";
  return std::string(phase) + ": " + ec.message();
}

bool IsIpLiteral(const std::string& host) {
  ErrorCodeAsio ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// Chain verification first, then the name; a name mismatch is recorded in the verify result so the
// reported error says which check failed.
struct VerifyPeer {
  ssl::host_name_verification name_check;
  bool ip_literal;

  bool operator()(bool preverified, ssl::verify_context& context) const {
    if (!preverified) return false;
    if (name_check(true, context)) return true;
    X509_STORE_CTX_set_error(context.native_handle(), ip_literal ? X509_V_ERR_IP_ADDRESS_MISMATCH
                                                                 : X509_V_ERR_HOSTNAME_MISMATCH);
    return false;
  }
};

// --- Connections and the idle pool --------------------------------------------------------------

// One TCP connection, with TLS on top for https (plain http uses only the next layer). Its I/O
// executor is the io_context, not an attempt's strand, because it may outlive the attempt that
// opened it: every operation on it is started by the attempt holding it, on that attempt's strand,
// and completes there (the coroutine's executor).
struct Connection {
  Connection(asio::io_context& io, ssl::context& tls) : stream(io, tls) {}

  tcp::socket& socket() { return stream.next_layer(); }
  void Close() {
    ErrorCodeAsio ignored;
    socket().close(ignored);
  }

  ssl::stream<tcp::socket> stream;
};

// An idle connection is usable only when nothing is waiting to be read: end of stream or a reset
// means the server closed it, and bytes mean something unasked for (a 408, a TLS alert). Catches
// most idle closes before a request is spent on them; the retry in Deliver catches the rest.
bool LooksUsable(tcp::socket& socket) {
  ErrorCodeAsio ec;
  // For this peek (async operations do not depend on it); set once per connection, as asio
  // remembers it and a repeat would be a system call per reuse.
  if (!socket.non_blocking()) socket.non_blocking(true, ec);
  if (ec) return false;
  char byte;
  socket.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, ec);
  return ec == asio::error::would_block;
}

// Idle keep-alive connections by origin, the newest reused first, bounded by max_idle_per_origin
// and max_idle_total, each closed idle_timeout after it was parked. Thread-safe: every member,
// the timer included, is touched under `mutex_`.
class IdlePool : public std::enable_shared_from_this<IdlePool> {
 public:
  IdlePool(asio::io_context& io, const ClientOptions& options)
      : timer_(io),
        idle_timeout_(options.idle_timeout),
        max_per_origin_(options.max_idle_per_origin),
        max_total_(options.max_idle_total) {}

  bool enabled() const {
    return idle_timeout_.count() > 0 && max_per_origin_ > 0 && max_total_ > 0;
  }

  // Read when an attempt starts; Park refuses the connection once CloseAll has run since.
  std::uint64_t generation() {
    std::lock_guard lock(mutex_);
    return generation_;
  }

  // A usable idle connection to `origin`, or null. Unusable ones found on the way are closed.
  std::unique_ptr<Connection> Take(const std::string& origin) {
    for (;;) {
      std::unique_ptr<Connection> connection;
      {
        std::lock_guard lock(mutex_);
        auto found = by_origin_.find(origin);
        if (found == by_origin_.end()) return nullptr;
        auto newest = found->second.back();
        found->second.pop_back();
        if (found->second.empty()) by_origin_.erase(found);
        connection = std::move(newest->connection);
        idle_.erase(newest);
      }
      if (LooksUsable(connection->socket())) return connection;
      connection->Close();
    }
  }

  // Keeps `connection` for a later Take of `origin`; closes it instead when CloseAll has run since
  // `generation` was read. Makes room by closing the connection idle longest, of the origin when
  // the origin is full, else of all.
  void Park(const std::string& origin, std::uint64_t generation,
            std::unique_ptr<Connection> connection) {
    std::vector<std::unique_ptr<Connection>> evicted;  // closed outside the lock
    {
      std::lock_guard lock(mutex_);
      if (generation != generation_ || !enabled()) {
        evicted.push_back(std::move(connection));
      } else {
        auto& same = by_origin_[origin];
        if (same.size() >= max_per_origin_) {
          evicted.push_back(RemoveOldestOf(same.front()));
        } else if (idle_.size() >= max_total_) {
          evicted.push_back(RemoveOldestOf(idle_.begin()));
        }
        // by_origin_[origin] again: RemoveOldestOf may have erased the entry `same` referred to.
        idle_.push_back({origin, std::move(connection),
                         std::chrono::steady_clock::now() + idle_timeout_});
        by_origin_[origin].push_back(std::prev(idle_.end()));
        if (!armed_) ArmLocked();
      }
    }
    for (auto& c : evicted) c->Close();
  }

  // Closes every idle connection and stops the timer; connections parked later under an older
  // generation are closed too.
  void CloseAll() {
    std::list<Idle> closing;
    {
      std::lock_guard lock(mutex_);
      ++generation_;
      closing.swap(idle_);
      by_origin_.clear();
      armed_ = false;
      timer_.cancel();
    }
    for (auto& idle : closing) idle.connection->Close();
  }

 private:
  struct Idle {
    std::string origin;
    std::unique_ptr<Connection> connection;
    SteadyTime expires;
  };
  using IdleList = std::list<Idle>;

  // Takes `it` out of both indexes; it must be the oldest of its origin (the front of by_origin_),
  // which the oldest of all always is.
  std::unique_ptr<Connection> RemoveOldestOf(IdleList::iterator it) {
    auto found = by_origin_.find(it->origin);
    found->second.pop_front();
    if (found->second.empty()) by_origin_.erase(found);
    auto connection = std::move(it->connection);
    idle_.erase(it);
    return connection;
  }

  // Wakes at the expiry of the oldest. Parked in order with one timeout, the oldest expires first,
  // so one timer serves all; Take does not re-arm it (a wake finding nothing due costs less than a
  // timer change per Send).
  void ArmLocked() {
    if (idle_.empty()) {
      armed_ = false;
      return;
    }
    armed_ = true;
    timer_.expires_at(idle_.front().expires);
    timer_.async_wait([weak = weak_from_this()](const ErrorCodeAsio& ec) {
      if (ec) return;  // cancelled: CloseAll, or a newer ArmLocked waits instead
      if (auto self = weak.lock()) self->CloseExpired();
    });
  }

  void CloseExpired() {
    std::vector<std::unique_ptr<Connection>> expired;
    {
      std::lock_guard lock(mutex_);
      auto now = std::chrono::steady_clock::now();
      while (!idle_.empty() && idle_.front().expires <= now) {
        expired.push_back(RemoveOldestOf(idle_.begin()));
      }
      ArmLocked();
    }
    for (auto& c : expired) c->Close();
  }

  std::mutex mutex_;
  IdleList idle_;  // oldest first, which is also soonest to expire
  std::unordered_map<std::string, std::deque<IdleList::iterator>> by_origin_;  // oldest first
  asio::steady_timer timer_;
  bool armed_ = false;
  std::uint64_t generation_ = 0;
  const std::chrono::milliseconds idle_timeout_;
  const std::size_t max_per_origin_;
  const std::size_t max_total_;
};

// --- Client state and one attempt ----------------------------------------------------------------

class Attempt;

// What the client's attempts share; attempts keep it alive, so the client may go first.
struct ClientState {
  asio::io_context& io;
  ClientOptions options;
  ssl::context tls{ssl::context::tls_client};
  std::string tls_error;  // why https cannot be used (an unreadable CA file), or empty
  std::shared_ptr<IdlePool> pool;

  std::mutex mutex;
  std::uint64_t next_id = 0;                                            // guarded by mutex
  std::unordered_map<std::uint64_t, std::weak_ptr<Attempt>> in_flight;  // guarded by mutex

  ClientState(asio::io_context& context, ClientOptions client_options)
      : io(context),
        options(std::move(client_options)),
        pool(std::make_shared<IdlePool>(io, options)) {
    SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
    tls.set_verify_mode(ssl::verify_peer);
    ErrorCodeAsio ec;
    tls.set_default_verify_paths(ec);
    if (ec) tls_error = "tls: cannot load the system's trusted certificates: " + ec.message();
    if (!options.ca_file.empty()) {
      tls.load_verify_file(options.ca_file, ec);
      if (ec) tls_error = "tls: cannot load CA file " + options.ca_file + ": " + ec.message();
    }
  }
};

// One POST from taking or opening a connection to the last byte read. Every member is touched only
// on `strand_`: the coroutine, the watchdog and the resolver's handler all run there.
class Attempt : public std::enable_shared_from_this<Attempt> {
 public:
  Attempt(std::shared_ptr<ClientState> client, WebhookRequest request)
      : client_(std::move(client)),
        request_(std::move(request)),
        pool_generation_(client_->pool->generation()),
        strand_(asio::make_strand(client_->io)),
        resolver_(strand_),
        watchdog_(strand_),
        wake_(strand_) {}

  const asio::strand<asio::io_context::executor_type>& strand() const { return strand_; }

  // Never throws: whatever escapes a step is reported as the attempt's error.
  asio::awaitable<WebhookResponse> Run() {
    std::string failure;
    try {
      auto response = co_await Deliver();
      Finish();
      co_return response;
    } catch (const std::exception& e) {
      failure = std::string("internal: ") + e.what();
    } catch (...) {
      failure = "internal: unknown exception";
    }
    reusable_ = false;
    Finish();
    co_return Failed(std::move(failure));
  }

  // Ends the attempt at its next step; what is pending fails and the coroutine reports `reason`.
  void Abort(std::string reason) {
    if (abort_reason_) return;
    abort_reason_ = std::move(reason);
    resolver_.cancel();
    wake_.cancel();
    if (connection_) connection_->Close();
  }

 private:
  asio::awaitable<WebhookResponse> Deliver() {
    started_ = std::chrono::steady_clock::now();
    const auto& options = client_->options;
    auto url = CheckEndpointUrl(options.policy, request_.url);
    if (!url) co_return Failed("invalid url: " + url.error().detail);
    if (auto bad = CheckHeaders(request_.headers); !bad.empty()) co_return Failed(std::move(bad));
    if (url->https && !client_->tls_error.empty()) co_return Failed(client_->tls_error);

    const bool pooled = client_->pool->enabled();
    auto message = BuildRequest(*url, request_, pooled);
    if (pooled) {
      origin_ = Origin(*url);
      connection_ = client_->pool->Take(origin_);
    }
    if (connection_) {
      Arm(started_ + options.total_timeout, "timeout");
      auto reused = co_await Exchange(url->https, message, true);
      if (reused) co_return std::move(*reused);
      // The server closed the idle connection before it read the request: once more, on a new
      // connection (docs in webhook_client.h: the server may have received it twice).
      connection_->Close();
      connection_.reset();
    }
    if (auto opened = co_await Open(*url); !opened) co_return Failed(std::move(opened.error()));
    Arm(started_ + options.total_timeout, "timeout");
    auto fresh = co_await Exchange(url->https, message, false);
    co_return std::move(*fresh);
  }

  // Resolves, checks the addresses, connects and, for https, verifies the server; the connect
  // timeout counts from here (a retry after a reused connection failed gets its own), the total
  // timeout from the start of the attempt.
  asio::awaitable<Step<void>> Open(const EndpointUrl& url) {
    const auto& options = client_->options;
    auto connect_deadline = std::chrono::steady_clock::now() + options.connect_timeout;
    auto total_deadline = started_ + options.total_timeout;
    if (connect_deadline < total_deadline) {
      Arm(connect_deadline, "connect timeout");
    } else {
      Arm(total_deadline, "timeout");
    }
    connection_ = std::make_unique<Connection>(client_->io, client_->tls);
    auto endpoints = co_await Resolve(url);
    if (!endpoints) co_return std::unexpected(std::move(endpoints.error()));
    if (auto connected = co_await Connect(*endpoints); !connected) co_return connected;
    if (url.https) co_return co_await Handshake(url.host);
    co_return Step<void>{};
  }

  // The watchdog enforces the deadline of the current phase by aborting; a newer Arm (or Finish)
  // supersedes an older one even if that one's expiry is already queued.
  void Arm(SteadyTime deadline, std::string_view reason) {
    auto generation = ++watch_generation_;
    watchdog_.expires_at(deadline);
    watchdog_.async_wait([weak = weak_from_this(), generation, reason](const ErrorCodeAsio& ec) {
      auto self = weak.lock();
      if (ec || !self || generation != self->watch_generation_) return;
      self->Abort(std::string(reason));
    });
  }

  // Stops the watchdog and hands the connection to the pool when the exchange left it reusable,
  // else closes it. Either way the attempt no longer touches it.
  void Finish() {
    ++watch_generation_;
    watchdog_.cancel();
    if (!connection_) return;
    if (reusable_ && !abort_reason_) {
      client_->pool->Park(origin_, pool_generation_, std::move(connection_));
    } else {
      connection_->Close();
    }
    connection_.reset();
  }

  std::string Reason(std::string fallback) const {
    return abort_reason_ ? *abort_reason_ : fallback;
  }

  // getaddrinfo cannot be interrupted, so the coroutine waits on `wake_` instead of the lookup:
  // the lookup's handler or an Abort ends the wait, whichever comes first.
  asio::awaitable<Step<std::vector<tcp::endpoint>>> Resolve(const EndpointUrl& url) {
    if (abort_reason_) co_return std::unexpected(*abort_reason_);
    wake_.expires_at(SteadyTime::max());
    resolver_.async_resolve(
        url.host, url.port, tcp::resolver::numeric_service,
        [self = shared_from_this()](const ErrorCodeAsio& ec, tcp::resolver::results_type results) {
          self->resolved_.emplace(ec, std::move(results));
          self->wake_.cancel();
        });
    co_await wake_.async_wait(kUseTuple);
    if (abort_reason_ || !resolved_) co_return std::unexpected(Reason("cancelled"));
    auto [ec, results] = std::move(*resolved_);
    resolved_.reset();
    if (ec) co_return std::unexpected(ResolveError(ec, url.host));
    co_return AllowedEndpoints(results, url.host);
  }

  // Drops refused addresses; when none is left, names the first one refused and its range.
  Step<std::vector<tcp::endpoint>> AllowedEndpoints(const tcp::resolver::results_type& results,
                                                    const std::string& host) const {
    std::vector<tcp::endpoint> allowed;
    std::string refused;
    for (const auto& entry : results) {
      auto address = entry.endpoint().address();
      if (auto range = RefusedRange(client_->options.policy, address)) {
        if (refused.empty())
          refused =
              "refused address " + address.to_string() + " (" + std::string(*range) + " range)";
        continue;
      }
      allowed.push_back(entry.endpoint());
    }
    if (!allowed.empty()) return allowed;
    if (!refused.empty()) return std::unexpected(refused);
    return std::unexpected("dns: no address for " + host);
  }

  // Tries the allowed addresses in order, as resolved; the last failure is reported.
  asio::awaitable<Step<void>> Connect(const std::vector<tcp::endpoint>& endpoints) {
    auto& socket = connection_->socket();
    ErrorCodeAsio last;
    for (const auto& endpoint : endpoints) {
      if (abort_reason_) break;
      ErrorCodeAsio ignored;
      socket.close(ignored);
      auto [ec] = co_await socket.async_connect(endpoint, kUseTuple);
      if (!ec && !abort_reason_) {
        socket.set_option(tcp::no_delay(true), ignored);
        co_return Step<void>{};
      }
      last = ec;
    }
    co_return std::unexpected(Reason(ConnectError(last)));
  }

  asio::awaitable<Step<void>> Handshake(const std::string& host) {
    if (abort_reason_) co_return std::unexpected(*abort_reason_);
    auto& stream = connection_->stream;
    bool ip_literal = IsIpLiteral(host);
    // A fully qualified "example.com." names the same host; certificates and SNI omit the dot.
    std::string name = host.ends_with('.') ? host.substr(0, host.size() - 1) : host;
    // SNI carries host names only (RFC 6066 §3).
    if (!ip_literal && SSL_set_tlsext_host_name(stream.native_handle(), name.c_str()) != 1) {
      co_return std::unexpected(std::string("tls: cannot set the server name"));
    }
    stream.set_verify_callback(VerifyPeer{ssl::host_name_verification(name), ip_literal});
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::client, kUseTuple);
    if (abort_reason_) co_return std::unexpected(*abort_reason_);
    if (!ec) co_return Step<void>{};
    long verify = SSL_get_verify_result(stream.native_handle());
    if (verify != X509_V_OK) {
      co_return std::unexpected(std::string("tls: certificate verify failed (") +
                                X509_verify_cert_error_string(verify) + ")");
    }
    co_return std::unexpected("tls: " + ec.message());
  }

  asio::awaitable<std::optional<WebhookResponse>> Exchange(
      bool https, http::request<http::string_body>& message, bool reused) {
    if (https) co_return co_await Transfer(connection_->stream, message, reused);
    co_return co_await Transfer(connection_->socket(), message, reused);
  }

  // Writes the request and reads the final status; the body is then read up to the limit and
  // dropped, only so that the peer is not cut off mid-write and the connection can be reused.
  // Nothing after the status changes the outcome. nullopt only on a `reused` connection that
  // failed before any byte of a response arrived: the caller tries a new one.
  template <typename Stream>
  asio::awaitable<std::optional<WebhookResponse>> Transfer(
      Stream& stream, http::request<http::string_body>& message, bool reused) {
    auto [write_ec, written] = co_await http::async_write(stream, message, kUseTuple);
    if (write_ec) {
      if (reused && !abort_reason_) co_return std::nullopt;
      co_return Failed(Reason(TransferError(write_ec, "write")));
    }
    std::optional<http::response_parser<http::string_body>> parser;
    for (int interim = 0; interim <= kMaxInterimResponses; ++interim) {
      parser.emplace();
      parser->header_limit(kMaxResponseHeaderBytes);
      // No limit yet: a large Content-Length would fail the header; the body limit comes next.
      parser->body_limit(boost::none);
      auto [read_ec, read] = co_await http::async_read_header(stream, buffer_, *parser, kUseTuple);
      if (read_ec) {
        bool nothing_came = interim == 0 && !parser->got_some() && buffer_.size() == 0;
        if (reused && nothing_came && !abort_reason_) co_return std::nullopt;
        co_return Failed(Reason(TransferError(read_ec, "read")));
      }
      int status = parser->get().result_int();
      if (status >= 200 || status == 101) break;
    }
    WebhookResponse response;
    response.status = parser->get().result_int();
    auto retry_after = parser->get()[http::field::retry_after];
    response.retry_after = ParseRetryAfter(std::string_view(retry_after.data(), retry_after.size()),
                                           std::chrono::system_clock::now());
    // Beast weighs a Content-Length against body_limit only as the header completes, which was
    // without a limit; a length known to be too long is therefore refused here, unread (a chunked
    // or close-delimited body is cut by the parser as it arrives).
    const auto limit = client_->options.max_response_bytes;
    auto length = parser->content_length();
    if (!parser->is_done() && !abort_reason_ && (!length || *length <= limit)) {
      parser->body_limit(limit);
      co_await http::async_read(stream, buffer_, *parser, kUseTuple);
    }
    reusable_ = message.keep_alive() && KeepsConnection(*parser) && buffer_.size() == 0;
    if (parser->is_done()) response.body = std::move(parser->get().body());
    co_return response;
  }

  // The response ended cleanly and lets the connection carry another request. A 1xx here means the
  // interim limit was hit, and a 101 hands the connection to another protocol.
  static bool KeepsConnection(const http::response_parser<http::string_body>& parser) {
    return parser.is_done() && parser.get().version() == 11 && parser.keep_alive() &&
           parser.get().result_int() >= 200;
  }

  std::shared_ptr<ClientState> client_;
  WebhookRequest request_;
  const std::uint64_t pool_generation_;  // the pool's when the attempt began (see IdlePool::Park)
  asio::strand<asio::io_context::executor_type> strand_;
  tcp::resolver resolver_;
  std::unique_ptr<Connection> connection_;  // null before Open or a Take, and after Finish
  std::string origin_;                      // the pool's key, when pooling is on
  bool reusable_ = false;                   // the last exchange left connection_ fit to park
  asio::steady_timer watchdog_;
  asio::steady_timer wake_;  // ends the wait for a name lookup
  std::optional<std::pair<ErrorCodeAsio, tcp::resolver::results_type>> resolved_;
  std::uint64_t watch_generation_ = 0;
  std::optional<std::string> abort_reason_;
  beast::flat_buffer buffer_;
  SteadyTime started_;
};

}  // namespace

struct WebhookClient::Impl : ClientState {
  using ClientState::ClientState;
};

WebhookClient::WebhookClient(asio::io_context& io, ClientOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

WebhookClient::~WebhookClient() { CancelAll(); }

void WebhookClient::Send(WebhookRequest request, std::function<void(WebhookResponse)> done) {
  std::shared_ptr<ClientState> state = impl_;
  std::shared_ptr<Attempt> attempt;
  try {
    attempt = std::make_shared<Attempt>(state, std::move(request));
  } catch (const std::exception& e) {
    // Setting up the sockets failed (no memory, no TLS session): report it like any failure.
    asio::post(state->io, [done = std::move(done), reason = std::string("internal: ") + e.what()] {
      done(Failed(reason));
    });
    return;
  }
  std::uint64_t id;
  {
    std::lock_guard lock(state->mutex);
    id = state->next_id++;
    state->in_flight.emplace(id, attempt);
  }
  // Registered before it starts, so that a CancelAll that returns after this Send covers it.
  // The completion handler holds the attempt: the coroutine runs on its `this`.
  asio::post(attempt->strand(), [state, attempt, id, done = std::move(done)]() mutable {
    asio::co_spawn(attempt->strand(), attempt->Run(),
                   [state, attempt, id, done = std::move(done)](std::exception_ptr error,
                                                                WebhookResponse response) {
                     {
                       std::lock_guard lock(state->mutex);
                       state->in_flight.erase(id);
                     }
                     if (error) response = Failed("internal: attempt failed");
                     if (done) done(std::move(response));
                   });
  });
}

void WebhookClient::CancelAll() {
  // First, so that no attempt aborted here parks its connection afterwards.
  impl_->pool->CloseAll();
  std::vector<std::shared_ptr<Attempt>> attempts;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& [id, weak] : impl_->in_flight) {
      if (auto attempt = weak.lock()) attempts.push_back(std::move(attempt));
    }
  }
  for (auto& attempt : attempts) {
    asio::post(attempt->strand(), [attempt] { attempt->Abort("cancelled"); });
  }
}

}  // namespace varelay::notify
