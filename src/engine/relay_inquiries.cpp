// Account-holder inquiries: who may ask which bank. A holder's name is personal data banks guard,
// so only an active merchant may ask, only a bank it has a contract with; the rate limit and the
// record of every inquiry are the HolderInquiries' (engine/holder_inquiries.h).
#include "engine/relay.h"

namespace varelay {

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
  return inquiries_.Start(caller, c, BankRoute{bank.code, bank.protocol, bank.endpoint, bank.signing_secret},
                          ids_.NewTimeOrderedId("hiq_", ToUnixMs(now)), now);
}

Result<Outcome> Relay::Do(const Caller& caller, const FinishHolderInquiry& c, Instant now) {
  if (caller.role != Role::kAdmin) return Fail(ErrorCode::kForbidden, "inquiry outcomes are the relay's own");
  if (auto r = inquiries_.Finish(c, now); !r) return std::unexpected(r.error());
  return Recorded{};
}

Result<Outcome> Relay::Do(const Caller& caller, const ListHolderInquiries& c, Instant) {
  if (caller.role != Role::kAdmin) return Fail(ErrorCode::kForbidden, "holder inquiries are listed with an admin key");
  return inquiries_.List(c);
}

}  // namespace varelay
