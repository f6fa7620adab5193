// Pay-out limits: what an operator lets each merchant move out of its mother account (a cap per
// transfer, a cap per Asia/Seoul day, an optional allow-list of recipients), and the day's running
// sums they are checked against. The rules are domain/payout_limits.h; the single writer makes the
// check and the reservation one step, so two transfers can never both fit under one remainder.
#include <algorithm>

#include "domain/identifiers.h"
#include "engine/relay.h"

namespace varelay {
namespace {

const PayoutPolicy kDefaultPolicy{};

std::string Won(std::int64_t minor) { return std::to_string(minor) + " won"; }

}  // namespace

void Relay::OnPayoutPolicy(PayoutPolicy policy) {
  auto merchant = policy.merchant;
  payout_policies_.insert_or_assign(std::move(merchant), std::move(policy));
}

const PayoutPolicy& Relay::PolicyOf(const std::string& merchant) const {
  auto it = payout_policies_.find(merchant);
  return it == payout_policies_.end() ? kDefaultPolicy : it->second;
}

Result<void> Relay::CheckPayoutLimits(const std::string& merchant, const CreateTransfer& c, Instant now) const {
  const PayoutPolicy& policy = PolicyOf(merchant);
  const std::int64_t used = payout_day_.Used(merchant, SeoulDay(now));
  auto refusal = CheckPayout(policy, c.amount.minor(), used, {c.recipient_bank, c.recipient_account});
  if (!refusal) return {};
  switch (*refusal) {
    case PayoutRefusal::kRecipientNotAllowed:
      return Fail(ErrorCode::kRecipientNotAllowed,
                  "merchant " + merchant + " pays out only to the recipients on its allow-list", "recipient");
    case PayoutRefusal::kOverPerTransferLimit:
      return Fail(ErrorCode::kPayoutLimitExceeded,
                  "over the limit per transfer of " + Won(policy.per_transfer_max_minor), "amount");
    case PayoutRefusal::kOverDailyLimit:
      return Fail(ErrorCode::kPayoutLimitExceeded,
                  "over the daily limit of " + Won(policy.daily_max_minor) + " (Asia/Seoul day): " +
                      Won(used) + " already held by today's transfers",
                  "amount");
  }
  return {};
}

Result<void> Relay::LoadPayoutDay(Instant now) {
  const auto today = SeoulDay(now);
  const Instant start = SeoulDayStart(today);
  TransferQuery q;
  q.limit = 500;
  for (;;) {
    auto page = store_.QueryTransfers(q);  // newest first
    if (!page) return std::unexpected(page.error());
    for (const Transfer& t : *page) {
      if (t.created_at < start) return {};
      if (t.status != TransferStatus::kRefused) payout_day_.Reserve(t.merchant, today, t.amount.minor());
    }
    if (static_cast<int>(page->size()) < q.limit) return {};
    q.before_id = page->back().id;
  }
}

Result<Outcome> Relay::Do(const Caller& caller, const SetPayoutPolicy& c, Instant now) {
  if (caller.role != Role::kAdmin) return Fail(ErrorCode::kForbidden, "pay-out limits are set with an admin key");
  if (!merchants_.contains(c.merchant)) return Fail(ErrorCode::kNotFound, "no such merchant");
  PayoutPolicy policy{c.merchant, c.per_transfer_max_minor, c.daily_max_minor, c.recipients, now};
  std::sort(policy.recipients.begin(), policy.recipients.end());
  policy.recipients.erase(std::unique(policy.recipients.begin(), policy.recipients.end()), policy.recipients.end());
  store_.PutPayoutPolicy(policy);
  payout_policies_.insert_or_assign(c.merchant, policy);
  return PayoutPolicyView{policy, true, SeoulDay(now), payout_day_.Used(c.merchant, SeoulDay(now))};
}

Result<Outcome> Relay::Do(const Caller& caller, const GetPayoutPolicy& c, Instant now) {
  const bool visible = caller.role == Role::kAdmin || (IsMerchantRole(caller.role) && caller.merchant == c.merchant);
  if (!visible || !merchants_.contains(c.merchant)) return Fail(ErrorCode::kNotFound, "no such merchant");
  PayoutPolicyView view{PolicyOf(c.merchant), payout_policies_.contains(c.merchant), SeoulDay(now), 0};
  view.policy.merchant = c.merchant;
  view.used_today_minor = payout_day_.Used(c.merchant, view.day);
  return view;
}

}  // namespace varelay
