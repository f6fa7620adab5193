// Checkpoints the embedded store's write-ahead log on a thread of its own, so the engine thread
// never copies pages into the database file while callers wait for their acknowledgement.
//
// The writer's connection runs with automatic checkpoints off and this object's hook installed:
// after each commit SQLite reports how many pages the log holds, and once that passes
// `wake_pages` the background thread is woken to run a PASSIVE checkpoint on its own connection
// (synchronous=FULL, so the log is synced before pages are copied and the database file after).
// A PASSIVE checkpoint never blocks the writer, but while the writer keeps committing it never
// catches up with the end of the log either, and a log that is never caught up is never started
// afresh: it grows, and every read walks a longer index. So once a background run has copied all
// the log held when it began, the writer's next commit copies the remainder (a few pages) itself,
// and the transaction after that starts the log from its beginning. Should the log still reach
// `hard_pages` (the background thread starved of CPU), the writer checkpoints itself, as SQLite
// would by default, so the log stays bounded. A reader still on old pages (a long query, the
// ledger audit) stops any checkpoint short of the log's end; after such a partial run the next
// waits until the log has grown by as much again (wake_pages; a quarter of hard_pages for the
// writer's), rather than running, with its two flushes, after every commit while the reader
// lasts, which slowed every flush of the command log behind it.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "domain/error.h"

namespace varelay {

struct WalCheckpointerOptions {
  int wake_pages = 4096;   // log pages after a commit that wake the background thread
  int hard_pages = 65536;  // log pages after a commit at which the writer checkpoints itself
  bool idle = false;       // the thread runs under SCHED_IDLE (see SqliteOptions::idle_checkpoints)
};

class WalCheckpointer {
 public:
  // Opens a second connection to `path` and installs the hook on `writer`, whose automatic
  // checkpoints it turns off.
  static Result<std::unique_ptr<WalCheckpointer>> Start(sqlite3* writer, const std::string& path,
                                                        WalCheckpointerOptions options = {});
  // Stops the thread and closes its connection. The writer's hook is removed first.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Checkpoints run so far by the background thread, and by the writer itself.
  std::uint64_t background_runs() const { return background_runs_.load(std::memory_order_relaxed); }
  std::uint64_t writer_runs() const { return writer_runs_.load(std::memory_order_relaxed); }

 private:
  WalCheckpointer(sqlite3* writer, sqlite3* own, WalCheckpointerOptions options);
  static int OnCommit(void* self, sqlite3* db, const char* schema, int pages);
  void Loop();

  sqlite3* writer_;
  sqlite3* own_;
  WalCheckpointerOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool due_ = false;
  bool stopping_ = false;
  std::atomic<bool> finish_{false};  // set by the thread: the writer copies the remainder
  // Log pages at which the next background run, and the writer's own, are due (each moves on
  // after a partial run; see above).
  std::atomic<int> wake_at_pages_;
  int hard_at_pages_;  // the writer's thread only
  std::atomic<std::uint64_t> background_runs_{0};
  std::atomic<std::uint64_t> writer_runs_{0};
  std::thread thread_;
};

}  // namespace varelay
