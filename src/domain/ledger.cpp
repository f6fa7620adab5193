#include "domain/ledger.h"

#include "domain/assert.h"
#include "domain/digest.h"

namespace varelay {

std::string_view EntryKindName(EntryKind kind) {
  switch (kind) {
    case EntryKind::kDeposit: return "deposit";
    case EntryKind::kReversal: return "reversal";
    case EntryKind::kDivisionPayment: return "division_payment";
    case EntryKind::kDivisionRefund: return "division_refund";
  }
  return "deposit";
}

EntryKind ParseEntryKind(std::string_view name) {
  for (auto kind : {EntryKind::kReversal, EntryKind::kDivisionPayment, EntryKind::kDivisionRefund}) {
    if (EntryKindName(kind) == name) return kind;
  }
  return EntryKind::kDeposit;
}

std::string MasterAccount(std::string_view master) { return "master/" + std::string(master); }
std::string DivisionLedgerAccount(std::string_view account) { return "division/" + std::string(account); }

std::vector<LedgerLine> DivisionPaymentLines(std::string_view master, std::string_view account,
                                             std::string_view merchant, std::int64_t amount_minor) {
  // As a deposit's: the source debited, the destination credited.
  return {{MasterAccount(master), amount_minor, 0},
          {DivisionLedgerAccount(account), 0, amount_minor},
          {DivisionLedgerAccount(account), amount_minor, 0},
          {CollectedAccount(merchant), 0, amount_minor}};
}

std::string ClearingAccount(std::string_view bank) {
  return "bank/" + std::string(bank) + "/clearing";
}
std::string CollectedAccount(std::string_view merchant) {
  return "merchant/" + std::string(merchant) + "/collected";
}
std::string SuspenseAccount(std::string_view bank) {
  return "suspense/" + std::string(bank);
}

std::vector<LedgerLine> DepositLines(const Deposit& deposit) {
  VARELAY_INVARIANT(deposit.to_merchant_minor + deposit.parked_minor == deposit.amount.minor(),
                    "a deposit is split between merchant and suspense without remainder");
  std::vector<LedgerLine> lines;
  lines.push_back({ClearingAccount(deposit.bank), deposit.amount.minor(), 0});
  if (deposit.to_merchant_minor > 0) {
    lines.push_back({CollectedAccount(deposit.merchant), 0, deposit.to_merchant_minor});
  }
  if (deposit.parked_minor > 0) {
    lines.push_back({SuspenseAccount(deposit.bank), 0, deposit.parked_minor});
  }
  return lines;
}

std::vector<LedgerLine> ReversedLines(const std::vector<LedgerLine>& lines) {
  std::vector<LedgerLine> reversed;
  reversed.reserve(lines.size());
  for (const auto& line : lines) reversed.push_back({line.account, line.credit_minor, line.debit_minor});
  return reversed;
}

bool IsBalanced(const std::vector<LedgerLine>& lines) {
  if (lines.size() < 2) return false;
  std::int64_t debits = 0, credits = 0;
  for (const auto& line : lines) {
    if (line.debit_minor < 0 || line.credit_minor < 0) return false;
    if (line.debit_minor > kMaxAmountMinor || line.credit_minor > kMaxAmountMinor) return false;
    debits += line.debit_minor;
    credits += line.credit_minor;
  }
  return debits == credits && debits > 0;
}

std::string ComputeEntryHash(const LedgerEntry& entry) {
  std::string text = "varelay-ledger-v1|";
  text += std::to_string(entry.seq) + '|' + std::to_string(ToUnixMs(entry.at)) + '|';
  text += EntryKindName(entry.kind);
  text += '|' + entry.deposit_id + '|';
  text += entry.currency.code();
  for (const auto& line : entry.lines) {
    text += '|' + line.account + ':' + std::to_string(line.debit_minor) + ':' +
            std::to_string(line.credit_minor);
  }
  text += '|' + entry.prev_hash;
  return Sha256Hex(text);
}

LedgerEntry ChainEntry(std::int64_t seq, const std::string& prev_hash, Instant at, EntryKind kind,
                       std::string deposit_id, Currency currency, std::vector<LedgerLine> lines) {
  VARELAY_INVARIANT(IsBalanced(lines), "every ledger entry balances");
  LedgerEntry entry;
  entry.seq = seq;
  entry.at = at;
  entry.kind = kind;
  entry.deposit_id = std::move(deposit_id);
  entry.currency = currency;
  entry.lines = std::move(lines);
  entry.prev_hash = prev_hash;
  entry.hash = ComputeEntryHash(entry);
  return entry;
}

bool ChainVerifier::Add(const LedgerEntry& entry) {
  ++entries_;
  auto fail = [&](std::string why) {
    if (!first_bad_seq_) {
      first_bad_seq_ = entry.seq;
      reason_ = std::move(why);
    }
    return false;
  };
  bool good = true;
  if (entry.seq != expected_seq_) good = fail("sequence gap: expected " + std::to_string(expected_seq_));
  else if (!IsBalanced(entry.lines)) good = fail("debits do not equal credits");
  else if (entry.prev_hash != last_hash_) good = fail("previous hash does not match the chain");
  else if (ComputeEntryHash(entry) != entry.hash) good = fail("entry hash does not match its content");
  expected_seq_ = entry.seq + 1;
  last_hash_ = entry.hash;
  return good;
}

}  // namespace varelay
