// The engine's pay-out limits (docs/architecture.md, "Pay-out limits"): each merchant's policy and
// the day's running sums, checked and reserved in one step of the single writer, so two transfers
// can never both fit under one remainder. The rules are domain/payout_limits.h; who may set or read
// a policy is the relay's to decide. Engine thread only.
#pragma once

#include <map>
#include <string>

#include "domain/error.h"
#include "domain/payout_limits.h"
#include "engine/commands.h"
#include "store/store.h"

namespace varelay {

class PayoutBook {
 public:
  explicit PayoutBook(Store& store) : store_(store) {}

  // Recovery: a policy as the store holds it.
  void OnPolicy(PayoutPolicy policy);
  // Recounts today's (Asia/Seoul) transfers not refused from the store; once, at start.
  Result<void> LoadDay(Instant now);

  // Whether `merchant` may pay out `c` now: kPayoutLimitExceeded or kRecipientNotAllowed.
  Result<void> Check(const std::string& merchant, const CreateTransfer& c, Instant now) const;
  // A transfer created: its amount is held for its day until it is refused.
  void Reserve(const Transfer& t) { day_.Reserve(t.merchant, SeoulDay(t.created_at), t.amount.minor()); }
  // A transfer refused: gives back what it held (nothing when its day has passed).
  void Release(const Transfer& t) { day_.Release(t.merchant, SeoulDay(t.created_at), t.amount.minor()); }

  // Replaces `c.merchant`'s policy (recipients sorted, duplicates dropped) and stores it.
  PayoutPolicyView Set(const SetPayoutPolicy& c, Instant now);
  // The merchant's policy (the defaults when none was set) and what today holds.
  PayoutPolicyView View(const std::string& merchant, Instant now) const;

 private:
  const PayoutPolicy& PolicyOf(const std::string& merchant) const;

  Store& store_;
  std::map<std::string, PayoutPolicy, std::less<>> policies_;
  PayoutDay day_;  // what today's transfers not refused hold, per merchant
};

}  // namespace varelay
