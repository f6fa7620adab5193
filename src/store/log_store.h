// The command-log store: SQLite's tables written behind an append-only log.
//
// A batch's writes are recorded as bytes (store/log_records.h) and appended to a log file at
// Commit; Sync flushes that file, and only then does anyone hear of the batch. A thread of the
// store's own applies the logged batches to the SQLite tables, all that have gathered in one
// transaction, so the acknowledgement path writes one short sequential record per batch instead
// of every row's B-tree pages. Look-ups see the batches not yet applied through in-memory
// overlays of the rows they wrote; list queries wait until the tables hold every committed
// batch. At open, the batches the tables lack are applied from the log before anything is read.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "store/sqlite_store.h"
#include "store/store.h"

namespace varelay {

struct LogStoreOptions {
  std::string dir;                            // the log's segment files (created when absent)
  std::uint64_t segment_bytes = 16ULL << 20;  // a segment file's size, zeroed ahead of use
  std::uint64_t max_unapplied_bytes = 128ULL << 20;  // a Commit waits while more is not applied
  // While less than this waits to be applied, the applier gathers batches for up to
  // `gather` before it starts a transaction (unless a reader waits for the tables).
  std::uint64_t gather_bytes = 1ULL << 20;
  std::chrono::milliseconds gather{10};
  int apply_nice = 10;  // the applying thread's nice value while it runs as an ordinary thread
  // While the tables are less than this behind, the applier runs under SCHED_IDLE: only on a core
  // no thread answering a request wants. Once a commit finds them this far behind it becomes an
  // ordinary thread (at `apply_nice`) until they are within a quarter of it. 0: never idle; nor
  // where the process could not make it ordinary again (CanLeaveIdle).
  std::uint64_t idle_below_bytes = 8ULL << 20;
  // Keep the batches a running snapshot needs (Store::KeepsLog): segments are deleted only up to
  // the position KeepLogAfter names, and kept through a stop and the next open, up to
  // `max_kept_bytes` of them (then the oldest go all the same).
  bool keep_for_snapshot = false;
  std::uint64_t max_kept_bytes = 1ULL << 30;
};

// Whether a thread of this process at nice `nice` may leave SCHED_IDLE again (root, or
// CAP_SYS_NICE, or a high enough RLIMIT_NICE). Found by trying, on a thread of its own.
bool CanLeaveIdle(int nice);

// Opens the SQLite database at `db_path` (created when absent, its schema brought up to date),
// applies every batch in the log folder that its tables lack, starts a new log segment (the old
// ones are deleted, or with keep_for_snapshot kept) and the applying thread. Fails with kInternal
// when the log is damaged anywhere but at its very end (a batch cut short by a crash was never
// acknowledged and is dropped).
Result<std::unique_ptr<Store>> OpenLogStore(const std::string& db_path, LogStoreOptions options,
                                            SqliteOptions sqlite = {});

// How many batches the log in `dir` holds after `position` (a store's LogPosition), read without
// applying them: for tools that read the tables while the log may hold more. 0 when there is no
// log folder.
Result<std::uint64_t> CountLoggedBatches(const std::string& dir, std::uint64_t position);

// Hands `each` the number and the records (log_records.h) of every batch the log in `dir` holds
// after `position`, in order, without applying them; stops at the first failure `each` returns.
// Nothing when there is no log folder. Fails as the replay at open would on a damaged log.
Result<void> ForEachLoggedBatch(
    const std::string& dir, std::uint64_t position,
    const std::function<Result<void>(std::uint64_t batch, std::string_view records)>& each);

}  // namespace varelay
