// The embedded store: one SQLite file in WAL mode. A commit writes the batch to the log; Sync
// flushes the log to the disk (synchronous=NORMAL plus an fdatasync of our own, which is what
// synchronous=FULL does inside every commit). Numbered migrations run when the file is opened.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace varelay {

enum class OpenMode { kReadWrite, kReadOnly };

struct SqliteOptions {
  // Write-ahead log pages after which a checkpoint runs on the store's own thread
  // (store/wal_checkpointer.h).
  int checkpoint_pages = 4096;
  // The checkpoint thread runs only on a core nothing else wants (SCHED_IDLE). For a store
  // written behind a command log: should it fall behind, the writer it leaves the work to is the
  // log's applier, not a thread anyone waits for.
  bool idle_checkpoints = false;
};

// Opens (creating when kReadWrite and absent) the database file at `path` and brings its schema
// up to date. Fails with kInternal and SQLite's message.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                               OpenMode mode = OpenMode::kReadWrite,
                                               SqliteOptions options = {});

// The schema version this build writes.
int SqliteSchemaVersion();

}  // namespace varelay
