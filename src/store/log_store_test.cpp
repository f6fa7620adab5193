#include "store/log_store.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
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

}  // namespace
}  // namespace varelay
