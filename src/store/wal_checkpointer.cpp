#include "store/wal_checkpointer.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <memory>

namespace varelay {

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(sqlite3* writer,
                                                                const std::string& path,
                                                                WalCheckpointerOptions options) {
  sqlite3* own = nullptr;
  if (sqlite3_open_v2(path.c_str(), &own, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    std::string why = own ? sqlite3_errmsg(own) : "out of memory";
    sqlite3_close_v2(own);
    return Fail(ErrorCode::kInternal, "cannot open " + path + " for checkpoints: " + why);
  }
  // FULL: the log is synced before its pages are copied, and the database file after.
  if (sqlite3_exec(own, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr) != SQLITE_OK) {
    std::string why = sqlite3_errmsg(own);
    sqlite3_close_v2(own);
    return Fail(ErrorCode::kInternal, "cannot set up the checkpoint connection: " + why);
  }
  std::unique_ptr<WalCheckpointer> self(new WalCheckpointer(writer, own, options));
  sqlite3_wal_hook(writer, &WalCheckpointer::OnCommit, self.get());  // replaces wal_autocheckpoint
  self->thread_ = std::thread([raw = self.get()] {
    pthread_setname_np(pthread_self(), "vr-checkpoint");
    if (raw->options_.idle) {
      sched_param none{};
      (void)::sched_setscheduler(0, SCHED_IDLE, &none);  // this thread; never needs undoing
    }
    raw->Loop();
  });
  return self;
}

WalCheckpointer::WalCheckpointer(sqlite3* writer, sqlite3* own, WalCheckpointerOptions options)
    : writer_(writer),
      own_(own),
      options_(options),
      wake_at_pages_(options.wake_pages),
      hard_at_pages_(options.hard_pages) {}

WalCheckpointer::~WalCheckpointer() {
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  sqlite3_close_v2(own_);
}

int WalCheckpointer::OnCommit(void* raw, sqlite3* db, const char* schema, int pages) {
  auto* self = static_cast<WalCheckpointer*>(raw);
  if (self->finish_.exchange(false, std::memory_order_acq_rel)) {
    // The background thread copied what the log held when it began; copying the few pages
    // committed since lets the next transaction start the log afresh instead of growing it.
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    self->writer_runs_.fetch_add(1, std::memory_order_relaxed);
  } else if (pages >= self->hard_at_pages_) {
    // The background thread has fallen far behind: bound the log here, as SQLite's own hook would.
    int log_pages = 0;
    int copied_pages = 0;
    int rc = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, &log_pages, &copied_pages);
    self->writer_runs_.fetch_add(1, std::memory_order_relaxed);
    const bool whole = rc == SQLITE_OK && copied_pages == log_pages;
    self->hard_at_pages_ = whole ? self->options_.hard_pages
                                 : std::max(pages, log_pages) + std::max(1, self->options_.hard_pages / 4);
  } else if (pages >= self->wake_at_pages_.load(std::memory_order_relaxed)) {
    {
      std::lock_guard lock(self->mutex_);
      self->due_ = true;
    }
    self->wake_.notify_one();
  }
  return SQLITE_OK;
}

void WalCheckpointer::Loop() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return due_ || stopping_; });
      if (stopping_) return;
      due_ = false;
    }
    // SQLITE_BUSY (another checkpoint running) and a partial copy (a reader still on old pages)
    // are both fine: the next wake-up continues where this one stopped.
    int log_pages = 0;
    int copied_pages = 0;
    int rc = sqlite3_wal_checkpoint_v2(own_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_pages,
                                       &copied_pages);
    background_runs_.fetch_add(1, std::memory_order_relaxed);
    if (rc == SQLITE_OK && copied_pages == log_pages) {
      wake_at_pages_.store(options_.wake_pages, std::memory_order_relaxed);
      finish_.store(true, std::memory_order_release);
    } else {
      // A reader holds old pages (or another checkpoint ran): not again before as much more.
      wake_at_pages_.store(std::max(log_pages, 0) + options_.wake_pages, std::memory_order_relaxed);
    }
  }
}

}  // namespace varelay
