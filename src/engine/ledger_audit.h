// Checks a stored ledger: every entry balances, the hash chain is unbroken, and every deposit is
// posted exactly once (and reversed exactly once when cancelled). Used by the server's
// /v1/ledger/verify and by `varelay ledger verify` on a database file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/commands.h"
#include "store/store.h"

namespace varelay {

// The relay's ledger head at some batch: its last entry's seq and hash (0 and the genesis hash
// before the first).
struct LedgerHead {
  std::int64_t seq = 0;
  std::string hash;
};

// `expected_head`: the hash the chain must end with, when the caller knows it. Reads every entry.
Result<LedgerVerdict> AuditLedger(Store& store, const std::optional<std::string>& expected_head);

// As above, against the relay's head at a batch the tables hold: the chain is read up to
// `head.seq` only (entries written since are not looked at) and must end with `head.hash`.
// Reads nothing but the store's tables (ReadLedger, FindMispostedDeposits), so it runs on a read
// connection of its own, on any thread, while the engine goes on.
Result<LedgerVerdict> AuditLedgerTo(Store& tables, const LedgerHead& head);

}  // namespace varelay
