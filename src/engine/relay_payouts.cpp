// Pay-out limits: who may set and read them. The policies and the day's sums are the PayoutBook's
// (engine/payout_book.h); CreateTransfer checks and reserves against it (relay_transfers.cpp).
#include "engine/relay.h"

namespace varelay {

Result<Outcome> Relay::Do(const Caller& caller, const SetPayoutPolicy& c, Instant now) {
  if (caller.role != Role::kAdmin) return Fail(ErrorCode::kForbidden, "pay-out limits are set with an admin key");
  if (!merchants_.contains(c.merchant)) return Fail(ErrorCode::kNotFound, "no such merchant");
  return payouts_.Set(c, now);
}

Result<Outcome> Relay::Do(const Caller& caller, const GetPayoutPolicy& c, Instant now) {
  const bool visible = caller.role == Role::kAdmin || (IsMerchantRole(caller.role) && caller.merchant == c.merchant);
  if (!visible || !merchants_.contains(c.merchant)) return Fail(ErrorCode::kNotFound, "no such merchant");
  return payouts_.View(c.merchant, now);
}

}  // namespace varelay
