// The outbound HTTP client that delivers one webhook attempt: a POST over HTTP/1.1 (TLS with
// certificate and host name verification), with SSRF checks after name resolution and a bound on
// time and bytes. It reports what happened; retrying, ordering and signing are the caller's.
//
// Connections are kept alive and reused. After a final response that allows it (HTTP/1.1 without
// `Connection: close`, body read whole within max_response_bytes, no error, nothing after it), the
// connection waits idle for the next Send to the same origin: scheme, host as written in the URL,
// and port. A reused connection skips name resolution, the SSRF address check, connect and the TLS
// handshake: its address was checked, and its certificate verified for that host, when it was
// made, and a TCP connection never moves to another address, so a name that now resolves to a
// refused address is refused at the next new connection and cannot be reached through an old one.
// When a reused connection fails before any byte of a response arrived (writing the request, or
// the connection ending instead of a status line: the server closed it while idle), the attempt
// tries once more on a new connection, within the same total_timeout. The server may then have
// received the POST twice; webhook receivers dedupe by webhook-id, and a caller that cannot accept
// that must turn reuse off (max_idle_total = 0).
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "notify/url_policy.h"

namespace varelay::notify {

struct ClientOptions {
  // Resolve + connect + TLS handshake of a new connection (the retry's too, within total_timeout).
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds total_timeout{15000};  // the whole attempt, a retry included
  // Body bytes read (and ignored) after the status; a longer body is cut, or not read at all when
  // its Content-Length says so, and its connection closed.
  std::size_t max_response_bytes = 64 * 1024;
  std::string ca_file;  // extra trusted CA bundle (PEM), besides the system's
  UrlPolicy policy;
  // Keep-alive. An idle connection is closed idle_timeout after its last response; at most
  // max_idle_per_origin wait per (scheme, host, port) and max_idle_total in all (beyond either, the
  // one idle longest is closed). A zero in any of the three turns reuse off: every request then
  // says `Connection: close`. Several merchants often share one receiver (a platform's), and the
  // dispatcher has up to 8 deliveries in flight per merchant: with fewer idle connections kept
  // than a burst used, every burst would open new ones (measured: one TCP connect per four
  // webhooks with 2 merchants and 4 kept).
  std::chrono::milliseconds idle_timeout{30000};
  std::size_t max_idle_per_origin = 32;
  std::size_t max_idle_total = 256;
};

struct WebhookRequest {
  std::string url;
  // Sent as given, plus Host, Content-Type: application/json, Content-Length and
  // User-Agent: varelay-webhooks/0.1. A header naming one of those four (or Connection or
  // Transfer-Encoding), or with a name or value that is not valid HTTP, fails the attempt unsent.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct WebhookResponse {
  int status = 0;  // 0: no HTTP response (see error)
  // Parsed from Retry-After: delta-seconds or an HTTP-date (relative to now, floor 0). nullopt when
  // absent or unreadable.
  std::optional<std::chrono::seconds> retry_after;
  // Empty when a status arrived; else a short reason: "connect timeout", "refused address 10.0.0.1
  // (private range)", "tls: certificate verify failed (...)", "timeout", "connection refused",
  // "invalid url: ...", "cancelled", ...
  std::string error;
  // The response body when it arrived whole within max_response_bytes; empty otherwise.
  std::string body;
};

class WebhookClient {
 public:
  // `io` must outlive the client and run while attempts are in flight. When `options.ca_file`
  // cannot be read, the client still works for http:// and fails every https:// attempt with
  // "tls: cannot load CA file ...". While connections are idle, and up to idle_timeout after the
  // last one was taken, a timer that closes them is pending on `io` (so `io.run()` does not return
  // for lack of work); CancelAll and the destructor end it.
  WebhookClient(boost::asio::io_context& io, ClientOptions options);
  // Cancels what is in flight (as CancelAll) and closes idle connections; their `done` still runs
  // on the io_context.
  ~WebhookClient();
  WebhookClient(const WebhookClient&) = delete;
  WebhookClient& operator=(const WebhookClient&) = delete;

  // Starts one POST; `done` is called exactly once, on the io_context's thread(s), with the
  // outcome (provided the io_context keeps running). Never throws; never blocks. Safe to call from
  // any thread. A status, once its header has arrived, is the outcome: the body is then read up to
  // max_response_bytes and ignored, and a peer that stalls in it only holds the attempt until
  // total_timeout. Redirects are not followed (a 3xx is just a status). `done` must not throw.
  void Send(WebhookRequest request, std::function<void(WebhookResponse)> done);

  // Cancels every attempt started before this call (their `done` runs with error "cancelled"),
  // for shutdown, and closes every idle connection; none of those attempts' connections is kept
  // afterwards. Attempts started afterwards run normally. Safe to call from any thread.
  void CancelAll();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace varelay::notify
