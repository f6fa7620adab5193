// Division accounts: who may send which command. The masters, accounts, payments and approvals are
// the DivisionBook's (engine/division_book.h); the relay lends it what it owns (merchants,
// contracts, keys, endpoints, the ledger and the transfers) through DivisionHost.
#include <algorithm>

#include "domain/digest.h"
#include "engine/relay.h"

namespace varelay {
namespace {

// The relay itself (the API acting on a login, an enrolment or a payment page it checked).
bool RelayMay(const DivisionCommand& c) {
  return std::holds_alternative<EnrolMaster>(c) || std::holds_alternative<GetMasterLogin>(c) ||
         std::holds_alternative<CreateMasterSession>(c) || std::holds_alternative<GetDivisionPaymentPage>(c) ||
         std::holds_alternative<GetDivisionPaymentForAuthorization>(c) ||
         std::holds_alternative<AuthorizeDivisionPayment>(c);
}

bool MerchantMay(const DivisionCommand& c) {
  return std::holds_alternative<CreateDivisionPayment>(c) || std::holds_alternative<GetDivisionPayment>(c) ||
         std::holds_alternative<RefundDivisionPayment>(c) || std::holds_alternative<GetDivisionPaymentPage>(c) ||
         std::holds_alternative<GetDivisionPaymentForAuthorization>(c) ||
         std::holds_alternative<AuthorizeDivisionPayment>(c);
}

// Its own master, accounts, approvals and statements, and the payments made with its accounts.
bool MasterMay(const DivisionCommand& c) {
  return std::holds_alternative<GetDivisionPayment>(c) ||
         (!RelayMay(c) && !MerchantMay(c) && !std::holds_alternative<SetMerchantDivision>(c));
}

}  // namespace

Result<Outcome> Relay::Do(const Caller& caller, const DivisionCommand& c, Instant now) {
  if (const auto* set = std::get_if<SetMerchantDivision>(&c)) {
    if (caller.role != Role::kAdmin) return Fail(ErrorCode::kForbidden, "merchants' categories are set with an admin key");
    return SetDivision(*set);
  }
  DivisionActor actor;
  actor.key_id = caller.key_id;
  if (caller.role == Role::kAdmin && caller.key_id == kInternalCaller && RelayMay(c)) {
    actor.kind = DivisionActor::Kind::kRelay;
  } else if (caller.role == Role::kAdmin && std::holds_alternative<GetDivisionPayment>(c)) {
    actor.kind = DivisionActor::Kind::kAdmin;
  } else if (caller.role == Role::kMerchant && MerchantMay(c)) {
    actor.kind = DivisionActor::Kind::kMerchant;
    actor.id = caller.merchant;
  } else if (caller.role == Role::kMaster && MasterMay(c)) {
    actor.kind = DivisionActor::Kind::kMaster;
    actor.id = caller.master;
  } else {
    return Fail(ErrorCode::kForbidden, "this key may not do that with division accounts");
  }
  auto outcome = division_.Apply(actor, c, now);
  if (!outcome) return std::unexpected(outcome.error());
  return Outcome{std::move(*outcome)};
}

Result<Outcome> Relay::SetDivision(const SetMerchantDivision& c) {
  auto it = merchants_.find(c.merchant);
  if (it == merchants_.end()) return Fail(ErrorCode::kNotFound, "no such merchant");
  if (c.category) it->second.category = *c.category;
  if (c.division_direct) it->second.division_direct = *c.division_direct;
  store_.PutMerchantDivision(it->second);
  return Outcome{DivisionOutcome{it->second}};
}

// ---- DivisionHost ---------------------------------------------------------------------------

const Merchant* Relay::FindMerchant(const std::string& id) const {
  auto it = merchants_.find(id);
  return it == merchants_.end() ? nullptr : &it->second;
}

const Contract* Relay::MotherAccountOf(const std::string& merchant, const std::string& bank) const {
  if (auto it = contracts_.find({merchant, bank}); it != contracts_.end()) return &it->second;
  auto first = contracts_.lower_bound({merchant, ""});
  return first != contracts_.end() && first->first.first == merchant ? &first->second : nullptr;
}

void Relay::AppendLedgerEntry(Instant at, EntryKind kind, const std::string& reference, std::vector<LedgerLine> lines) {
  auto entry = ChainEntry(ledger_seq_ + 1, ledger_hash_, at, kind, reference, Currency::Krw(), std::move(lines));
  store_.AppendLedgerEntry(entry);
  ledger_seq_ = entry.seq;
  ledger_hash_ = std::move(entry.hash);
}

IssuedApiKey Relay::IssueMasterKey(const std::string& master, const std::string& label, std::optional<Instant> expires_at,
                                   std::string_view token_prefix, Instant now) {
  IssuedApiKey issued;
  ApiKey& key = issued.key;
  key.id = ids_.NewId("key_", 16);
  issued.token = std::string(token_prefix) + key.id.substr(4) + "_" + RandomSecret(40);
  key.secret_hash = Sha256Hex(issued.token);
  key.role = Role::kMaster;
  key.master = master;
  key.label = label;
  key.created_at = now;
  key.expires_at = expires_at;
  store_.PutApiKey(key);
  key_by_hash_[key.secret_hash] = key.id;
  keys_.emplace(key.id, key);
  if (expires_at) session_expiries_.emplace(*expires_at, key.id);
  return issued;
}

void Relay::RevokeKey(const std::string& key_id, Instant now) {
  auto it = keys_.find(key_id);
  if (it == keys_.end() || it->second.revoked_at) return;
  it->second.revoked_at = now;
  key_by_hash_.erase(it->second.secret_hash);
  store_.PutApiKey(it->second);
}

}  // namespace varelay
