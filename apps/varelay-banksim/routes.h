// The simulated bank's HTTP API as a plain function from request to response (no sockets here):
// accounts, virtual-account issuance, payments and their cancellation, the notice outbox, holder
// inquiries, withdrawals and their result inquiries, and end-of-day statements. `--help` and
// docs in main.cpp list the routes.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "teller.h"

namespace varelay::banksim {

struct SimRequest {
  std::string method;
  std::string target;  // path and query
  std::string content_type;
  std::string body;
  // The relay's signature of its requests to a JSON bank (Varelay-Timestamp, Varelay-Signature).
  std::string signature_timestamp{};
  std::string signature{};
};

struct SimResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  bool drop = false;                   // close the connection without answering (a fault)
  std::chrono::milliseconds delay{0};  // answer this late (a fault; the work is already done)
};

// Requests and responses are JSON (bodies at most kMaxRequestBytes); errors are problem+json
// documents with a stable `code`.
inline constexpr std::size_t kMaxRequestBytes = 64 * 1024;

SimResponse HandleRequest(Teller& teller, const SimRequest& request);

// The JSON bank's side of the relay's own requests (open_banking.cpp, Open Banking-style): POST
// /v2.0/transfer/withdraw, /v2.0/transfer/result, /v2.0/transfer/withdraw-consent; and the test
// routes POST /sim/accounts, POST /sim/accounts/{bank}/{account}/fund,
// GET /sim/accounts/{bank}/{account}. nullopt: not one of these paths. With a signing secret
// (Teller::SetSigningSecret, --signing-secret) a /v2.0 request must carry the relay's valid
// signature, else 401 signature_invalid, unexecuted.
std::optional<SimResponse> HandleOpenBanking(Teller& teller, const SimRequest& request);

}  // namespace varelay::banksim
