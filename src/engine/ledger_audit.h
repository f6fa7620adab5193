// Checks a stored ledger: every entry balances, the hash chain is unbroken, and every deposit is
// posted exactly once (and reversed exactly once when cancelled). Used by the server's
// /v1/ledger/verify and by `varelay ledger verify` on a database file.
#pragma once

#include <optional>
#include <string>

#include "engine/commands.h"
#include "store/store.h"

namespace varelay {

// `expected_head`: the hash the chain must end with, when the caller knows it.
Result<LedgerVerdict> AuditLedger(Store& store, const std::optional<std::string>& expected_head);

}  // namespace varelay
