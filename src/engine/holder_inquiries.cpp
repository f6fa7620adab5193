#include "engine/holder_inquiries.h"

#include <algorithm>

namespace varelay {
namespace {

constexpr int kMaxInquiryPage = 500;

}  // namespace

Result<HolderInquiryTicket> HolderInquiries::Start(const Caller& caller, const StartHolderInquiry& c,
                                                   BankRoute route, std::string id, Instant now) {
  if (open_.size() >= options_.max_open) {
    return Fail(ErrorCode::kOverloaded, "too many account-holder inquiries are waiting for their banks; retry shortly");
  }
  HolderInquiryTicket ticket;
  ticket.route = std::move(route);
  if (auto wait = rate_.Take(caller.merchant, now)) {
    ticket.retry_after = *wait;
    return ticket;  // a refusal of the caller: nothing recorded, nothing asked
  }
  HolderInquiryRecord record;
  record.id = std::move(id);
  record.merchant = caller.merchant;
  record.key_id = caller.key_id;
  record.bank = c.bank;
  record.account_masked = MaskAccount(c.account);
  record.asked_at = now;
  store_.PutHolderInquiry(record);
  ticket.inquiry_id = record.id;
  expiries_.emplace(now + options_.expiry, record.id);
  open_.emplace(record.id, std::move(record));
  return ticket;
}

Result<void> HolderInquiries::Finish(const FinishHolderInquiry& c, Instant now) {
  auto it = open_.find(c.id);
  if (it == open_.end()) return Fail(ErrorCode::kNotFound, "no open inquiry " + c.id);
  HolderInquiryRecord record = std::move(it->second);
  open_.erase(it);
  record.outcome = c.outcome;
  record.answered_at = now;
  store_.PutHolderInquiry(record);
  return {};
}

// An outcome whose submission was refused (the relay overloaded or stopping) never comes, and
// nothing retries it: past the bank's timeout and a margin the inquiry is recorded `failed`, so
// neither the memory nor the operators' list waits for it for ever.
void HolderInquiries::Expire(Instant now) {
  while (!expiries_.empty() && expiries_.begin()->first <= now) {
    auto [at, id] = *expiries_.begin();
    expiries_.erase(expiries_.begin());
    auto it = open_.find(id);
    if (it == open_.end()) continue;  // its outcome came in time
    HolderInquiryRecord record = std::move(it->second);
    open_.erase(it);
    record.outcome = HolderInquiryOutcome::kFailed;
    record.answered_at = at;
    store_.PutHolderInquiry(record);
  }
}

std::optional<Instant> HolderInquiries::NextExpiry() const {
  if (expiries_.empty()) return std::nullopt;
  return expiries_.begin()->first;
}

Result<HolderInquiryPage> HolderInquiries::List(const ListHolderInquiries& c) {
  HolderInquiryQuery q = c.query;
  const int limit = std::clamp(q.limit, 1, kMaxInquiryPage);
  q.limit = limit + 1;  // one ahead: whether there is a next page
  auto rows = store_.QueryHolderInquiries(q);
  if (!rows) return std::unexpected(rows.error());
  HolderInquiryPage page{std::move(*rows), {}};
  if (static_cast<int>(page.items.size()) > limit) {
    page.items.pop_back();
    page.next_before = page.items.back().id;
  }
  return page;
}

}  // namespace varelay
