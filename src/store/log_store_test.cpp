#include "store/log_store.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "store/sqlite_store.h"

namespace varelay {
namespace {

using namespace std::chrono_literals;

std::string Padded(const char* prefix, int i) {
  char text[32];
  std::snprintf(text, sizeof text, "%s%020d", prefix, i);
  return text;
}

Assignment MakeAssignment(int i) {
  Assignment a;
  a.id = Padded("asg_", i);
  a.merchant = "shop";
  a.order_id = "order-" + std::to_string(i);
  a.bank = "004";
  a.region = "seoul";
  a.number = std::to_string(10'000'000 + i);
  a.generation = 1;
  a.amount = Money{15'000, Currency::Krw()};
  a.created_at = FromUnixMs(1'000'000 + i);
  a.due_at = FromUnixMs(2'000'000 + i);
  a.request_fingerprint = "fp";
  return a;
}

Deposit MakeDeposit(int i) {
  Deposit d;
  d.id = Padded("dep_", i);
  d.bank = "004";
  d.transaction_id = "tx-" + std::to_string(i);
  d.number = std::to_string(10'000'000 + i);
  d.generation = 1;
  d.assignment_id = Padded("asg_", i);
  d.order_id = "order-" + std::to_string(i);
  d.merchant = "shop";
  d.amount = Money{15'000, Currency::Krw()};
  d.deposited_at = FromUnixMs(3'000'000 + i);
  d.received_at = FromUnixMs(3'000'000 + i);
  d.outcome = DepositOutcome::kMatched;
  d.to_merchant_minor = 15'000;
  d.notice_fingerprint = "nfp";
  return d;
}

class LogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("varelay-log-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    db_ = (dir_ / "varelay.db").string();
    options_.dir = (dir_ / "log").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The applier only runs when a reader waits for it or the store closes.
  LogStoreOptions Lazy() const {
    LogStoreOptions lazy = options_;
    lazy.gather = 1h;
    lazy.gather_bytes = ~0ULL;
    return lazy;
  }

  std::unique_ptr<Store> Open(const LogStoreOptions& options) {
    auto store = OpenLogStore(db_, options);
    EXPECT_TRUE(store) << store.error().detail;
    return store ? std::move(*store) : nullptr;
  }

  // What the tables hold, read past the log.
  std::unique_ptr<Store> Tables() {
    auto store = OpenSqliteStore(db_, OpenMode::kReadOnly);
    EXPECT_TRUE(store) << store.error().detail;
    return std::move(*store);
  }

  std::vector<std::filesystem::path> Segments() const {
    std::vector<std::filesystem::path> found;
    for (const auto& e : std::filesystem::directory_iterator(options_.dir)) {
      if (e.path().extension() == ".log") found.push_back(e.path());
    }
    std::sort(found.begin(), found.end());
    return found;
  }

  // Commits `batches` batches of one assignment each in a child process with `options`, flushes
  // them, and has the child die without closing anything (as a kill would).
  void CommitInAChildThatDies(int batches, const LogStoreOptions& options) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto store = OpenLogStore(db_, options);
      if (!store) _exit(10);
      for (int i = 1; i <= batches; ++i) {
        (*store)->Begin();
        (*store)->PutAssignment(MakeAssignment(i));
        if (!(*store)->Commit()) _exit(11);
      }
      if (!(*store)->Sync()) _exit(12);
      _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
  }

  std::filesystem::path dir_;
  std::string db_;
  LogStoreOptions options_;
};

// Proves every look-up the engine makes finds the rows of batches the tables do not hold yet, and
// that a list query waits until they do.
TEST_F(LogStoreTest, LookUpsSeeBatchesTheTablesDoNotHoldYet) {
  auto store = Open(Lazy());
  Deposit d = MakeDeposit(1);
  d.status = DepositStatus::kCancelled;
  d.cancel_transaction_id = "cancel-1";
  Event e;
  e.seq = 1;
  e.id = Padded("evt_", 1);
  e.merchant = "shop";
  e.payload = "{}";
  Transfer t;
  t.id = Padded("trf_", 1);
  t.merchant = "shop";
  t.bank = "004";
  t.request_date = std::chrono::year_month_day{std::chrono::year{2026}, std::chrono::month{11},
                                               std::chrono::day{26}};
  t.request_sequence = 7;
  BankStatement s;
  s.bank = "004";
  s.message_id = "msg";
  s.statement_id = "stmt";
  store->Begin();
  store->PutAssignment(MakeAssignment(1));
  store->PutDeposit(d);
  store->PutIdempotency({"merchant/shop", "key-1", "fp", 201, "{\"ok\":true}", FromUnixMs(5)});
  store->AppendEvent(e);
  store->PutTransfer(t);
  store->PutStatement(s, "<xml/>");
  ASSERT_TRUE(store->Commit());
  ASSERT_TRUE(store->Sync());

  EXPECT_FALSE(Tables()->FindAssignment(MakeAssignment(1).id).value());  // not applied yet
  store->Begin();
  EXPECT_EQ(store->FindAssignment(MakeAssignment(1).id).value()->order_id, "order-1");
  EXPECT_EQ(store->FindAssignmentByOrder("shop", "order-1").value()->id, MakeAssignment(1).id);
  EXPECT_FALSE(store->FindAssignmentByOrder("shop", "order-2").value());
  EXPECT_EQ(store->FindDeposit("004", "tx-1").value()->id, d.id);
  EXPECT_EQ(store->FindDepositByCancellation("004", "cancel-1").value()->id, d.id);
  EXPECT_FALSE(store->FindDeposit("005", "tx-1").value());
  EXPECT_EQ(store->FindIdempotency("merchant/shop", "key-1").value()->body, "{\"ok\":true}");
  EXPECT_EQ(store->FindEvent(e.id).value()->payload, "{}");
  EXPECT_EQ(store->FindTransfer(t.id).value()->request_sequence, 7u);
  EXPECT_EQ(store->LastTransferSequence("004", t.request_date).value(), 7u);
  EXPECT_EQ(store->LastTransferSequence("005", t.request_date).value(), 0u);
  EXPECT_TRUE(store->FindStatement("004", "msg", "stmt").value());
  EXPECT_EQ(Tables()->CountDeposits().value(), 0);

  // A list query waits for the applier: afterwards the tables hold the batch.
  DepositQuery q;
  q.merchant = "shop";
  auto rows = store->QueryDeposits(q);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(Tables()->FindAssignment(MakeAssignment(1).id).value()->order_id, "order-1");
  EXPECT_EQ(Tables()->LogPosition().value(), 1u);
  ASSERT_TRUE(store->Commit());  // nothing written: nothing logged
  // And the look-ups still find the rows, now in the tables.
  EXPECT_EQ(store->FindDepositByCancellation("004", "cancel-1").value()->id, d.id);
  EXPECT_EQ(store->FindIdempotency("merchant/shop", "key-1").value()->status, 201);
}

// Proves the engine's way of not waiting for the applier: the positions say whether the tables
// have caught up, HurryApply applies without gathering and the listener hears it, and a query
// with a read floor waits only for the batches up to that floor.
TEST_F(LogStoreTest, AReadFloorAndHurryApplyLetTheWriterWaitElsewhere) {
  auto store = Open(Lazy());
  std::mutex mutex;
  std::condition_variable heard;
  int rounds = 0;
  std::uint64_t heard_applied = 0;
  store->SetAppliedListener([&](std::uint64_t applied) {
    std::lock_guard lock(mutex);
    ++rounds;
    heard_applied = applied;
    heard.notify_all();
  });
  DepositQuery q;
  q.merchant = "shop";

  store->Begin();
  store->PutDeposit(MakeDeposit(1));
  ASSERT_TRUE(store->Commit());
  EXPECT_EQ(store->CommittedPosition(), 1u);
  EXPECT_EQ(store->AppliedPosition(), 0u);  // gathering for an hour

  store->HurryApply();
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(heard.wait_for(lock, 10s, [&] { return rounds > 0; }));
    EXPECT_EQ(heard_applied, 1u);  // the position the round reached
  }
  EXPECT_EQ(store->AppliedPosition(), 1u);
  EXPECT_EQ(Tables()->LogPosition().value(), 1u);

  store->Begin();
  store->PutDeposit(MakeDeposit(2));
  ASSERT_TRUE(store->Commit());
  EXPECT_EQ(store->CommittedPosition(), 2u);
  store->SetReadFloor(1);  // the tables hold batch 1: no waiting for batch 2
  auto rows = store->QueryDeposits(q);
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->size(), 1u);
  EXPECT_EQ(store->AppliedPosition(), 1u);
  store->SetReadFloor(0);  // the default again: every committed batch
  rows = store->QueryDeposits(q);
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->size(), 2u);
  EXPECT_EQ(store->AppliedPosition(), 2u);

  store->SetAppliedListener({});  // once this returns the old listener is never called again
  const int heard_before = rounds;
  store->Begin();
  store->PutDeposit(MakeDeposit(3));
  ASSERT_TRUE(store->Commit());
  store->HurryApply();
  EXPECT_EQ(store->QueryDeposits(q)->size(), 3u);
  EXPECT_EQ(rounds, heard_before);
}

// The scheduling policy of this process's thread named `name` (-1: none).
int PolicyOfThread(const std::string& name) {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string line;
    std::getline(comm, line);
    if (line == name) return ::sched_getscheduler(std::stoi(task.path().filename().string()));
  }
  return -1;
}

// Proves the applier runs idle while the tables keep up, becomes an ordinary thread once a commit
// finds them `idle_below_bytes` behind or a reader waits for it, and goes idle again after.
TEST_F(LogStoreTest, TheApplierIsIdleUntilTheTablesFallBehind) {
  if (!CanLeaveIdle(options_.apply_nice)) GTEST_SKIP() << "this process may not leave SCHED_IDLE";
  LogStoreOptions options = Lazy();
  options.idle_below_bytes = 4096;
  auto store = Open(options);
  auto policy = [] { return PolicyOfThread("vr-log-apply"); };
  for (int i = 0; i < 500 && policy() != SCHED_IDLE; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(policy(), SCHED_IDLE);
  EXPECT_EQ(PolicyOfThread("vr-checkpoint"), SCHED_IDLE);  // always, behind a log

  int i = 0;
  while (store->Stats().log_unapplied_bytes < 4096) {
    store->Begin();
    store->PutAssignment(MakeAssignment(++i));
    ASSERT_TRUE(store->Commit());
  }
  EXPECT_EQ(policy(), SCHED_OTHER);  // raised by the commit that crossed the line

  DepositQuery q;
  EXPECT_TRUE(store->QueryDeposits(q));  // waits for a round: afterwards nothing is behind
  store->Begin();
  store->PutAssignment(MakeAssignment(++i));
  ASSERT_TRUE(store->Commit());
  store->HurryApply();  // a round with no reader waiting ends idle
  for (int n = 0; n < 1000 && policy() != SCHED_IDLE; ++n) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(policy(), SCHED_IDLE);
}

// Proves a batch reads its own writes before its commit, a later write of a row wins, and a
// rollback leaves nothing behind.
TEST_F(LogStoreTest, ABatchSeesItsOwnWritesAndARollbackForgetsThem) {
  auto store = Open(Lazy());
  store->Begin();
  Assignment a = MakeAssignment(1);
  store->PutAssignment(a);
  EXPECT_TRUE(store->FindAssignmentByOrder("shop", "order-1").value());
  store->Rollback();
  store->Begin();
  EXPECT_FALSE(store->FindAssignment(a.id).value());
  EXPECT_FALSE(store->FindAssignmentByOrder("shop", "order-1").value());
  store->PutAssignment(a);
  ASSERT_TRUE(store->Commit());
  store->Begin();
  a.status = AssignmentStatus::kPaid;
  a.paid_minor = 15'000;
  store->PutAssignment(a);
  ASSERT_TRUE(store->Commit());
  store->Begin();
  EXPECT_EQ(store->FindAssignment(a.id).value()->status, AssignmentStatus::kPaid);
  ASSERT_TRUE(store->Commit());
  store.reset();  // a clean close applies everything and removes the log
  EXPECT_EQ(Tables()->FindAssignment(a.id).value()->paid_minor, 15'000);
  EXPECT_TRUE(Segments().empty());
}

// Proves batches acknowledged (committed and flushed) by a process that died before applying them
// reach the tables at the next open, and that the log starts afresh after.
TEST_F(LogStoreTest, AcknowledgedBatchesSurviveAProcessThatDiesBeforeApplyingThem) {
  CommitInAChildThatDies(50, Lazy());
  EXPECT_FALSE(Tables()->FindAssignment(MakeAssignment(1).id).value());
  // What a tool reading the tables can learn of the log without applying it.
  EXPECT_EQ(CountLoggedBatches(options_.dir, 0).value(), 50u);
  EXPECT_EQ(CountLoggedBatches(options_.dir, 45).value(), 5u);
  EXPECT_EQ(CountLoggedBatches((dir_ / "none").string(), 0).value(), 0u);
  auto store = Open(Lazy());
  auto tables = Tables();
  for (int i = 1; i <= 50; ++i)
    EXPECT_TRUE(tables->FindAssignment(MakeAssignment(i).id).value()) << i;
  EXPECT_EQ(tables->LogPosition().value(), 50u);
  EXPECT_EQ(store->Stats().log_batches_replayed, 50u);
  EXPECT_EQ(CountLoggedBatches(options_.dir, 50).value(), 0u);
  ASSERT_EQ(Segments().size(), 1u);
  EXPECT_EQ(Segments()[0].filename(), "00000000000000000051.log");
  // Numbering goes on from there, and a second death is recovered the same way.
  store.reset();
  CommitInAChildThatDies(3, Lazy());  // rewrites assignments 1 to 3: batches 51 to 53
  Open(Lazy());
  EXPECT_EQ(Tables()->LogPosition().value(), 53u);
}

// Proves a batch cut short at the log's end (a crash in the middle of a write) is dropped, and
// that damage anywhere else stops the open instead of being skipped.
TEST_F(LogStoreTest, ABatchCutShortAtTheEndIsDroppedDamageElsewhereIsRefused) {
  LogStoreOptions small = Lazy();
  small.segment_bytes = 2048;  // several segments
  CommitInAChildThatDies(40, small);
  auto segments = Segments();
  ASSERT_GE(segments.size(), 3u);
  {
    // The last batch's final bytes never reached the disk: zeros, as the segment was before.
    std::fstream file(segments.back(), std::ios::in | std::ios::out | std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    auto end = bytes.find_last_not_of('\0');
    ASSERT_NE(end, std::string::npos);
    file.seekp(static_cast<std::streamoff>(end) - 2);
    file.write("\0\0\0", 3);
  }
  {
    auto store = Open(small);
    auto tables = Tables();
    EXPECT_EQ(tables->LogPosition().value(), 39u);
    EXPECT_TRUE(tables->FindAssignment(MakeAssignment(39).id).value());
    EXPECT_FALSE(tables->FindAssignment(MakeAssignment(40).id).value());
  }
  CommitInAChildThatDies(40, small);
  segments = Segments();
  ASSERT_GE(segments.size(), 3u);
  {
    std::fstream file(segments.front(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(100);
    file.put('\x7f');
  }
  EXPECT_FALSE(CountLoggedBatches(options_.dir, 39));  // the count reads as carefully
  auto refused = OpenLogStore(db_, small);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().detail.find("is damaged at byte"), std::string::npos)
      << refused.error().detail;
  EXPECT_EQ(Tables()->LogPosition().value(), 39u);  // nothing applied past the damage
}

// Proves full segments are deleted once their batches are in the tables, while the store runs.
TEST_F(LogStoreTest, FullSegmentsGoOnceApplied) {
  LogStoreOptions small = options_;
  small.segment_bytes = 2048;
  small.gather = 0ms;
  auto store = Open(small);
  for (int i = 1; i <= 200; ++i) {
    store->Begin();
    store->PutAssignment(MakeAssignment(i));
    ASSERT_TRUE(store->Commit());
  }
  ASSERT_TRUE(store->Sync());
  ASSERT_TRUE(store->CountDeposits());  // waits for the applier
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (Segments().size() > 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(Segments().size(), 1u);
  EXPECT_EQ(Tables()->LogPosition().value(), 200u);
}

// Proves a commit waits while the tables are too far behind, without deadlock.
TEST_F(LogStoreTest, ACommitWaitsWhileTooMuchIsUnapplied) {
  LogStoreOptions tight = options_;
  tight.max_unapplied_bytes = 1;
  auto store = Open(tight);
  for (int i = 1; i <= 100; ++i) {
    store->Begin();
    store->PutAssignment(MakeAssignment(i));
    ASSERT_TRUE(store->Commit());
    EXPECT_EQ(Tables()->LogPosition().value(), static_cast<std::uint64_t>(i));
  }
}

// Proves a log folder that cannot be created fails the open with a clear error.
TEST_F(LogStoreTest, AnUnwritableLogFolderFailsTheOpen) {
  std::ofstream(dir_ / "file") << "x";
  LogStoreOptions bad = options_;
  bad.dir = (dir_ / "file" / "log").string();
  auto store = OpenLogStore(db_, bad);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().detail.find("command log folder"), std::string::npos)
      << store.error().detail;
}

// ---- the log kept for a running snapshot ------------------------------------------------------

// What a replay of the log hands over: the ids of the assignments written, in order, and of any
// deposit (a replay for a running snapshot hands over none: it holds numbers and assignments).
class RecordingWrites final : public IgnoredWrites {
 public:
  std::vector<std::string> assignments;
  std::vector<std::string> deposits;

  void PutAssignment(const Assignment& a) override { assignments.push_back(a.id); }
  void PutDeposit(const Deposit& d) override { deposits.push_back(d.id); }
};

// The ids of assignments `first` to `last`, as MakeAssignment names them.
std::vector<std::string> AssignmentIds(int first, int last) {
  std::vector<std::string> ids;
  for (int i = first; i <= last; ++i) ids.push_back(MakeAssignment(i).id);
  return ids;
}

// Commits assignments `first` to `last`, one batch each.
void CommitAssignments(Store& store, int first, int last) {
  for (int i = first; i <= last; ++i) {
    store.Begin();
    store.PutAssignment(MakeAssignment(i));
    ASSERT_TRUE(store.Commit());
  }
}

// The batch a segment file begins with, from its name.
std::uint64_t FirstBatchOf(const std::filesystem::path& segment) {
  return std::stoull(segment.filename().string().substr(0, 20));
}

// Where the whole frames at the start of a segment file end (a frame: magic "VLG1", payload
// length, batch number, checksum, then the payload).
std::size_t WholeFramesEnd(const std::string& bytes) {
  std::size_t at = 0;
  while (at + 24 <= bytes.size() && bytes.compare(at, 4, "VLG1") == 0) {
    std::uint32_t length = 0;
    std::memcpy(&length, bytes.data() + at + 4, 4);
    at += 24 + length;
  }
  return at;
}

std::string ReadWhole(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

LogStoreOptions Keeping(LogStoreOptions options) {
  options.keep_for_snapshot = true;
  return options;
}

// Proves a store that keeps its log for a running snapshot keeps every batch through a clean
// close and the next opens, and hands a replay the number and assignment writes of each batch
// after a position (nothing else), in order, with their count.
TEST_F(LogStoreTest, AKeptLogReplaysEveryBatchAfterAPositionAcrossCloses) {
  {
    auto store = Open(Keeping(Lazy()));
    EXPECT_TRUE(store->KeepsLog());
    CommitAssignments(*store, 1, 20);
  }  // a clean close: the tables hold everything, the log stays
  EXPECT_EQ(Tables()->LogPosition().value(), 20u);
  ASSERT_FALSE(Segments().empty());
  {
    auto store = Open(Keeping(Lazy()));
    EXPECT_EQ(store->Stats().log_batches_replayed, 0u) << "nothing was missing from the tables";
    RecordingWrites all;
    EXPECT_EQ(store->ReplayLogAfter(0, all).value(), 20u);
    EXPECT_EQ(all.assignments, AssignmentIds(1, 20));
    RecordingWrites tail;
    EXPECT_EQ(store->ReplayLogAfter(15, tail).value(), 5u);
    EXPECT_EQ(tail.assignments, AssignmentIds(16, 20));
    RecordingWrites none;
    EXPECT_EQ(store->ReplayLogAfter(20, none).value(), 0u) << "a snapshot at the last batch";
    EXPECT_TRUE(none.assignments.empty());
    CommitAssignments(*store, 21, 25);
    Deposit d = MakeDeposit(25);
    store->Begin();
    store->PutDeposit(d);
    ASSERT_TRUE(store->Commit());
  }
  auto store = Open(Keeping(Lazy()));
  RecordingWrites all;
  EXPECT_EQ(store->ReplayLogAfter(0, all).value(), 26u) << "kept through a second close and open";
  EXPECT_EQ(all.assignments, AssignmentIds(1, 25));
  EXPECT_TRUE(all.deposits.empty()) << "only what a running snapshot holds is handed over";
}

// Proves KeepLogAfter lets the applier delete the full segments whose batches are all at or
// before the position it names (once applied), so a replay from an earlier position is refused
// as not found, while one from that position still gets every batch after it.
TEST_F(LogStoreTest, KeepLogAfterLetsTheSegmentsUpToItGo) {
  LogStoreOptions small = Keeping(options_);
  small.segment_bytes = 2048;  // about ten batches each
  small.gather = 0ms;
  {
    auto store = Open(small);
    CommitAssignments(*store, 1, 200);
    ASSERT_TRUE(store->Sync());
    ASSERT_TRUE(store->CountDeposits());  // waits for the applier
    EXPECT_EQ(FirstBatchOf(Segments().front()), 1u) << "nothing is let go before KeepLogAfter";
    const std::size_t all = Segments().size();
    ASSERT_GE(all, 10u);
    store->KeepLogAfter(100);
    EXPECT_LT(Segments().size(), all);
  }
  const std::uint64_t first = FirstBatchOf(Segments().front());
  EXPECT_GT(first, 1u);
  EXPECT_LE(first, 101u) << "batch 101 on is kept";
  auto store = Open(small);
  RecordingWrites refused;
  auto gone = store->ReplayLogAfter(first - 2, refused);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
  EXPECT_NE(gone.error().detail.find("no longer holds"), std::string::npos) << gone.error().detail;
  EXPECT_FALSE(store->ReplayLogAfter(0, refused));
  EXPECT_TRUE(refused.assignments.empty()) << "a refused replay hands over nothing";
  RecordingWrites from_first;
  EXPECT_EQ(store->ReplayLogAfter(first - 1, from_first).value(), 200u - (first - 1));
  RecordingWrites after;
  EXPECT_EQ(store->ReplayLogAfter(100, after).value(), 100u);
  EXPECT_EQ(after.assignments, AssignmentIds(101, 200));
}

// Proves a store that does not keep its log deletes it at a clean close and at an open after a
// crash (once the tables hold it), so no replay can reach back before the open; and that a store
// without a command log has none to replay.
TEST_F(LogStoreTest, WithoutKeepingTheLogIsGoneAfterAnOpen) {
  {
    auto store = Open(Lazy());
    EXPECT_FALSE(store->KeepsLog());
    CommitAssignments(*store, 1, 10);
  }
  EXPECT_TRUE(Segments().empty());
  {
    auto store = Open(Lazy());
    RecordingWrites writes;
    auto replayed = store->ReplayLogAfter(0, writes);
    ASSERT_FALSE(replayed);
    EXPECT_EQ(replayed.error().code, ErrorCode::kNotFound);
    EXPECT_EQ(store->ReplayLogAfter(10, writes).value(), 0u) << "nothing after the last batch";
  }
  CommitInAChildThatDies(5, Lazy());  // batches 11 to 15, left in the log by a crash
  {
    auto store = Open(Lazy());
    EXPECT_EQ(store->Stats().log_batches_replayed, 5u);
    RecordingWrites writes;
    EXPECT_FALSE(store->ReplayLogAfter(10, writes)) << "applied at the open and deleted";
  }
  CommitInAChildThatDies(5, Keeping(Lazy()));  // batches 16 to 20, kept this time
  {
    auto store = Open(Keeping(Lazy()));
    RecordingWrites writes;
    EXPECT_EQ(store->ReplayLogAfter(15, writes).value(), 5u);
    EXPECT_EQ(writes.assignments, AssignmentIds(1, 5));  // the child rewrites assignments 1 to 5
  }
  RecordingWrites writes;
  auto none = Tables()->ReplayLogAfter(0, writes);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
}

// Proves a replay from a position past the log's last batch (a snapshot of batches a power cut
// took back) is refused as not found, and hands over nothing.
TEST_F(LogStoreTest, AReplayFromPastTheLogsLastBatchIsRefused) {
  {
    auto store = Open(Keeping(Lazy()));
    CommitAssignments(*store, 1, 5);
  }
  auto store = Open(Keeping(Lazy()));
  RecordingWrites writes;
  for (std::uint64_t position : {6u, 100u}) {
    auto replayed = store->ReplayLogAfter(position, writes);
    ASSERT_FALSE(replayed) << position;
    EXPECT_EQ(replayed.error().code, ErrorCode::kNotFound);
    EXPECT_NE(replayed.error().detail.find("past the log's last batch 5"), std::string::npos)
        << replayed.error().detail;
  }
  EXPECT_TRUE(writes.assignments.empty());
}

// Proves what a crash leaves after the last whole batch of a kept segment (a frame cut short,
// never acknowledged) is dropped and zeroed at the next open, so that the segment, no longer the
// last once more batches follow, still reads to its end: the open after that succeeds and a
// replay gets every acknowledged batch.
TEST_F(LogStoreTest, ATornTailOfAKeptSegmentIsZeroedSoItStillReadsWhenNotLast) {
  CommitInAChildThatDies(10, Keeping(Lazy()));
  ASSERT_EQ(Segments().size(), 1u);
  const std::filesystem::path torn = Segments().front();
  const std::size_t end = WholeFramesEnd(ReadWhole(torn));
  ASSERT_GT(end, 0u);
  {
    // Batch 11 was being written when the process died: its header and part of its payload.
    std::string frame = "VLG1";
    const std::uint32_t length = 400;
    const std::uint64_t lsn = 11, checksum = 0x0123456789abcdefULL;
    frame.append(reinterpret_cast<const char*>(&length), 4);
    frame.append(reinterpret_cast<const char*>(&lsn), 8);
    frame.append(reinterpret_cast<const char*>(&checksum), 8);
    frame.append(100, '\x5a');
    std::fstream file(torn, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(end));
    file.write(frame.data(), static_cast<std::streamsize>(frame.size()));
  }
  {
    auto store = Open(Keeping(Lazy()));
    EXPECT_EQ(Tables()->LogPosition().value(), 10u);
    EXPECT_EQ(store->CommittedPosition(), 10u) << "the torn batch was never acknowledged";
    const std::string after = ReadWhole(torn);
    EXPECT_EQ(after.find_first_not_of('\0', end), std::string::npos) << "zeroed from the tear on";
    RecordingWrites writes;
    EXPECT_EQ(store->ReplayLogAfter(0, writes).value(), 10u);
    CommitAssignments(*store, 11, 15);  // in a segment of their own, after the torn one
  }
  ASSERT_EQ(Segments().size(), 2u);
  auto reopened = OpenLogStore(db_, Keeping(Lazy()));
  ASSERT_TRUE(reopened) << reopened.error().detail;
  EXPECT_EQ(CountLoggedBatches(options_.dir, 0).value(), 15u);
  RecordingWrites writes;
  EXPECT_EQ((*reopened)->ReplayLogAfter(0, writes).value(), 15u);
  EXPECT_EQ(writes.assignments, AssignmentIds(1, 15));
  RecordingWrites tail;
  EXPECT_EQ((*reopened)->ReplayLogAfter(8, tail).value(), 7u);
  EXPECT_EQ(tail.assignments, AssignmentIds(9, 15));
}

// Proves the segments kept for a running snapshot never come to more than max_kept_bytes once
// applied, even when KeepLogAfter never moves from the start: the oldest go, and a replay from
// before them is then refused.
TEST_F(LogStoreTest, KeptSegmentsStayWithinMaxKeptBytes) {
  LogStoreOptions small = Keeping(options_);
  small.segment_bytes = 2048;
  small.gather = 0ms;
  small.max_kept_bytes = 4 * 2048;
  {
    auto store = Open(small);
    std::size_t most = 0;
    for (int round = 0; round < 15; ++round) {
      CommitAssignments(*store, round * 20 + 1, round * 20 + 20);
      ASSERT_TRUE(store->CountDeposits());  // waits for the applier's round
      most = std::max(most, Segments().size());
      EXPECT_LE(Segments().size(), 5u) << "four kept, and the current one";
    }
    EXPECT_EQ(most, 5u) << "as many as the bound allows are kept";
  }
  EXPECT_LE(Segments().size(), 5u);
  const std::uint64_t first = FirstBatchOf(Segments().front());
  EXPECT_GT(first, 1u);
  auto store = Open(small);
  RecordingWrites writes;
  EXPECT_FALSE(store->ReplayLogAfter(0, writes));
  EXPECT_EQ(store->ReplayLogAfter(first - 1, writes).value(), 300u - (first - 1));
}

// Proves LoggedBytes counts the bytes each logged batch added since the store opened: a batch
// adds its frame, an empty batch or a rolled-back one adds nothing, and an open starts at zero.
TEST_F(LogStoreTest, LoggedBytesGrowWithEachLoggedBatch) {
  {
    auto store = Open(Keeping(Lazy()));
    EXPECT_EQ(store->LoggedBytes(), 0u);
    CommitAssignments(*store, 1, 1);
    const std::uint64_t one = store->LoggedBytes();
    EXPECT_GT(one, 24u) << "a header and a record";
    CommitAssignments(*store, 2, 2);
    const std::uint64_t two = store->LoggedBytes();
    EXPECT_GT(two, one);
    store->Begin();
    ASSERT_TRUE(store->Commit());  // nothing written: nothing logged
    store->Begin();
    store->PutAssignment(MakeAssignment(3));
    store->Rollback();
    EXPECT_EQ(store->LoggedBytes(), two);
    store->Begin();
    store->PutDeposit(MakeDeposit(1));
    store->PutAssignment(MakeAssignment(1));
    ASSERT_TRUE(store->Commit());
    EXPECT_GT(store->LoggedBytes() - two, one) << "a batch of two records is larger";
  }
  auto store = Open(Keeping(Lazy()));
  EXPECT_EQ(store->LoggedBytes(), 0u);
  EXPECT_EQ(Tables()->LoggedBytes(), 0u) << "no command log";
}

}  // namespace
}  // namespace varelay
