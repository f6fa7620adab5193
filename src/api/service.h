// The relay's HTTP surface without the sockets: which routes exist, how a request becomes an
// engine command (or an immediate refusal), and how an outcome becomes a response.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/division_routes.h"
#include "api/http_types.h"
#include "api/metrics.h"
#include "api/static_files.h"
#include "engine/commands.h"
#include "engine/engine.h"
#include "notify/url_policy.h"

namespace varelay::api {

// Request body limits, documented in docs/openapi.yaml.
inline constexpr std::size_t kMaxBodyBytes = 64 * 1024;
inline constexpr std::size_t kMaxPoolLoadBytes = 4 * 1024 * 1024;
inline constexpr std::size_t kMaxBankMessageBytes = 4 * 1024 * 1024;  // a camt.054 over HTTP

// Whether a Content-Type names application/json (parameters such as charset aside).
bool IsJsonMediaType(std::string_view content_type);

class Service {
 public:
  // `url_policy` decides which webhook endpoint URLs merchants may register.
  Service(const EngineStats& engine_stats, notify::UrlPolicy url_policy);

  // "METHOD /pattern" for every route, in table order (what `varelayd --print-routes` prints).
  static std::vector<std::string> RouteList();

  // The body limit for a request, known from its method and target once the header is read:
  // 0 for a route that takes no body, or no route.
  std::size_t BodyLimit(std::string_view method, std::string_view target) const;

  // What the server learns from a request's head before it reads the body: the body limit (0
  // where no body is taken: the server then refuses a declared one at once), or the answer to
  // give at once, the body unread: 404/405 for a target no route takes, and 401 when the route
  // needs a key and the Authorization header carries none, or one that is not in `keys` (so a
  // stranger's body is never read, nor given any of the body budget), and 403 when the key's role
  // is not the one role the route takes (a merchant's key on a bank's camt.053, anyone but an
  // admin on a 4 MiB pool load). The engine checks a key let through in full.
  struct Admission {
    std::size_t body_limit = 0;
    std::optional<HttpResponse> refusal;
  };
  Admission Admit(std::string_view method, std::string_view target, std::string_view authorization,
                  const KeyDirectory& keys) const;

  struct Prepared {
    int route = -1;  // -1: no route matched
    std::optional<HttpResponse> response;  // answered without the engine
    std::optional<Submission> submission;  // to hand to the engine (reply left unset)
    // An account-holder inquiry: the submission asks the engine for a HolderInquiryTicket; with
    // one, the server answers RateLimited, or asks the bank, hands the engine HolderOutcome and
    // answers with FinishHolderInquiry.
    std::optional<HolderInquiryRequest> holder_inquiry;
    // A division route's request, for DivisionGateway (division_gateway.h) to run.
    std::optional<DivisionRequest> division;
  };
  Prepared Prepare(const HttpRequestView& request) const;

  // The response for an engine reply to a request on `route`.
  HttpResponse Finish(int route, const Result<Outcome>& result,
                      const std::optional<RenderedResponse>& rendered) const;

  // The answer to an account-holder inquiry once the bank has named the holder (or failed to).
  HttpResponse FinishHolderInquiry(const HolderInquiryRequest& request, const Result<std::string>& holder) const;
  // The relay's own submission that records how inquiry `id` ended (reply left unset).
  static Submission HolderOutcome(const std::string& id, const Result<std::string>& holder);
  // 429 rate_limited with Retry-After: the whole seconds until `wait` has passed.
  static HttpResponse RateLimited(Millis wait);

  Metrics& metrics() { return metrics_; }
  // Webhook figures for /metrics; set once before serving.
  void SetDispatchStats(const notify::DispatchStats* stats) { dispatch_stats_ = stats; }
  void SetBankHealth(const banks::BankHealth* health) { bank_health_ = health; }
  // The web pages, answered where no API route matches a GET or HEAD; set once before serving.
  void SetStaticFiles(const StaticFiles* files) { static_files_ = files; }

 private:
  const EngineStats& engine_stats_;
  notify::UrlPolicy url_policy_;
  const notify::DispatchStats* dispatch_stats_ = nullptr;
  const banks::BankHealth* bank_health_ = nullptr;
  const StaticFiles* static_files_ = nullptr;
  Metrics metrics_;
};

}  // namespace varelay::api
