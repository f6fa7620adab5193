// The simulated bank's HTTP API as a plain function from request to response (no sockets here):
// accounts, virtual-account issuance, payments and their cancellation, the notice outbox, holder
// inquiries, withdrawals and their result inquiries, and end-of-day statements. `--help` and
// docs in main.cpp list the routes.
#pragma once

#include <string>

#include "teller.h"

namespace varelay::banksim {

struct SimRequest {
  std::string method;
  std::string target;  // path and query
  std::string content_type;
  std::string body;
};

struct SimResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// Requests and responses are JSON (bodies at most kMaxRequestBytes); errors are problem+json
// documents with a stable `code`.
inline constexpr std::size_t kMaxRequestBytes = 64 * 1024;

SimResponse HandleRequest(Teller& teller, const SimRequest& request);

}  // namespace varelay::banksim
