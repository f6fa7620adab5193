// The outbound HTTP client that delivers one webhook attempt: a POST over HTTP/1.1 (TLS with
// certificate and host name verification), with SSRF checks after name resolution and a bound on
// time and bytes. It reports what happened; retrying, ordering and signing are the caller's.
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
  std::chrono::milliseconds connect_timeout{5000};  // resolve + connect + TLS handshake
  std::chrono::milliseconds total_timeout{15000};   // the whole attempt
  std::size_t max_response_bytes = 64 * 1024;       // read and ignored beyond status/headers
  std::string ca_file;  // extra trusted CA bundle (PEM), besides the system's
  UrlPolicy policy;
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
  // "tls: cannot load CA file ...".
  WebhookClient(boost::asio::io_context& io, ClientOptions options);
  // Cancels what is in flight (as CancelAll); their `done` still runs on the io_context.
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
  // for shutdown. Attempts started afterwards run normally. Safe to call from any thread.
  void CancelAll();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace varelay::notify
