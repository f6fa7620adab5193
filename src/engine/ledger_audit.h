// Checks a stored ledger: every entry balances, the hash chain is unbroken, and every deposit is
// posted exactly once (and reversed exactly once when cancelled). Used by the server's
// /v1/ledger/verify and by `varelay ledger verify` on a database file.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
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

// How an audit shares its thread's core with the work that answers requests. After each page of
// entries it rests (100 / duty_percent - 1) times as long as the page took, so at 25 it reads
// for a quarter of the time: a million entries take about four times as long (20 to 25 s rather
// than 5 to 6), and the requests that run beside it meet a busy core, a cold cache and a hot
// memory bus a quarter as often (docs/benchmarks.md, "Ledger audits during the load").
struct AuditPacing {
  int duty_percent = 100;  // 1..100; 100: no rest
  // Rests for `pause`; the engine's own waits here so that a stop cuts the rest short.
  std::function<void(std::chrono::nanoseconds pause)> rest;
};

// As above, against the relay's head at a batch the tables hold: the chain is read up to
// `head.seq` only (entries written since are not looked at) and must end with `head.hash`.
// Reads nothing but the store's tables (ReadLedger, CheckPostings), so it runs on a read
// connection of its own, on any thread, while the engine goes on.
Result<LedgerVerdict> AuditLedgerTo(Store& tables, const LedgerHead& head, const AuditPacing& pacing = {});

}  // namespace varelay
