// Runs the division routes' requests (division_routes.h) on the I/O side: most take more than one
// engine step with work between them that must never run on the engine thread. Personal data is
// sealed before it reaches the engine and opened here for its owner's answers (crypto::Sealer);
// passwords are hashed and verified on the hasher's own pool (crypto::PasswordHasher); an
// enrolment asks the bank for the holder's name and registers the withdrawal consent
// (banks::ConsentRegistrar) before anything is stored.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>

#include "api/division_routes.h"
#include "api/http_types.h"
#include "banks/consent.h"
#include "crypto/password_hasher.h"
#include "crypto/sealer.h"
#include "engine/engine.h"
#include "notify/url_policy.h"

namespace varelay::api {

struct DivisionGatewayOptions {
  // Keys the look-up digests of logins and bank accounts (HMAC-SHA256), and the result keys that
  // sign redirects: a secret of the relay's own (<data>/digest.key), kept like the seal key.
  std::string digest_key;
  notify::UrlPolicy url_policy;  // a master's app endpoint is held to the merchants' policy
};

class DivisionGateway {
 public:
  // Asks bank `route` in whose name `request.account` is (the relay's holder inquiry).
  using HolderAsker = std::function<boost::asio::awaitable<Result<std::string>>(
      const BankRoute&, const HolderInquiryRequest&)>;

  DivisionGateway(Engine& engine, const crypto::Sealer& sealer, crypto::PasswordHasher& hasher,
                  banks::ConsentRegistrar* consent, DivisionGatewayOptions options);
  ~DivisionGateway();

  // The whole answer to one request. Runs on the caller's executor; never blocks it.
  boost::asio::awaitable<HttpResponse> Handle(DivisionRequest request,
                                              const HolderAsker& ask_holder);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Enrolments and sign-ins from one address: a burst of kPublicBurst, then one every
// 60 / kPublicPerMinute seconds; beyond, 429 rate_limited with Retry-After. At most
// kMaxAddressesTracked addresses are remembered (beyond, the fullest buckets are forgotten first).
inline constexpr int kPublicPerMinute = 20;
inline constexpr int kPublicBurst = 20;
inline constexpr std::size_t kMaxAddressesTracked = 65'536;

// HMAC-SHA256 hex of `text` under `key`: the digest the engine looks logins and accounts up by.
std::string LookupDigest(std::string_view key, std::string_view kind, std::string_view text);

}  // namespace varelay::api
