// Transfers: pay-outs from a merchant's mother account, sent to the bank by the transfer executor
// (src/banks/transfer_executor.h). The relay records each step before the executor acts on it, so
// a crash between sending a debit and hearing its answer leaves the transfer "in doubt", and the
// next attempt asks the bank what happened before it sends anything again.
#include <algorithm>

#include "domain/bank_channels.h"
#include "domain/identifiers.h"
#include "engine/relay.h"

namespace varelay {
namespace {

constexpr int kMaxTransferPage = 500;
// Unsettled transfers a merchant may have at once: each holds memory and a task in the executor
// until its bank answers, so a bank that never answers must not let them pile up without end.
constexpr std::int64_t kMaxPendingTransfersPerMerchant = 10'000;

}  // namespace

void Relay::OnPendingTransfer(Transfer transfer) {
  new_transfers_.push_back(transfer);
  ++pending_by_merchant_[transfer.merchant];
  pending_transfers_.emplace(transfer.id, std::move(transfer));
}

Result<Outcome> Relay::Do(const Caller& caller, const UpdateBank& c, Instant) {
  if (caller.role != Role::kAdmin) return Fail(ErrorCode::kForbidden, "this operation needs an admin key");
  auto it = banks_.find(c.code);
  if (it == banks_.end()) return Fail(ErrorCode::kNotFound, "no bank " + c.code);
  if (c.endpoint) {
    if (auto fits = CheckBankEndpoint(it->second.protocol, *c.endpoint); !fits) return std::unexpected(fits.error());
  }
  if (c.extra_channels && (*c.extra_channels & ~kAllChannels) != 0) {
    return Fail(ErrorCode::kInvalidField, "extra_channels names an unknown channel", "extra_channels");
  }
  if (c.name) it->second.name = *c.name;
  if (c.endpoint) it->second.endpoint = *c.endpoint;
  if (c.name || c.endpoint) store_.PutBank(it->second);
  if (c.extra_channels) {
    // Its own protocol is always allowed, so it is not kept among the extra ones.
    it->second.extra_channels = *c.extra_channels & ~ChannelBit(it->second.protocol);
    store_.PutBankChannels(it->second.code, it->second.extra_channels);
  }
  return it->second;
}

Result<Outcome> Relay::Do(const Caller& caller, const RouteToBank& c, Instant) {
  if (caller.role != Role::kAdmin) return Fail(ErrorCode::kForbidden, "the relay's own routes need an admin key");
  auto it = banks_.find(c.bank);
  if (it == banks_.end()) return Fail(ErrorCode::kUnknownBank, "no bank " + c.bank, "bank_code");
  const Bank& bank = it->second;
  // A JSON bank's base URL may come from varelayd's --json-bank instead of its endpoint: the caller
  // decides, and keeps a transfer pending when it has none.
  if (bank.protocol == BankProtocol::kIso20022 || (bank.protocol == BankProtocol::kTelegram && bank.endpoint.empty())) {
    return Fail(ErrorCode::kBankUnavailable, "the relay sends requests only to telegram banks with an endpoint and "
                                             "JSON banks; bank " + c.bank + " is not one");
  }
  return BankRoute{bank.code, bank.protocol, bank.endpoint, bank.signing_secret};
}

Result<Outcome> Relay::Do(const Caller& caller, const CreateTransfer& c, Instant now) {
  if (caller.role != Role::kMerchantPayouts) {
    return Fail(ErrorCode::kForbidden, "transfers are made with merchant_payouts keys, not checkout or other keys");
  }
  auto merchant = merchants_.find(caller.merchant);
  if (merchant == merchants_.end() || !merchant->second.active) {
    return Fail(ErrorCode::kForbidden, "merchant " + caller.merchant + " is not active");
  }
  auto bank = banks_.find(c.bank);
  if (bank == banks_.end()) return Fail(ErrorCode::kUnknownBank, "no bank " + c.bank, "bank");
  auto contract = contracts_.find({caller.merchant, c.bank});
  if (contract == contracts_.end()) {
    return Fail(ErrorCode::kNoContract, "no contract with bank " + c.bank + ": no mother account to pay from", "bank");
  }
  const BankProtocol protocol = bank->second.protocol;
  if (protocol == BankProtocol::kIso20022 || (protocol == BankProtocol::kTelegram && bank->second.endpoint.empty())) {
    return Fail(ErrorCode::kBankUnavailable,
                "bank " + c.bank + " takes no transfer requests from the relay (only telegram banks with an endpoint "
                                   "and JSON banks do)",
                "bank");
  }
  if (c.amount.currency() != Currency::Krw()) {
    return Fail(ErrorCode::kUnknownCurrency, "transfers are made in KRW", "currency");
  }
  if (auto amount = CheckPositiveAmount(c.amount.minor(), "amount"); !amount) return std::unexpected(amount.error());
  if (!IsBankCode(c.recipient_bank)) return Fail(ErrorCode::kInvalidField, "not a 3-digit bank code", "recipient.bank_code");
  if (!IsMotherAccountNumber(c.recipient_account)) {
    return Fail(ErrorCode::kInvalidField, "an account number is 6 to 20 digits", "recipient.account");
  }
  const std::string& debit = contract->second.mother_account;
  if (bank->second.protocol == BankProtocol::kTelegram &&
      (debit.size() > 16 || c.recipient_account.size() > 16)) {
    return Fail(ErrorCode::kInvalidField, "a telegram bank takes account numbers of at most 16 digits",
                debit.size() > 16 ? "bank" : "recipient.account");
  }

  if (pending_by_merchant_[caller.merchant] >= kMaxPendingTransfersPerMerchant) {
    return Fail(ErrorCode::kOverloaded, "merchant " + caller.merchant + " has " +
                                            std::to_string(kMaxPendingTransfersPerMerchant) +
                                            " transfers waiting for their banks; retry once some are settled");
  }
  if (auto allowed = payouts_.Check(caller.merchant, c, now); !allowed) return std::unexpected(allowed.error());

  Transfer draft;
  draft.merchant = caller.merchant;
  draft.bank = c.bank;
  draft.debit_account = debit;
  draft.amount = c.amount;
  draft.recipient_bank = c.recipient_bank;
  draft.recipient_account = c.recipient_account;
  draft.recipient_name = c.recipient_name;
  draft.memo = c.memo;
  auto t = OpenTransfer(std::move(draft), now);
  if (!t) return std::unexpected(t.error());
  payouts_.Reserve(*t);
  return TransferView{std::move(*t), true};
}

Result<Transfer> Relay::OpenTransfer(Transfer t, Instant now) {
  auto day = KstDay(now);
  auto last = store_.LastTransferSequence(t.bank, day);
  if (!last) return std::unexpected(last.error());
  if (*last >= kMaxTransferSequence) {
    return Fail(ErrorCode::kOverloaded, "bank " + t.bank + " has taken all of today's transfer sequence numbers");
  }
  t.id = ids_.NewTimeOrderedId("trf_", ToUnixMs(now));
  t.request_date = day;
  t.request_sequence = *last + 1;
  t.created_at = t.updated_at = t.next_attempt_at = now;
  store_.PutTransfer(t);
  pending_transfers_.emplace(t.id, t);
  ++pending_by_merchant_[t.merchant];
  new_transfers_.push_back(t);
  return t;
}

Result<Outcome> Relay::Do(const Caller& caller, const GetTransfer& c, Instant) {
  if (caller.role != Role::kAdmin && !IsMerchantRole(caller.role)) {
    return Fail(ErrorCode::kForbidden, "transfers are read with merchant or admin keys");
  }
  auto found = store_.FindTransfer(c.id);
  if (!found) return std::unexpected(found.error());
  if (!*found || (IsMerchantRole(caller.role) && (*found)->merchant != caller.merchant)) {
    return Fail(ErrorCode::kNotFound, "no transfer " + c.id);
  }
  return TransferView{std::move(**found), false};
}

Result<Outcome> Relay::Do(const Caller& caller, const ListTransfers& c, Instant) {
  if (caller.role != Role::kAdmin && !IsMerchantRole(caller.role)) {
    return Fail(ErrorCode::kForbidden, "transfers are read with merchant or admin keys");
  }
  TransferQuery query = c.query;
  if (IsMerchantRole(caller.role)) query.merchant = caller.merchant;
  query.limit = std::clamp(query.limit, 1, kMaxTransferPage);
  int asked = query.limit;
  query.limit = asked + 1;  // one more tells whether a next page exists
  auto rows = store_.QueryTransfers(query);
  if (!rows) return std::unexpected(rows.error());
  TransferPage page;
  page.items = std::move(*rows);
  if (static_cast<int>(page.items.size()) > asked) {
    page.items.resize(static_cast<std::size_t>(asked));
    page.next_before = page.items.back().id;
  }
  return page;
}

Result<Outcome> Relay::Do(const Caller& caller, const RecordTransfer& c, Instant now) {
  if (caller.key_id != kInternalCaller) return Fail(ErrorCode::kForbidden, "transfer reports come from the relay");
  auto it = pending_transfers_.find(c.id);
  // Already settled (a report that crossed another): nothing changes.
  if (it == pending_transfers_.end()) return Fail(ErrorCode::kNotFound, "no pending transfer " + c.id);
  Transfer& t = it->second;
  t.updated_at = now;
  switch (c.step) {
    case TransferStep::kSending:
      ++t.attempts;
      t.in_doubt = true;
      break;
    case TransferStep::kNotReceived:
      t.in_doubt = false;
      t.last_error = "the bank has no record of the last attempt";
      t.next_attempt_at = now;
      break;
    case TransferStep::kRetryLater:
      t.last_error = c.error;
      t.next_attempt_at = c.retry_at;
      break;
    case TransferStep::kCompleted:
    case TransferStep::kRefused: {
      bool done = c.step == TransferStep::kCompleted;
      t.status = done ? TransferStatus::kCompleted : TransferStatus::kRefused;
      t.in_doubt = false;
      t.response_code = c.response_code;
      t.bank_reference = c.bank_reference;
      t.last_error = done ? std::string{} : c.error;
      t.finished_at = now;
      store_.PutTransfer(t);
      Transfer settled = std::move(t);
      pending_transfers_.erase(it);
      --pending_by_merchant_[settled.merchant];
      if (settled.purpose != TransferPurpose::kPayout) {
        // A division payment's debit or refund: its own events and ledger, no pay-out limits.
        division_.OnTransferSettled(settled, now);
        return TransferView{std::move(settled), false};
      }
      EmitTransfer(done ? EventType::kTransferCompleted : EventType::kTransferRefused, settled, now);
      if (!done) payouts_.Release(settled);
      return TransferView{std::move(settled), false};
    }
  }
  store_.PutTransfer(t);
  return TransferView{t, false};
}

}  // namespace varelay
