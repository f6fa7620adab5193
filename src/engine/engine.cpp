#include "engine/engine.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "domain/assert.h"
#include "engine/snapshot_file.h"

namespace varelay {
namespace {

// Refusals that are the final word on a request, stored under its Idempotency-Key like a success.
// Anything else (bad input, a refusal of the caller, a transient state such as an exhausted pool
// or an inactive merchant) stores nothing, so a retry runs afresh.
bool IsFinalRefusal(const Error& error) {
  switch (error.code) {
    case ErrorCode::kNotFound:
    case ErrorCode::kOrderIdConflict:
    case ErrorCode::kTransactionIdConflict:
    case ErrorCode::kAssignmentNotCancellable:
    case ErrorCode::kNoContract:
    case ErrorCode::kUnknownBank:
    case ErrorCode::kUnknownMerchant:
    case ErrorCode::kBankExists:
    case ErrorCode::kMerchantExists:
    case ErrorCode::kContractExists:
      return true;
    default:
      return false;
  }
}

// Idempotency keys belong to the institution, so a retry through a rotated API key still replays,
// and one merchant never meets another's keys.
std::string IdempotencyScope(const Caller& caller) {
  switch (caller.role) {
    case Role::kMerchant:
    case Role::kMerchantPayouts: return "merchant/" + caller.merchant;
    case Role::kBank: return "bank/" + caller.bank;
    case Role::kAdmin: break;
    case Role::kNone: return "none";
    case Role::kMaster: return "master/" + caller.master;
  }
  return "operator";
}

template <std::size_t N>
void Observe(std::array<std::atomic<std::uint64_t>, N + 1>& buckets, const std::array<double, N>& bounds,
             double value) {
  std::size_t i = 0;
  while (i < N && value > bounds[i]) ++i;
  buckets[i].fetch_add(1, std::memory_order_relaxed);
}

// Commands answered from whole tables of the store (see Store::CommittedPosition): list pages,
// an event with its deliveries, the dispatcher's reload. None writes anything. (The ledger audit
// is not one: it compares the tables with the relay's head, so it runs first in a batch, below.)
bool ReadsTables(const Command& command) {
  if (const auto* division = std::get_if<DivisionCommand>(&command)) {
    return std::holds_alternative<ListMasterEvents>(*division);
  }
  return std::holds_alternative<FindDeposits>(command) ||
         std::holds_alternative<FindLedgerEntries>(command) ||
         std::holds_alternative<ListStatements>(command) ||
         std::holds_alternative<ListEvents>(command) || std::holds_alternative<GetEvent>(command) ||
         std::holds_alternative<ListTransfers>(command) ||
         std::holds_alternative<ListHolderInquiries>(command) ||
         std::holds_alternative<LoadPendingDeliveries>(command);
}

// Commands that create or revoke API keys: the key directory is published again after them.
bool ChangesKeys(const Command& command) {
  if (const auto* division = std::get_if<DivisionCommand>(&command)) {
    return std::holds_alternative<CreateMasterSession>(*division) ||
           std::holds_alternative<CreateMasterToken>(*division) ||
           std::holds_alternative<RevokeMasterSession>(*division);
  }
  return std::holds_alternative<CreateApiKey>(command) ||
         std::holds_alternative<RevokeApiKey>(command);
}

// The longest the engine thread sleeps without a timer due, so a clock moved by hand is noticed.
constexpr auto kMaxIdle = std::chrono::milliseconds(200);

}  // namespace

Engine::Engine(Store& store, const Clock& clock, EngineOptions options)
    : store_(store), clock_(clock), options_(options), relay_(std::in_place, store, options.relay) {}

Engine::~Engine() { Stop(); }

Result<RecoveryReport> Engine::Recover() {
  auto report = relay_->Recover(options_.snapshot_path, options_.running_snapshot_path);
  if (!report) return report;
  auto sound = relay_->CheckInvariants();
  if (!sound && (report->from_snapshot || report->from_running_snapshot)) {
    // The snapshot passed its checksum but not the checks: start again from the store alone (the
    // store no longer names a stop snapshot; a running one is removed).
    std::string reason = "its state breaks an invariant (" + sound.error().detail + ")";
    const bool running = report->from_running_snapshot;
    relay_.emplace(store_, options_.relay);
    report = relay_->Recover({}, {});
    if (!report) return report;
    (running ? report->running_snapshot_skipped : report->snapshot_skipped) = std::move(reason);
    if (!options_.running_snapshot_path.empty()) {
      if (auto removed = RemoveSnapshotFile(options_.running_snapshot_path); !removed) {
        return std::unexpected(removed.error());
      }
    }
    sound = relay_->CheckInvariants();
  }
  if (!sound) return std::unexpected(sound.error());
  // The log the store keeps: from the running snapshot read on; without one, nothing until the
  // next is written. That one is due at the first batch either way: a start that replayed much
  // of the log would otherwise let the next start replay that much and a whole interval more.
  store_.KeepLogAfter(report->from_running_snapshot ? report->running_snapshot_position
                                                    : store_.CommittedPosition());
  snapshot_due_ = true;
  logged_at_snapshot_ = store_.LoggedBytes();
  if (auto day = relay_->LoadPayoutDay(clock_.Now()); !day) return std::unexpected(day.error());
  PublishKeys();
  return report;
}

Result<SnapshotFigures> Engine::WriteSnapshot() {
  VARELAY_INVARIANT(!thread_.joinable(), "the snapshot is written after the engine thread stopped");
  if (options_.snapshot_path.empty()) return Fail(ErrorCode::kInternal, "no snapshot path is set");
  return relay_->WriteSnapshot(options_.snapshot_path);
}

Result<bool> Engine::EnsureAdminKey(const std::string& token) {
  store_.Begin();
  bool created = relay_->EnsureAdminKey(token, clock_.Now());
  if (auto r = store_.Commit(); !r) CommitFailed(r.error());
  if (auto r = store_.Sync(); !r) CommitFailed(r.error());
  PublishKeys();
  return created;
}

void Engine::HandOver(OutboxChanges outbox, std::vector<Transfer> transfers) {
  if (listener_ && !outbox.empty()) listener_->OnCommitted(std::move(outbox));
  if (transfer_listener_ && !transfers.empty()) transfer_listener_->OnPendingTransfers(std::move(transfers));
}

void Engine::Start() {
  HandOver(relay_->TakeOutbox(), relay_->TakeNewTransfers());  // recovered: durable already
  store_.SetAppliedListener([this](std::uint64_t applied) {
    {
      std::lock_guard lock(mutex_);
      applied_seen_ = applied;
    }
    wake_.notify_one();
  });
  syncer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "vr-syncer");
    SyncLoop();
  });
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "vr-engine");
    Loop();
  });
  if (options_.open_reader) {
    auditor_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "vr-audit");
      // An audit reads and hashes the whole ledger (seconds at a million entries): only on a
      // core no thread answering a request wants, so it never delays the engine's wake-up.
      sched_param none{};
      (void)::sched_setscheduler(0, SCHED_IDLE, &none);
      AuditLoop();
    });
  }
}

void Engine::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // A running snapshot still being written is given up (a stop writes its own): its copy of the
  // process ended with the engine thread (PR_SET_PDEATHSIG).
  if (snapshot_reaper_.joinable()) snapshot_reaper_.join();
  store_.SetAppliedListener({});  // the store outlives the engine
  // Everything applied is committed; the syncer flushes and answers the rest, then ends.
  {
    std::lock_guard lock(sync_mutex_);
    sync_stopping_ = true;
  }
  sync_wake_.notify_all();
  if (syncer_.joinable()) syncer_.join();
  // The audits handed over are answered before the auditor ends (the store is still open).
  {
    std::lock_guard lock(audit_mutex_);
    audit_stopping_ = true;
  }
  audit_wake_.notify_all();
  if (auditor_.joinable()) auditor_.join();
}

bool Engine::Submit(Submission submission) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= options_.queue_capacity) return false;
    queue_.push_back(std::move(submission));
    stats_.queue_depth.store(queue_.size(), std::memory_order_relaxed);
  }
  wake_.notify_one();
  return true;
}

bool Engine::IsStopping() {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void Engine::Loop() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      auto next = relay_->NextTimer();
      auto idle = kMaxIdle;
      if (next) {
        auto until = std::chrono::duration_cast<std::chrono::milliseconds>(*next - clock_.Now());
        idle = std::clamp(until, std::chrono::milliseconds(0), kMaxIdle);
      }
      // Queries put aside wait until the tables reach the first one's floor (not merely move:
      // a batch for nothing would still be flushed); at a stop they are still answered.
      const bool deferred = !deferred_.empty();
      wake_.wait_for(lock, idle, [&] {
        return (stopping_ && !deferred) || !queue_.empty() ||
               (deferred && applied_seen_ >= deferred_.front().floor);
      });
      if (stopping_ && queue_.empty() && !deferred) return;
    }
    {
      // At most kMaxUnsynced committed batches wait for the flush in progress; meanwhile new
      // requests gather into the next batch instead of each paying for a commit of its own.
      std::unique_lock lock(sync_mutex_);
      sync_room_.wait(lock, [&] { return unsynced_.size() < kMaxUnsynced; });
    }
    Committed committed = ApplyBatch();
    {
      std::lock_guard lock(sync_mutex_);
      unsynced_.push_back(std::move(committed));
    }
    sync_wake_.notify_one();
    MaybeStartRunningSnapshot();
  }
}

void Engine::MaybeStartRunningSnapshot() {
  if (options_.running_snapshot_path.empty() || !store_.KeepsLog()) return;
  if (snapshot_reaper_.joinable()) {  // one at a time
    if (!snapshot_done_.load(std::memory_order_acquire)) return;
    snapshot_reaper_.join();
  }
  const std::uint64_t logged = store_.LoggedBytes();
  const bool due = snapshot_due_ ? logged > logged_at_snapshot_
                                 : logged - logged_at_snapshot_ >= options_.running_snapshot_bytes;
  if (!due) return;
  // Whatever happens now, the next try waits for as much log again: a failure is not retried at
  // every batch.
  snapshot_due_ = false;
  logged_at_snapshot_ = logged;
  const std::uint64_t position = store_.CommittedPosition();
  const auto started = std::chrono::steady_clock::now();
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "varelayd: no running snapshot (cannot make a pipe: %s)\n",
                 std::strerror(errno));
    stats_.running_snapshot_failures.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // The copy shares every page with this process until one of them writes it: the state as it
  // stands between two batches, written out while this thread goes on with the next.
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child == 0) WriteRunningSnapshotAndExit(report[1], parent, position);
  ::close(report[1]);
  stats_.engine_paused_us_total.fetch_add(
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::steady_clock::now() - started)
                                     .count()),
      std::memory_order_relaxed);
  if (child < 0) {
    std::fprintf(stderr, "varelayd: no running snapshot (cannot fork: %s)\n", std::strerror(errno));
    ::close(report[0]);
    stats_.running_snapshot_failures.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  snapshot_done_.store(false, std::memory_order_relaxed);
  snapshot_reaper_ = std::thread([this, child, fd = report[0], position, started] {
    pthread_setname_np(pthread_self(), "vr-snapshot");
    ReapRunningSnapshot(child, fd, position, started);
  });
}

void Engine::WriteRunningSnapshotAndExit(int report_fd, pid_t parent, std::uint64_t position) {
  // Only this thread lives on in the copy, and any lock another thread held stays held: it
  // touches nothing but the relay's state and its own file (no store, no stdio), and ends with
  // _exit, running no destructor. The engine thread gone (a kill), it goes too.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(2);
  // A stop signal sent to the whole group ends it at once, not through varelayd's own handlers.
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) ::signal(sig, SIG_DFL);
  sigset_t none;
  ::sigemptyset(&none);
  ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
  // The listening socket, the connections and the store's files stay the parent's alone, so a
  // restart can bind the port while this copy still writes.
  if (report_fd > 3) ::close_range(3, static_cast<unsigned>(report_fd) - 1, 0);
  ::close_range(static_cast<unsigned>(report_fd) + 1, ~0U, 0);
  (void)::setpriority(PRIO_PROCESS, 0, 19);
  // The lowest best-effort I/O priority (class 2, level 7), where the scheduler honours one.
  (void)::syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (2 << 13) | 7);
  auto written = relay_->WriteRunningSnapshot(options_.running_snapshot_path, position);
  std::string said = written ? std::to_string(written->numbers) + " numbers and " +
                                   std::to_string(written->live_assignments) +
                                   " live assignments, " + std::to_string(written->bytes) + " bytes"
                             : written.error().detail;
  (void)!::write(report_fd, said.data(), said.size());
  ::_exit(written ? 0 : 1);
}

void Engine::ReapRunningSnapshot(pid_t child, int report_fd, std::uint64_t position,
                                 std::chrono::steady_clock::time_point started) {
  std::string said;
  char buffer[512];
  for (;;) {
    const ssize_t n = ::read(report_fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    said.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(report_fd);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    store_.KeepLogAfter(position);  // a start needs only the batches after it now
    stats_.running_snapshots.fetch_add(1, std::memory_order_relaxed);
    stats_.running_snapshot_position.store(position, std::memory_order_relaxed);
    std::fprintf(stdout, "varelayd: running snapshot at batch %llu written (%s) in %.2f s\n",
                 static_cast<unsigned long long>(position), said.c_str(), seconds);
    std::fflush(stdout);
  } else {
    stats_.running_snapshot_failures.fetch_add(1, std::memory_order_relaxed);
    if (!IsStopping()) {
      std::string why = !said.empty() ? said
                        : WIFSIGNALED(status)
                            ? "ended by signal " + std::to_string(WTERMSIG(status))
                            : "exited with " + std::to_string(WEXITSTATUS(status));
      std::fprintf(stderr, "varelayd: the running snapshot at batch %llu was not written: %s\n",
                   static_cast<unsigned long long>(position), why.c_str());
    }
  }
  snapshot_done_.store(true, std::memory_order_release);
}

void Engine::SyncLoop() {
  for (;;) {
    std::vector<Committed> round;
    {
      std::unique_lock lock(sync_mutex_);
      sync_wake_.wait(lock, [&] { return sync_stopping_ || !unsynced_.empty(); });
      if (unsynced_.empty()) return;  // stopping, and everything answered
      round.assign(std::make_move_iterator(unsynced_.begin()), std::make_move_iterator(unsynced_.end()));
      unsynced_.clear();
    }
    sync_room_.notify_one();
    // One flush for every batch committed before it began, then their answers, in batch order.
    if (auto r = store_.Sync(); !r) CommitFailed(r.error());
    for (auto& committed : round) Release(committed);
  }
}

std::size_t Engine::Step() {
  Committed committed = ApplyBatch();
  if (auto r = store_.Sync(); !r) CommitFailed(r.error());
  Release(committed);
  return committed.batch.size();
}

Engine::Committed Engine::ApplyBatch() {
  // Queries put aside whose tables have caught up go first (their floors are in order).
  std::vector<Deferred> resumed;
  if (!deferred_.empty()) {
    const std::uint64_t applied = store_.AppliedPosition();
    while (!deferred_.empty() && deferred_.front().floor <= applied) {
      resumed.push_back(std::move(deferred_.front()));
      deferred_.pop_front();
    }
  }
  std::vector<Submission> batch;
  {
    std::lock_guard lock(mutex_);
    std::size_t n = std::min(queue_.size(), options_.max_batch);
    batch.reserve(n + resumed.size());
    for (std::size_t i = 0; i < n; ++i) {
      // Without a reader of its own, the ledger audit compares the tables with the relay's head
      // on this thread, so nothing of this batch may come before it: it starts a batch of its own.
      if (i > 0 && !options_.open_reader && std::holds_alternative<VerifyLedger>(queue_.front().command)) {
        break;
      }
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    stats_.queue_depth.store(queue_.size(), std::memory_order_relaxed);
  }
  const Instant now = clock_.Now();
  store_.Begin();
  relay_->RunTimers(now);
  Committed committed;
  committed.results.reserve(resumed.size() + batch.size());
  committed.rendered.resize(resumed.size());
  std::vector<std::string> batch_keys;  // Idempotency-Keys first seen in this batch
  for (std::size_t i = 0; i < resumed.size(); ++i) {
    committed.results.emplace_back(Fail(ErrorCode::kInternal, "not applied"));
    ApplyDeferred(resumed[i], batch_keys, committed.results.back(), committed.rendered[i], now);
    committed.batch.push_back(std::move(resumed[i].submission));
  }
  bool keys_changed = false;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (store_.BatchBytes() >= options_.max_batch_bytes) {
      Requeue(batch, i);  // this batch is large enough: the rest go first into the next
      break;
    }
    Submission& submission = batch[i];
    keys_changed = keys_changed || ChangesKeys(submission.command);
    Result<Outcome> result = Fail(ErrorCode::kInternal, "not applied");
    std::optional<RenderedResponse> rendered;
    if (!ApplyOne(submission, batch_keys, result, rendered, now)) continue;  // put aside
    committed.results.push_back(std::move(result));
    committed.rendered.push_back(std::move(rendered));
    committed.batch.push_back(std::move(submission));
  }
  // Before anyone hears of the batch: a key it created is let through from its first use on.
  if (keys_changed) PublishKeys();
  committed.commit_started = std::chrono::steady_clock::now();
  if (auto r = store_.Commit(); !r) CommitFailed(r.error());
  committed.outbox = relay_->TakeOutbox();
  committed.transfers = relay_->TakeNewTransfers();
  for (Audit& audit : batch_audits_) audit.position = store_.CommittedPosition();
  committed.audits = std::exchange(batch_audits_, {});
  return committed;
}

void Engine::Requeue(std::vector<Submission>& batch, std::size_t from) {
  std::lock_guard lock(mutex_);
  queue_.insert(queue_.begin(), std::make_move_iterator(batch.begin() + static_cast<std::ptrdiff_t>(from)),
                std::make_move_iterator(batch.end()));
  batch.erase(batch.begin() + static_cast<std::ptrdiff_t>(from), batch.end());
  stats_.queue_depth.store(queue_.size(), std::memory_order_relaxed);
}

void Engine::Release(Committed& committed) {
  auto durable_us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - committed.commit_started).count();
  const auto& batch = committed.batch;
  stats_.batches.fetch_add(1, std::memory_order_relaxed);
  stats_.commands.fetch_add(batch.size(), std::memory_order_relaxed);
  stats_.commit_us_total.fetch_add(static_cast<std::uint64_t>(durable_us), std::memory_order_relaxed);
  Observe(stats_.commit_ms_buckets, EngineStats::kCommitBucketsMs, durable_us / 1000.0);
  if (!batch.empty()) Observe(stats_.batch_size_buckets, EngineStats::kBatchBuckets, double(batch.size()));

  // Only now, with the batch durable, does anyone hear back, and may webhooks go out.
  for (std::size_t i = 0; i < batch.size(); ++i) {
    batch[i].reply(std::move(committed.results[i]), std::move(committed.rendered[i]));
  }
  HandOver(std::move(committed.outbox), std::move(committed.transfers));
  if (!committed.audits.empty()) HandAudits(std::move(committed.audits));
}

void Engine::HandAudits(std::vector<Audit> audits) {
  if (!auditor_.joinable()) {  // stepped by a test: no auditor thread
    for (Audit& audit : audits) audit.submission.reply(RunAudit(audit), std::nullopt);
    return;
  }
  std::vector<Audit> refused;
  {
    std::lock_guard lock(audit_mutex_);
    for (Audit& audit : audits) {
      if (audits_.size() < kMaxAuditsWaiting) {
        audits_.push_back(std::move(audit));
      } else {
        refused.push_back(std::move(audit));
      }
    }
  }
  audit_wake_.notify_one();
  for (Audit& audit : refused) {
    audit.submission.reply(Fail(ErrorCode::kOverloaded, "ledger audits are running; retry shortly"), std::nullopt);
  }
}

void Engine::AuditLoop() {
  for (;;) {
    Audit audit;
    {
      std::unique_lock lock(audit_mutex_);
      audit_wake_.wait(lock, [&] { return audit_stopping_ || !audits_.empty(); });
      if (audits_.empty()) return;  // stopping, and every audit answered
      audit = std::move(audits_.front());
      audits_.pop_front();
    }
    audit.submission.reply(RunAudit(audit), std::nullopt);
  }
}

Result<Outcome> Engine::RunAudit(const Audit& audit) {
  if (!audit_reader_) {
    auto opened = options_.open_reader();
    if (!opened) return std::unexpected(opened.error());
    audit_reader_ = std::move(*opened);
  }
  store_.WaitForTables(audit.position);
  AuditPacing pacing;
  pacing.duty_percent = options_.audit_duty_percent;
  pacing.rest = [this](std::chrono::nanoseconds pause) {
    std::unique_lock lock(audit_mutex_);
    audit_wake_.wait_for(lock, pause, [&] { return audit_stopping_; });
  };
  auto verdict = AuditLedgerTo(*audit_reader_, audit.head, pacing);
  if (!verdict) return std::unexpected(verdict.error());
  return *verdict;
}

Result<Caller> Engine::Identify(const Submission& s, Instant now) {
  if (s.internal && s.internal_caller) {
    if (auto known = relay_->CheckCaller(*s.internal_caller); !known)
      return std::unexpected(known.error());
    return *s.internal_caller;
  }
  if (s.internal) {
    // The relay's own threads (the webhook dispatcher, the transfer executor): no key, and the
    // operator's reach, granted here and nowhere else.
    Caller caller;
    caller.key_id = kInternalCaller;
    caller.role = Role::kAdmin;
    return caller;
  }
  auto authenticated = relay_->Authenticate(s.bearer);
  if (!authenticated) return std::unexpected(authenticated.error());
  authenticated->channel = s.channel;
  if (auto signed_ok = relay_->CheckSignature(*authenticated, s.signature, now); !signed_ok) {
    return std::unexpected(signed_ok.error());
  }
  return authenticated;
}

void Engine::ApplyDeferred(Deferred& d, std::vector<std::string>& batch_keys, Result<Outcome>& result,
                           std::optional<RenderedResponse>& rendered, Instant now) {
  store_.SetReadFloor(d.floor);
  result = relay_->Apply(d.caller, d.submission.command, now);
  store_.SetReadFloor(0);
  if (d.idempotency_owner.empty()) return;
  std::string scope = d.idempotency_owner + '\n' + d.submission.idempotency->key;
  std::erase(deferred_keys_, scope);
  StoreIdempotent(d.submission, d.idempotency_owner, std::move(scope), batch_keys, result, rendered, now);
}

void Engine::StoreIdempotent(Submission& s, const std::string& owner, std::string scope,
                             std::vector<std::string>& batch_keys, Result<Outcome>& result,
                             std::optional<RenderedResponse>& rendered, Instant now) {
  if (!result && !IsFinalRefusal(result.error())) return;
  // Not an answer yet: the API layer asks the bank and comes back with the same key.
  if (result && std::holds_alternative<NeedsBankNumber>(*result)) return;
  rendered = s.render(result);
  store_.PutIdempotency({owner, s.idempotency->key, s.idempotency->fingerprint, rendered->status, rendered->body, now});
  batch_keys.push_back(std::move(scope));
}

bool Engine::ApplyOne(Submission& s, std::vector<std::string>& batch_keys, Result<Outcome>& result,
                      std::optional<RenderedResponse>& rendered, Instant now) {
  auto identified = Identify(s, now);
  if (!identified) {
    result = std::unexpected(identified.error());
    return true;
  }
  Caller& caller = *identified;
  if (options_.open_reader && std::holds_alternative<VerifyLedger>(s.command)) {
    // Answered by the auditor thread once this batch is durable and in the tables.
    auto head = relay_->LedgerHeadFor(caller);
    if (!head) {
      result = std::unexpected(head.error());
      return true;
    }
    batch_audits_.push_back(Audit{std::move(s), std::move(*head), 0});
    return false;
  }
  if (!s.idempotency) {
    if (ReadsTables(s.command)) {
      const std::uint64_t committed = store_.CommittedPosition();
      if (store_.AppliedPosition() < committed) {
        deferred_.push_back(Deferred{std::move(s), std::move(caller), committed, {}});
        store_.HurryApply();
        return false;
      }
    }
    result = relay_->Apply(caller, s.command, now);
    return true;
  }
  const auto& idem = *s.idempotency;
  const std::string owner = IdempotencyScope(caller);
  std::string scope = owner + '\n' + idem.key;
  if (std::find(batch_keys.begin(), batch_keys.end(), scope) != batch_keys.end() ||
      std::find(deferred_keys_.begin(), deferred_keys_.end(), scope) != deferred_keys_.end()) {
    result = Fail(ErrorCode::kIdempotencyInFlight, "a request with this Idempotency-Key is still in flight");
    return true;
  }
  auto stored = store_.FindIdempotency(owner, idem.key);
  if (!stored) {
    result = std::unexpected(stored.error());
    return true;
  }
  if (*stored) {
    if ((*stored)->fingerprint != idem.fingerprint) {
      result = Fail(ErrorCode::kIdempotencyKeyReused, "this Idempotency-Key was used with a different request");
      return true;
    }
    result = Fail(ErrorCode::kInternal, "replayed");  // the stored response stands in for it
    rendered = RenderedResponse{(*stored)->status, std::move((*stored)->body), true};
    return true;
  }
  if (std::holds_alternative<ResendEvent>(s.command)) {
    // A resend reads the event's deliveries from the tables: while they are behind, it is put
    // aside as a list query is (its key in flight meanwhile), not waited for here.
    const std::uint64_t committed = store_.CommittedPosition();
    if (store_.AppliedPosition() < committed) {
      deferred_keys_.push_back(std::move(scope));
      deferred_.push_back(Deferred{std::move(s), std::move(caller), committed, owner});
      store_.HurryApply();
      return false;
    }
  }
  result = relay_->Apply(caller, s.command, now);
  StoreIdempotent(s, owner, std::move(scope), batch_keys, result, rendered, now);
  return true;
}

void Engine::CommitFailed(const Error& error) {
  // The in-memory state is ahead of the disk and no caller in the batch has been answered.
  // Stopping here and recovering from the store on restart is the only safe continuation.
  std::fprintf(stderr, "varelayd: FATAL: durable commit failed, stopping: %s\n", error.detail.c_str());
  std::abort();
}

}  // namespace varelay
