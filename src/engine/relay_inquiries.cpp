// Account-holder inquiries: a merchant asks, through the relay, whose name an account at a bank is
// in (before a pay-out). A holder's name is personal data banks guard, so a merchant may ask only
// banks it has a contract with, only so often (domain/holder_inquiry.h), and every inquiry is kept
// for operators: recorded `asked` before the bank is asked, then with its outcome.
#include <algorithm>

#include "engine/relay.h"

namespace varelay {
namespace {

constexpr int kMaxInquiryPage = 500;

}  // namespace

Result<Outcome> Relay::Do(const Caller& caller, const StartHolderInquiry& c, Instant now) {
  if (!IsMerchantRole(caller.role)) return Fail(ErrorCode::kForbidden, "account-holder inquiries need a merchant key");
  // A deactivated merchant asks nothing, as it issues and pays out nothing (before the rate limit
  // and the record, so a refusal spends no token and keeps nothing).
  auto merchant = merchants_.find(caller.merchant);
  if (merchant == merchants_.end() || !merchant->second.active) {
    return Fail(ErrorCode::kForbidden, "merchant " + caller.merchant + " is not active");
  }
  auto it = banks_.find(c.bank);
  if (it == banks_.end()) return Fail(ErrorCode::kUnknownBank, "no bank " + c.bank, "bank_code");
  if (!contracts_.contains({caller.merchant, c.bank})) {
    return Fail(ErrorCode::kNoContract, "merchant " + caller.merchant + " has no contract with bank " + c.bank +
                                            ": holder inquiries go only to a merchant's own banks",
                "bank_code");
  }
  const Bank& bank = it->second;
  if (bank.endpoint.empty() || bank.protocol != BankProtocol::kTelegram) {
    return Fail(ErrorCode::kBankUnavailable, "the relay sends requests only to telegram banks with an endpoint; bank " +
                                                 c.bank + " is not one");
  }
  HolderInquiryTicket ticket;
  ticket.route = BankRoute{bank.code, bank.protocol, bank.endpoint, bank.signing_secret};
  if (open_inquiries_.size() >= options_.max_open_holder_inquiries) {
    return Fail(ErrorCode::kOverloaded, "too many account-holder inquiries are waiting for their banks; retry shortly");
  }
  if (auto wait = inquiry_limit_.Take(caller.merchant, now)) {
    ticket.retry_after = *wait;
    return ticket;  // a refusal of the caller: nothing recorded, nothing asked
  }
  HolderInquiryRecord record;
  record.id = ids_.NewTimeOrderedId("hiq_", ToUnixMs(now));
  record.merchant = caller.merchant;
  record.key_id = caller.key_id;
  record.bank = c.bank;
  record.account_masked = MaskAccount(c.account);
  record.asked_at = now;
  store_.PutHolderInquiry(record);
  ticket.inquiry_id = record.id;
  inquiry_expiries_.emplace(now + options_.holder_inquiry_expiry, record.id);
  open_inquiries_.emplace(record.id, std::move(record));
  return ticket;
}

Result<Outcome> Relay::Do(const Caller& caller, const FinishHolderInquiry& c, Instant now) {
  if (caller.role != Role::kAdmin) return Fail(ErrorCode::kForbidden, "inquiry outcomes are the relay's own");
  auto it = open_inquiries_.find(c.id);
  if (it == open_inquiries_.end()) return Fail(ErrorCode::kNotFound, "no open inquiry " + c.id);
  HolderInquiryRecord record = std::move(it->second);
  open_inquiries_.erase(it);
  record.outcome = c.outcome;
  record.answered_at = now;
  store_.PutHolderInquiry(record);
  return Recorded{};
}

// An outcome whose submission was refused (the relay overloaded or stopping) never comes, and
// nothing retries it: past the bank's timeout and a margin the inquiry is recorded `failed`, so
// neither the memory nor the operators' list waits for it for ever.
void Relay::ExpireHolderInquiries(Instant now) {
  while (!inquiry_expiries_.empty() && inquiry_expiries_.begin()->first <= now) {
    auto [at, id] = *inquiry_expiries_.begin();
    inquiry_expiries_.erase(inquiry_expiries_.begin());
    auto it = open_inquiries_.find(id);
    if (it == open_inquiries_.end()) continue;  // its outcome came in time
    HolderInquiryRecord record = std::move(it->second);
    open_inquiries_.erase(it);
    record.outcome = HolderInquiryOutcome::kFailed;
    record.answered_at = at;
    store_.PutHolderInquiry(record);
  }
}

Result<Outcome> Relay::Do(const Caller& caller, const ListHolderInquiries& c, Instant) {
  if (caller.role != Role::kAdmin) return Fail(ErrorCode::kForbidden, "holder inquiries are listed with an admin key");
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
