// The single writer. I/O threads Submit requests; the engine thread takes up to max_batch of them,
// applies them in order to the relay's state and commits the batch to the store in one
// transaction (group commit). A second thread, the syncer, flushes the store (one fsync for every
// batch committed since its last) and only then replies to every caller of those batches and hands
// their webhooks and transfers on, in batch order. So the engine applies the next batch while the
// disk flushes the last one, and nobody hears of a change before it is durable.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/clock.h"
#include "engine/commands.h"
#include "engine/key_directory.h"
#include "engine/ledger_audit.h"
#include "engine/relay.h"

namespace varelay {

struct EngineOptions {
  RelayOptions relay;
  std::size_t max_batch = 1024;        // commands per durable commit
  // A batch ends early once its writes come to this many bytes in the store's log
  // (Store::BatchBytes); the commands left wait for the next. A batch is then at most this plus
  // one command's writes (a 4 MiB camt message's XML and its statements, say), far below the
  // log's frame limit, however large the commands queued together.
  std::uint64_t max_batch_bytes = 64ULL << 20;
  std::size_t queue_capacity = 65536;  // beyond this, Submit refuses (the API answers 503)
  std::string snapshot_path;           // the stop snapshot's file; empty: none
  // The running snapshot's file (Relay::WriteRunningSnapshot); empty: none. Over a store that
  // KeepsLog, a copy of the process (fork) writes one between batches once the log has grown by
  // `running_snapshot_bytes` since the last, and at the first batch after a start, while the
  // engine goes on. A start after a kill then reads it and the log after it.
  std::string running_snapshot_path;
  std::uint64_t running_snapshot_bytes = 256ULL << 20;
  // Opens a read-only connection to the store's tables. With one, the ledger audit
  // (VerifyLedger) runs on a thread of the engine's own (vr-audit) on that connection, once the
  // batch it came in is durable and in the tables, so reading a long ledger never stalls the
  // writer; at most kMaxAuditsWaiting wait for it (beyond, kOverloaded). Without one, the audit
  // runs on the engine thread as a batch of its own.
  std::function<Result<std::unique_ptr<Store>>()> open_reader;
  // The share of its time the audit thread reads, 1..100 (AuditPacing): below 100 it rests
  // between pages, so an audit takes longer and the requests beside it are delayed less.
  int audit_duty_percent = 25;
};

// Figures the engine keeps for /metrics. Updated by the engine thread, read by anyone.
struct EngineStats {
  static constexpr std::array<double, 8> kCommitBucketsMs = {0.25, 0.5, 1, 2, 5, 10, 50, 250};
  static constexpr std::array<double, 8> kBatchBuckets = {1, 2, 4, 16, 64, 256, 1024, 4096};
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> commands{0};
  std::array<std::atomic<std::uint64_t>, 9> commit_ms_buckets{};  // last is +Inf
  std::atomic<std::uint64_t> commit_us_total{0};
  std::array<std::atomic<std::uint64_t>, 9> batch_size_buckets{};
  std::atomic<std::uint64_t> queue_depth{0};
  std::atomic<std::uint64_t> running_snapshots{0};          // written
  std::atomic<std::uint64_t> running_snapshot_failures{0};  // begun and not written
  std::atomic<std::uint64_t> running_snapshot_position{0};  // the last one written is at this batch
  std::atomic<std::uint64_t> engine_paused_us_total{0};  // the engine's pause to begin them (fork)
};

class Engine {
 public:
  Engine(Store& store, const Clock& clock, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Loads the live state (from the stop snapshot when there is a valid one). Fails when the store
  // cannot be read or its state breaks an invariant.
  Result<RecoveryReport> Recover();
  // After Stop: writes the stop snapshot, so the next start need not read every number from the
  // store. Fails without a snapshot path.
  Result<SnapshotFigures> WriteSnapshot();
  // Creates a bootstrap admin key for `token` when no active admin key exists (durably).
  Result<bool> EnsureAdminKey(const std::string& token);

  // Where committed outbox changes go (the webhook dispatcher). Set before Start; without one
  // they are dropped. Start hands it everything pending from before the restart.
  void SetOutboxListener(OutboxListener* listener) { listener_ = listener; }
  // Where transfers go once durably pending (the transfer executor). Set before Start, which
  // hands it every transfer pending from before the restart.
  void SetTransferListener(TransferListener* listener) { transfer_listener_ = listener; }

  // Starts the engine thread.
  void Start();
  // Stops taking submissions, applies everything already queued, and joins the thread.
  void Stop();

  // Queues a request; false when the queue is full or the engine is stopping (nothing queued,
  // and the submission's reply is never called).
  bool Submit(Submission submission);
  bool IsStopping();

  // Applies, commits and flushes one batch on the calling thread, then answers it: what the two
  // threads do together. For tests that drive the engine without its threads. Returns the number
  // of commands applied.
  std::size_t Step();

  const EngineStats& stats() const { return stats_; }
  // The active API keys, for the I/O threads' check before a body is read; kept current from
  // Recover on (a key created or revoked is in it before the batch that did so is answered).
  const KeyDirectory& keys() const { return keys_; }
  const Relay& relay() const { return *relay_; }

 private:
  // A ledger audit for the auditor thread: the relay's head when it came, to be found in the
  // tables once they hold `position`, the batch it came in.
  struct Audit {
    Submission submission;
    LedgerHead head;
    std::uint64_t position = 0;
  };
  static constexpr std::size_t kMaxAuditsWaiting = 16;
  // A batch applied and committed, waiting for the flush that makes it durable.
  struct Committed {
    std::vector<Submission> batch;
    std::vector<Result<Outcome>> results;
    std::vector<std::optional<RenderedResponse>> rendered;
    OutboxChanges outbox;
    std::vector<Transfer> transfers;
    std::vector<Audit> audits;  // answered by the auditor thread
    std::chrono::steady_clock::time_point commit_started;
  };
  static constexpr std::size_t kMaxUnsynced = 1;  // committed batches waiting for a flush, at most

  void Loop();
  void SyncLoop();
  // Takes up to max_batch submissions, applies them (and due timers) and commits; engine thread.
  Committed ApplyBatch();
  // Puts batch[from...] back at the front of the queue, in order (engine thread).
  void Requeue(std::vector<Submission>& batch, std::size_t from);
  // After the flush: the batch's answers, webhooks and transfers, and its figures.
  void Release(Committed& committed);
  // Returns false when the submission is a query put aside until the tables catch up (deferred_).
  bool ApplyOne(Submission& submission, std::vector<std::string>& batch_keys,
                Result<Outcome>& result, std::optional<RenderedResponse>& rendered, Instant now);
  // The caller a submission acts as: its key (and signature) checked, or the relay's own.
  Result<Caller> Identify(const Submission& submission, Instant now);
  // A query answered from the tables once they hold every batch committed before it came: put
  // aside, so the engine goes on with other work meanwhile instead of waiting on the store.
  struct Deferred {
    Submission submission;
    Caller caller;
    std::uint64_t floor = 0;  // the store's CommittedPosition when it came
    std::string idempotency_owner;  // a command with an Idempotency-Key: whose key it is
  };
  // Runs a query put aside: as ApplyOne, for the caller identified when it came.
  void ApplyDeferred(Deferred& deferred, std::vector<std::string>& batch_keys, Result<Outcome>& result,
                     std::optional<RenderedResponse>& rendered, Instant now);
  // Stores a command's response under its Idempotency-Key, in the batch that made the change.
  void StoreIdempotent(Submission& s, const std::string& owner, std::string scope,
                       std::vector<std::string>& batch_keys, Result<Outcome>& result,
                       std::optional<RenderedResponse>& rendered, Instant now);
  // Hands a durable batch's audits to the auditor thread (runs them here when it is not running).
  void HandAudits(std::vector<Audit> audits);
  void AuditLoop();
  // Waits for the tables to hold the audit's batch, then audits them on the reader connection.
  Result<Outcome> RunAudit(const Audit& audit);
  [[noreturn]] void CommitFailed(const Error& error);
  // Between batches, on the engine thread: begins a running snapshot when one is due.
  void MaybeStartRunningSnapshot();
  // In the forked copy: writes the running snapshot at `position`, reports on `report_fd`, exits.
  [[noreturn]] void WriteRunningSnapshotAndExit(int report_fd, pid_t parent,
                                                std::uint64_t position);
  // Waits for the copy, then lets the store drop the log before `position` (reaper thread).
  void ReapRunningSnapshot(pid_t child, int report_fd, std::uint64_t position,
                           std::chrono::steady_clock::time_point started);

  Store& store_;
  const Clock& clock_;
  EngineOptions options_;
  std::optional<Relay> relay_;  // replaced only when a snapshot proves unsound at start-up
  EngineStats stats_;
  KeyDirectory keys_;
  void PublishKeys() { keys_.Publish(relay_->ActiveKeyRoles()); }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Submission> queue_;
  bool stopping_ = false;
  std::uint64_t applied_seen_ = 0;  // the store's AppliedPosition, as its listener last said
  // Engine thread only: queries waiting for the tables, floors in order. Each waits one round of
  // the store's applier; how many there are is bounded by the requests in flight (the HTTP
  // server's connection limit), not by queue_capacity.
  std::deque<Deferred> deferred_;
  std::vector<std::string> deferred_keys_;  // the Idempotency-Keys (scopes) of those put aside
  std::vector<Audit> batch_audits_;  // engine thread: audits of the batch being applied

  // The auditor thread and its queue (at most kMaxAuditsWaiting); the reader is its own.
  std::unique_ptr<Store> audit_reader_;
  std::mutex audit_mutex_;
  std::condition_variable audit_wake_;
  std::deque<Audit> audits_;
  bool audit_stopping_ = false;
  std::thread auditor_;
  std::thread thread_;
  OutboxListener* listener_ = nullptr;
  TransferListener* transfer_listener_ = nullptr;
  // Hands both listeners what a durable batch (or the recovery) produced.
  void HandOver(OutboxChanges outbox, std::vector<Transfer> transfers);

  // The running snapshot: the engine thread's, but for snapshot_done_ (set by the reaper).
  bool snapshot_due_ = false;  // none taken since the start: take one at the next batch
  std::uint64_t logged_at_snapshot_ = 0;  // the store's LoggedBytes when the last one began
  std::atomic<bool> snapshot_done_{false};
  std::thread snapshot_reaper_;

  std::mutex sync_mutex_;
  std::condition_variable sync_wake_;  // a batch to flush, or stopping
  std::condition_variable sync_room_;  // room in unsynced_
  std::deque<Committed> unsynced_;
  bool sync_stopping_ = false;
  std::thread syncer_;
};

}  // namespace varelay
