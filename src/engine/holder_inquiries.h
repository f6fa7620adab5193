// The engine's account-holder inquiries (docs/architecture.md, "Account-holder inquiries"): the
// per-merchant rate limit, and every inquiry kept for operators, recorded `asked` before the bank
// is asked and again with its outcome. Who may ask which bank is the relay's to decide; this holds
// the state. Engine thread only.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "domain/error.h"
#include "domain/holder_inquiry.h"
#include "engine/commands.h"
#include "store/store.h"

namespace varelay {

class HolderInquiries {
 public:
  struct Options {
    int per_minute = kDefaultHolderInquiriesPerMinute;  // per merchant
    Millis expiry{};          // an inquiry whose outcome never came is recorded `failed` after this
    std::size_t max_open = 0;  // inquiries waiting for their bank, at most
  };
  HolderInquiries(Store& store, Options options)
      : store_(store), options_(options), rate_(options.per_minute) {}

  // An allowed caller's inquiry to `route`'s bank: kOverloaded when max_open are waiting; a ticket
  // with retry_after (nothing recorded) when the merchant is over its rate; otherwise recorded
  // `asked` under `id` and open until Finish or its expiry.
  Result<HolderInquiryTicket> Start(const Caller& caller, const StartHolderInquiry& c, BankRoute route,
                                    std::string id, Instant now);
  // Records the outcome of an open inquiry; kNotFound when it is not open (finished or expired).
  Result<void> Finish(const FinishHolderInquiry& c, Instant now);
  // Records `failed` and forgets each open inquiry whose expiry has come (its outcome lost).
  void Expire(Instant now);
  std::optional<Instant> NextExpiry() const;
  // The recorded inquiries, newest first, a page of at most 500.
  Result<HolderInquiryPage> List(const ListHolderInquiries& c);

 private:
  Store& store_;
  Options options_;
  InquiryRateLimit rate_;
  std::map<std::string, HolderInquiryRecord> open_;          // by id, at most options_.max_open
  std::multimap<Instant, std::string> expiries_;             // expiry -> open inquiry id
};

}  // namespace varelay
