// The append-only, double-entry ledger. Balances are derived, never stored. Each entry carries
// the hash of the one before it, so an exported ledger can be checked for tampering.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/model.h"

namespace varelay {

struct LedgerLine {
  std::string account;  // "bank/004/clearing", "merchant/shop-1/collected", "suspense/004"
  std::int64_t debit_minor = 0;
  std::int64_t credit_minor = 0;
  friend bool operator==(const LedgerLine&, const LedgerLine&) = default;
};

// A division payment's entry (master -> division account -> merchant) names the payment (dvp_...)
// where a deposit's names the deposit; its refund is the mirror image, for the amount refunded.
enum class EntryKind { kDeposit, kReversal, kDivisionPayment, kDivisionRefund };
std::string_view EntryKindName(EntryKind kind);
// The kind a name stands for; an unknown name reads as kDeposit (the first kind ever written).
EntryKind ParseEntryKind(std::string_view name);

struct LedgerEntry {
  std::int64_t seq = 0;  // 1, 2, 3, ... with no gaps
  Instant at;
  EntryKind kind = EntryKind::kDeposit;
  std::string deposit_id;
  Currency currency = Currency::Krw();
  std::vector<LedgerLine> lines;
  std::string prev_hash;  // 64 hex; kGenesisHash for seq 1
  std::string hash;
};

inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

std::string ClearingAccount(std::string_view bank);
std::string CollectedAccount(std::string_view merchant);
std::string SuspenseAccount(std::string_view bank);
// Division payments' accounts: "master/<id>", "division/<id>".
std::string MasterAccount(std::string_view master);
std::string DivisionLedgerAccount(std::string_view account);
// Lines for a division payment of `amount_minor`: the master pays the division account, which pays
// the merchant (collected); a refund is their mirror image for what is refunded.
std::vector<LedgerLine> DivisionPaymentLines(std::string_view master, std::string_view account,
                                             std::string_view merchant, std::int64_t amount_minor);

// Lines for a booked deposit: debit the bank's clearing, credit the merchant for what matched and
// suspense for what was parked.
std::vector<LedgerLine> DepositLines(const Deposit& deposit);
// The mirror image of `lines`, for a cancellation.
std::vector<LedgerLine> ReversedLines(const std::vector<LedgerLine>& lines);

// Debits equal credits, every amount non-negative, at least two lines.
bool IsBalanced(const std::vector<LedgerLine>& lines);

// The hash of an entry over a canonical text of every field and the previous hash.
std::string ComputeEntryHash(const LedgerEntry& entry);

// Builds the next entry in the chain, hash included.
LedgerEntry ChainEntry(std::int64_t seq, const std::string& prev_hash, Instant at, EntryKind kind,
                       std::string deposit_id, Currency currency, std::vector<LedgerLine> lines);

// Walks entries in seq order; call Add for each, then read the verdict.
class ChainVerifier {
 public:
  // Returns false (and keeps the first failure) when this entry breaks the chain.
  bool Add(const LedgerEntry& entry);
  bool ok() const { return !first_bad_seq_; }
  std::int64_t entries() const { return entries_; }
  std::optional<std::int64_t> first_bad_seq() const { return first_bad_seq_; }
  const std::string& reason() const { return reason_; }
  const std::string& last_hash() const { return last_hash_; }

 private:
  std::int64_t entries_ = 0;
  std::int64_t expected_seq_ = 1;
  std::string last_hash_{kGenesisHash};
  std::optional<std::int64_t> first_bad_seq_;
  std::string reason_;
};

}  // namespace varelay
