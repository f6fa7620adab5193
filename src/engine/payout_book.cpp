#include "engine/payout_book.h"

#include <algorithm>

namespace varelay {
namespace {

const PayoutPolicy kDefaultPolicy{};

std::string Won(std::int64_t minor) { return std::to_string(minor) + " won"; }

}  // namespace

void PayoutBook::OnPolicy(PayoutPolicy policy) {
  auto merchant = policy.merchant;
  policies_.insert_or_assign(std::move(merchant), std::move(policy));
}

const PayoutPolicy& PayoutBook::PolicyOf(const std::string& merchant) const {
  auto it = policies_.find(merchant);
  return it == policies_.end() ? kDefaultPolicy : it->second;
}

Result<void> PayoutBook::Check(const std::string& merchant, const CreateTransfer& c, Instant now) const {
  const PayoutPolicy& policy = PolicyOf(merchant);
  const std::int64_t used = day_.Used(merchant, SeoulDay(now));
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

Result<void> PayoutBook::LoadDay(Instant now) {
  const Instant start = SeoulDayStart(SeoulDay(now));
  TransferQuery q;
  q.limit = 500;
  for (;;) {
    auto page = store_.QueryTransfers(q);  // newest first
    if (!page) return std::unexpected(page.error());
    for (const Transfer& t : *page) {
      if (t.created_at < start) return {};
      // Division payments' transfers are the masters' money, not the merchant's pay-outs.
      if (t.status != TransferStatus::kRefused && t.purpose == TransferPurpose::kPayout) Reserve(t);
    }
    if (static_cast<int>(page->size()) < q.limit) return {};
    q.before_id = page->back().id;
  }
}

PayoutPolicyView PayoutBook::Set(const SetPayoutPolicy& c, Instant now) {
  PayoutPolicy policy{c.merchant, c.per_transfer_max_minor, c.daily_max_minor, c.recipients, now};
  std::sort(policy.recipients.begin(), policy.recipients.end());
  policy.recipients.erase(std::unique(policy.recipients.begin(), policy.recipients.end()), policy.recipients.end());
  store_.PutPayoutPolicy(policy);
  policies_.insert_or_assign(c.merchant, policy);
  return View(c.merchant, now);
}

PayoutPolicyView PayoutBook::View(const std::string& merchant, Instant now) const {
  PayoutPolicyView view{PolicyOf(merchant), policies_.contains(merchant), SeoulDay(now), 0};
  view.policy.merchant = merchant;
  view.used_today_minor = day_.Used(merchant, view.day);
  return view;
}

}  // namespace varelay
