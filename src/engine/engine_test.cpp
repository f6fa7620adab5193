#include "engine/engine.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <condition_variable>
#include <random>
#include <thread>
#include <tuple>

#include "domain/bank_channels.h"
#include "engine/ledger_audit.h"
#include "engine/random.h"
#include "engine/snapshot_file.h"
#include "engine/snapshot_records.h"
#include "store/log_store.h"
#include "store/sqlite_store.h"

namespace varelay {
namespace {

using namespace std::chrono_literals;

const Instant kStart = *ParseRfc3339("2026-11-25T10:00:00Z");
const std::string kAdminToken = "vrk_test_admin_token_0123456789abcdef";

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("varelay-engine-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    Reopen();
    ASSERT_TRUE(engine_->EnsureAdminKey(kAdminToken));
    Ok(CreateBank{"004", "KB Kookmin"});
    Ok(CreateMerchant{"shop", "Demo Shop"});
    Ok(CreateMerchant{"other", "Other Shop"});
    Ok(CreateContract{"shop", "004", "1002003004005", "Demo Shop", Issuance::kPool, "", 3000, true});
    Ok(CreateContract{"other", "004", "9002003004005", "Other Shop", Issuance::kPool, "", 3000, true});
    merchant_ = std::get<IssuedApiKey>(Ok(CreateApiKey{Role::kMerchant, "shop", "", ""})).token;
    other_ = std::get<IssuedApiKey>(Ok(CreateApiKey{Role::kMerchant, "other", "", ""})).token;
    bank_ = std::get<IssuedApiKey>(Ok(CreateApiKey{Role::kBank, "", "004", ""})).token;
    payouts_ = std::get<IssuedApiKey>(Ok(CreateApiKey{Role::kMerchantPayouts, "shop", "", ""})).token;
    Ok(LoadNumbers{"shop", "004", "seoul", {"1000000001", "1000000002"}});
  }
  void TearDown() override {
    engine_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Drops the engine and store and opens them again from disk, as a restart would: after a clean
  // stop that wrote a snapshot (`Stop::kSnapshot`), or a stop that wrote none (a crash, as far as
  // the snapshot goes).
  enum class Stop { kCrash, kSnapshot };
  void Reopen(Stop stop = Stop::kCrash) {
    if (engine_ && stop == Stop::kSnapshot) {
      auto written = engine_->WriteSnapshot();
      ASSERT_TRUE(written) << written.error().detail;
    }
    engine_.reset();
    store_.reset();
    auto store = OpenSqliteStore((dir_ / "varelay.db").string());
    ASSERT_TRUE(store) << store.error().detail;
    store_ = std::move(*store);
    EngineOptions options;
    options.relay.quarantine = std::chrono::hours(1);
    options.relay.idempotency_retention = idempotency_retention_;
    options.relay.max_open_holder_inquiries = max_open_holder_inquiries_;
    options.snapshot_path = SnapshotPath();
    engine_ = std::make_unique<Engine>(*store_, clock_, options);
    auto recovered = engine_->Recover();
    ASSERT_TRUE(recovered) << recovered.error().detail;
    recovery_ = *recovered;
  }
  std::string SnapshotPath() const { return (dir_ / "varelay.snapshot").string(); }
  // Reopens on the same tables behind a command log whose applier runs only when asked to.
  void ReopenOnALazyCommandLog(EngineOptions options = {}) {
    engine_.reset();
    store_.reset();
    LogStoreOptions log;
    log.dir = (dir_ / "log").string();
    log.gather = 1h;
    log.gather_bytes = ~0ULL;
    auto store = OpenLogStore((dir_ / "varelay.db").string(), log);
    ASSERT_TRUE(store) << store.error().detail;
    store_ = std::move(*store);
    options.relay.quarantine = std::chrono::hours(1);
    engine_ = std::make_unique<Engine>(*store_, clock_, options);
    ASSERT_TRUE(engine_->Recover());
  }
  std::string RunningSnapshotPath() const { return (dir_ / "varelay.running-snapshot").string(); }
  // The options of a start that reads a running snapshot at RunningSnapshotPath(). Stepped, the
  // engine writes none itself (its thread does); the tests write them with TakeRunningSnapshot.
  EngineOptions RunningSnapshotOptions() const {
    EngineOptions options;
    options.relay.quarantine = std::chrono::hours(1);
    options.running_snapshot_path = RunningSnapshotPath();
    return options;
  }
  // Drops the engine and store without a stop snapshot: as a kill leaves them, once the next
  // open has applied the log to the tables (the store's close does it here).
  void Crash() {
    engine_.reset();
    store_.reset();
  }
  // Crashes and opens the tables in `data` again behind a command log kept for a running
  // snapshot (LogStoreOptions::keep_for_snapshot) whose applier runs only when asked to.
  void ReopenKeepingTheLog(const std::filesystem::path& data, const EngineOptions& options) {
    Crash();
    LogStoreOptions log;
    log.dir = (data / "log").string();
    log.gather = 1h;
    log.gather_bytes = ~0ULL;
    log.keep_for_snapshot = true;
    auto store = OpenLogStore((data / "varelay.db").string(), log);
    ASSERT_TRUE(store) << store.error().detail;
    store_ = std::move(*store);
    engine_ = std::make_unique<Engine>(*store_, clock_, options);
    auto recovered = engine_->Recover();
    ASSERT_TRUE(recovered) << recovered.error().detail;
    recovery_ = *recovered;
  }
  void ReopenKeepingTheLog() { ReopenKeepingTheLog(dir_, RunningSnapshotOptions()); }
  // Writes a running snapshot of the state as it stands between two batches, at the last
  // committed batch, as the engine's forked copy does; returns that batch.
  std::uint64_t TakeRunningSnapshot(const std::string& path) {
    const std::uint64_t position = store_->CommittedPosition();
    auto written = engine_->relay().WriteRunningSnapshot(path, position);
    EXPECT_TRUE(written) << written.error().detail;
    return position;
  }
  // Copies the data folder's files and its log into `to`, for a second start from the same
  // disk. Between starts only.
  void CopyDataTo(const std::filesystem::path& to) {
    std::filesystem::create_directories(to);
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      if (entry.is_regular_file() || entry.path().filename() == "log") {
        std::filesystem::copy(entry.path(), to / entry.path().filename(),
                              std::filesystem::copy_options::recursive);
      }
    }
  }
  // How an assignment reads to its merchant, on one line.
  std::string Seen(const std::string& id) {
    auto r = Run(merchant_, GetAssignment{id});
    if (!r) return "refused: " + r.error().detail;
    const Assignment& a = std::get<AssignmentView>(*r).assignment;
    return a.order_id + " on " + a.number + " gen " + std::to_string(a.generation) + " " +
           std::string(AssignmentStatusName(a.status)) + " paid " + std::to_string(a.paid_minor) +
           " due " + std::to_string(ToUnixMs(a.due_at)) + " closed " +
           (a.closed_at ? std::to_string(ToUnixMs(*a.closed_at)) : "-");
  }
  // Each pool's counts, a line each.
  std::vector<std::string> PoolsSeen() {
    std::vector<std::string> seen;
    const PoolList pools = std::get<PoolList>(Ok(ListPools{}));
    for (const auto& p : pools.items) {
      seen.push_back(p.merchant + "/" + p.bank + "/" + p.region + ": " + std::to_string(p.free) +
                     " free, " + std::to_string(p.assigned) + " assigned, " +
                     std::to_string(p.cooling) + " cooling");
    }
    return seen;
  }
  // An order of 1000 (or what `rule` allows) at bank 004 in `region`, due in `expires_in_s`.
  static CreateAssignment OrderIn(const std::string& region, const std::string& order,
                                  std::int64_t expires_in_s = 3600, AmountRule rule = {}) {
    CreateAssignment c;
    c.order_id = order;
    c.amount = Money(1000, Currency::Krw());
    c.bank = "004";
    c.region = region;
    c.expires_in_s = expires_in_s;
    c.rule = rule;
    return c;
  }
  Assignment IssueIn(const std::string& region, const std::string& order,
                     std::int64_t expires_in_s = 3600, AmountRule rule = {}) {
    return std::get<AssignmentView>(Ok(OrderIn(region, order, expires_in_s, rule), merchant_))
        .assignment;
  }
  // Kills the engine after a running snapshot was taken at some point and the log written since,
  // then drains `region` twice: once as a start from that snapshot and the log after it leaves it,
  // and once as the engine had it at the kill (from a copy of the disk with a snapshot taken just
  // before the kill, so that nothing is replayed).
  std::pair<std::vector<std::string>, std::vector<std::string>> FreeOrderReplayedAndAtTheKill(
      const std::string& region) {
    TakeRunningSnapshot((dir_ / "at-kill.running-snapshot").string());
    Crash();
    CopyDataTo(dir_ / "twin");
    ReopenKeepingTheLog();
    EXPECT_TRUE(recovery_.from_running_snapshot) << recovery_.running_snapshot_skipped;
    EXPECT_GT(recovery_.replayed_batches, 0u);
    std::vector<std::string> replayed = DrainRegion(region);
    EngineOptions at_kill = RunningSnapshotOptions();
    at_kill.running_snapshot_path = (dir_ / "twin" / "at-kill.running-snapshot").string();
    ReopenKeepingTheLog(dir_ / "twin", at_kill);
    EXPECT_TRUE(recovery_.from_running_snapshot) << recovery_.running_snapshot_skipped;
    EXPECT_EQ(recovery_.replayed_batches, 0u);
    return {std::move(replayed), DrainRegion(region)};
  }
  // Issues in `region` until it runs dry: the numbers its free list held, in their order.
  std::vector<std::string> DrainRegion(const std::string& region) {
    std::vector<std::string> taken;
    for (int i = 0; i < 100; ++i) {
      auto r = Run(merchant_, OrderIn(region, "drain-" + region + "-" + std::to_string(i)));
      if (!r) {
        EXPECT_EQ(r.error().code, ErrorCode::kPoolExhausted) << r.error().detail;
        break;
      }
      taken.push_back(std::get<AssignmentView>(*r).assignment.number);
    }
    return taken;
  }
  // A snapshot file with the header the store names (a real one is written first, for its
  // token), and whatever `body` writes after it.
  testing::AssertionResult WriteForgedSnapshot(const std::function<void(SnapshotWriter&)>& body) {
    if (!engine_->WriteSnapshot()) return testing::AssertionFailure() << "no snapshot written";
    auto token = store_->SnapshotToken();
    auto w = SnapshotWriter::Create(SnapshotPath());
    if (!token || !w) return testing::AssertionFailure() << "no token or file";
    WriteSnapshotHeader(*w, *token);
    body(*w);
    if (!w->Finish()) return testing::AssertionFailure() << "not finished";
    return testing::AssertionSuccess();
  }
  // A forged body: the pool shop/004/seoul with one number (free numbers listed free), then
  // `live` as the live assignments.
  static std::function<void(SnapshotWriter&)> OneNumberSnapshot(NumberState state,
                                                                std::string assignment_id,
                                                                std::vector<Assignment> live) {
    return [=](SnapshotWriter& w) {
      w.U64(1);
      for (const char* text : {"shop", "004", "seoul"}) w.Bytes(text);
      w.U64(1);
      const std::int64_t generation = state == NumberState::kFree ? 0 : 1;
      WriteSnapshotNumber(w, 0, state, "1000000009", assignment_id, generation, 0, {});
      w.U64(state == NumberState::kFree ? 1 : 0);  // the pool's free list
      if (state == NumberState::kFree) w.U64(0);
      w.U64(live.size());
      for (const auto& a : live) WriteSnapshotAssignment(w, a);
    };
  }

  struct Answer {
    Result<Outcome> result = Fail(ErrorCode::kInternal, "no reply");
    std::optional<RenderedResponse> rendered;
  };

  Submission Make(const std::string& bearer, Command command, Answer& answer) {
    Submission s;
    s.bearer = bearer;
    s.command = std::move(command);
    s.channel = BankProtocol::kJson;  // as the JSON routes say
    s.render = [](const Result<Outcome>& r) {
      return RenderedResponse{r ? 200 : 409, r ? "ok" : std::string(ErrorCodeName(r.error().code)), false};
    };
    s.reply = [&answer](Result<Outcome> r, std::optional<RenderedResponse> rendered) {
      answer.result = std::move(r);
      answer.rendered = std::move(rendered);
    };
    return s;
  }

  Result<Outcome> Run(const std::string& bearer, Command command) {
    Answer answer;
    EXPECT_TRUE(engine_->Submit(Make(bearer, std::move(command), answer)));
    engine_->Step();
    auto invariants = engine_->relay().CheckInvariants();
    EXPECT_TRUE(invariants) << invariants.error().detail;
    return answer.result;
  }

  Outcome Ok(Command command, const std::string& bearer = kAdminToken) {
    auto r = Run(bearer, std::move(command));
    EXPECT_TRUE(r) << (r ? "" : r.error().detail);
    return r ? *r : Outcome{};
  }

  ErrorCode Err(Command command, const std::string& bearer) {
    auto r = Run(bearer, std::move(command));
    EXPECT_FALSE(r);
    return r ? ErrorCode::kInternal : r.error().code;
  }

  Assignment Issue(const std::string& order, std::int64_t amount, AmountRule rule = {}) {
    CreateAssignment c;
    c.order_id = order;
    c.amount = Money(amount, Currency::Krw());
    c.bank = "004";
    c.rule = rule;
    c.expires_in_s = 3600;
    return std::get<AssignmentView>(Ok(c, merchant_)).assignment;
  }

  DepositAck Deposit(const std::string& tx, const std::string& number, std::int64_t amount) {
    return std::get<DepositAck>(
        Ok(DepositNotice{tx, number, Money(amount, Currency::Krw()), "홍길동", clock_.Now()}, bank_));
  }

  LedgerVerdict Verify() { return std::get<LedgerVerdict>(Ok(VerifyLedger{})); }

  std::filesystem::path dir_;
  Millis idempotency_retention_{std::chrono::hours(24)};  // what Reopen starts the relay with
  std::size_t max_open_holder_inquiries_ = kMaxOpenHolderInquiries;  // likewise
  ManualClock clock_{kStart};
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
  RecoveryReport recovery_;
  std::string merchant_, other_, bank_, payouts_;  // payouts_: shop's merchant_payouts key
};

// Proves 16-digit numbers starting with 94 (division accounts' range) are never loaded as virtual
// account numbers: skipped as reserved_number, whether their Luhn digit is right or not.
TEST_F(EngineTest, LoadNumbersSkipsTheDivisionAccountRange) {
  auto report = std::get<LoadReport>(
      Ok(LoadNumbers{"shop", "004", "seoul", {"9400000000000004", "9412345678901234", "940000000000000", "1000000003"}}));
  EXPECT_EQ(report.loaded, 2);  // 15 digits starting 94 is an ordinary number
  ASSERT_EQ(report.skipped.size(), 2u);
  EXPECT_EQ(report.skipped[0].number, "9400000000000004");
  EXPECT_EQ(report.skipped[0].reason, "reserved_number");
  EXPECT_EQ(report.skipped[1].reason, "reserved_number");
}

// Proves one full payment: issue, pre-check, deposit, matched, number cooling, ledger intact.
// The stored row of a number, as (state, generation, event_seq).
std::tuple<int, int, int> StoredNumber(const std::filesystem::path& db_path, const std::string& number) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.string().c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "SELECT state, generation, event_seq FROM numbers WHERE number = ?1", -1, &s, nullptr);
  sqlite3_bind_text(s, 1, number.c_str(), -1, SQLITE_TRANSIENT);
  std::tuple<int, int, int> row{-1, -1, -1};
  if (sqlite3_step(s) == SQLITE_ROW) {
    row = {sqlite3_column_int(s, 0), sqlite3_column_int(s, 1), sqlite3_column_int(s, 2)};
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return row;
}

// Proves a number changed several times by one command (taken, then its event counted; cooled,
// then its event counted) is stored with its last state, and a restart goes on from there.
TEST_F(EngineTest, ANumberChangedTwiceInOneCommandIsStoredAsItEnded) {
  auto a = Issue("order-1", 10000);
  EXPECT_EQ(StoredNumber(dir_ / "varelay.db", a.number), std::make_tuple(1, 1, 1));  // assigned, gen 1, 1 event
  Deposit("tx-1", a.number, 10000);
  EXPECT_EQ(StoredNumber(dir_ / "varelay.db", a.number), std::make_tuple(2, 1, 2));  // cooling, 2 events
  Reopen();
  clock_.Advance(std::chrono::hours(2));  // past the quarantine
  auto b = Issue("order-2", 10000);
  auto c = Issue("order-3", 10000);
  ASSERT_NE(b.number, a.number);
  ASSERT_EQ(c.number, a.number) << "the cooled number is back, behind the one never used";
  EXPECT_EQ(c.generation, 2);
  EXPECT_EQ(StoredNumber(dir_ / "varelay.db", a.number), std::make_tuple(1, 2, 3));  // its third event
}

// Start-up checks the recovered state: a number the store says is assigned, with no assignment
// behind it, stops the relay instead of serving from a broken state.
TEST_F(EngineTest, RecoveryRefusesAStoreThatBreaksAnInvariant) {
  Issue("order-1", 10000);
  engine_.reset();
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "varelay.db").string().c_str(), &db), SQLITE_OK);
  const char* break_it = "UPDATE numbers SET state = 1, assignment_id = 'asg_missing' WHERE state = 0";
  ASSERT_EQ(sqlite3_exec(db, break_it, nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = OpenSqliteStore((dir_ / "varelay.db").string());
  ASSERT_TRUE(store);
  store_ = std::move(*store);
  engine_ = std::make_unique<Engine>(*store_, clock_, EngineOptions{});
  auto recovered = engine_->Recover();
  ASSERT_FALSE(recovered);
  EXPECT_NE(recovered.error().detail.find("has no matching open assignment"), std::string::npos)
      << recovered.error().detail;
}

// Proves the start-up check of a large table (checked in two halves at once) adds up counts from
// both halves and finds a broken number in either.
TEST_F(EngineTest, TheChecksOfALargeTableCoverBothHalves) {
  std::vector<std::string> seoul, busan;
  for (int i = 0; i < 40'000; ++i) seoul.push_back(std::to_string(3'000'000'000LL + i));
  for (int i = 0; i < 40'000; ++i) busan.push_back(std::to_string(9'000'000'000LL + i));  // sort last
  Ok(LoadNumbers{"shop", "004", "seoul", seoul});
  Ok(LoadNumbers{"shop", "004", "busan", busan});
  CreateAssignment c;
  c.amount = Money(1000, Currency::Krw());
  c.bank = "004";
  c.region = "busan";
  c.expires_in_s = 3600;
  std::vector<Assignment> issued;
  for (int i = 0; i < 3; ++i) {
    c.order_id = "large-" + std::to_string(i);
    issued.push_back(std::get<AssignmentView>(Ok(c, merchant_)).assignment);
  }
  Deposit("tx-large", issued[0].number, 1000);  // one cooling, two assigned, all in the back half
  Reopen();
  auto pools = std::get<PoolList>(Ok(ListPools{})).items;
  ASSERT_EQ(pools.size(), 2u);
  for (const auto& p : pools) {
    if (p.region == "busan") {
      EXPECT_EQ(std::tie(p.assigned, p.cooling), std::make_tuple(2, 1));
    }
  }

  for (const char* number : {"3000000100", "9000039999"}) {  // one in each half
    engine_.reset();
    store_.reset();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "varelay.db").string().c_str(), &db), SQLITE_OK);
    std::string break_it =
        std::string("UPDATE numbers SET state = 1, assignment_id = 'asg_missing' WHERE number = '") + number + "'";
    ASSERT_EQ(sqlite3_exec(db, break_it.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    auto store = OpenSqliteStore((dir_ / "varelay.db").string());
    ASSERT_TRUE(store);
    store_ = std::move(*store);
    engine_ = std::make_unique<Engine>(*store_, clock_, EngineOptions{});
    auto recovered = engine_->Recover();
    ASSERT_FALSE(recovered) << number;
    EXPECT_NE(recovered.error().detail.find("assigned number " + std::string(number)), std::string::npos)
        << recovered.error().detail;
    // Mend it for the next round.
    engine_.reset();
    store_.reset();
    ASSERT_EQ(sqlite3_open((dir_ / "varelay.db").string().c_str(), &db), SQLITE_OK);
    std::string mend =
        std::string("UPDATE numbers SET state = 0, assignment_id = '' WHERE number = '") + number + "'";
    ASSERT_EQ(sqlite3_exec(db, mend.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    Reopen();
  }
}

TEST_F(EngineTest, FullPaymentMatchesAndCoolsTheNumber) {
  auto a = Issue("order-1", 15000);
  EXPECT_EQ(a.generation, 1);
  EXPECT_EQ(a.holder_name, "Demo Shop");
  auto pre = std::get<PrecheckAnswer>(Ok(Precheck{a.number, Money(15000, Currency::Krw()), "x"}, bank_));
  EXPECT_FALSE(pre.refusal);
  EXPECT_EQ(pre.holder_name, "Demo Shop");
  auto wrong = std::get<PrecheckAnswer>(Ok(Precheck{a.number, Money(14000, Currency::Krw()), "x"}, bank_));
  EXPECT_EQ(wrong.refusal, PrecheckRefusal::kAmountMismatch);

  auto ack = Deposit("tx-1", a.number, 15000);
  EXPECT_FALSE(ack.duplicate);
  EXPECT_EQ(ack.deposit.outcome, DepositOutcome::kMatched);
  EXPECT_EQ(ack.deposit.order_id, "order-1");
  auto paid = std::get<AssignmentView>(Ok(GetAssignment{a.id}, merchant_)).assignment;
  EXPECT_EQ(paid.status, AssignmentStatus::kPaid);
  EXPECT_EQ(paid.paid_minor, 15000);
  auto pools = std::get<PoolList>(Ok(ListPools{})).items;
  ASSERT_EQ(pools.size(), 1u);
  EXPECT_EQ(pools[0].cooling, 1);
  EXPECT_EQ(pools[0].free, 1);
  auto verdict = Verify();
  EXPECT_TRUE(verdict.ok);
  EXPECT_EQ(verdict.entries, 1);
}

// Proves a re-sent notice is acknowledged again and booked once; altered content is a conflict.
TEST_F(EngineTest, DuplicateNoticeIsBookedOnce) {
  auto a = Issue("order-1", 15000);
  auto first = Deposit("tx-1", a.number, 15000);
  auto again = Deposit("tx-1", a.number, 15000);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.deposit.id, first.deposit.id);
  EXPECT_EQ(Err(DepositNotice{"tx-1", a.number, Money(16000, Currency::Krw()), "홍길동", clock_.Now()}, bank_),
            ErrorCode::kTransactionIdConflict);
  EXPECT_EQ(Verify().entries, 1);
}

// Proves an exhausted pool answers pool_exhausted and changes nothing.
TEST_F(EngineTest, ExhaustedPoolChangesNothing) {
  Issue("o1", 1000);
  Issue("o2", 1000);
  CreateAssignment c;
  c.order_id = "o3";
  c.amount = Money(1000, Currency::Krw());
  c.bank = "004";
  EXPECT_EQ(Err(c, merchant_), ErrorCode::kPoolExhausted);
  EXPECT_EQ(Err(GetOrder{"o3"}, merchant_), ErrorCode::kNotFound);
  EXPECT_EQ(std::get<PoolList>(Ok(ListPools{})).items[0].assigned, 2);
}

// Proves the sweeper expires to the second, and a deposit after expiry is late, parked and
// attributed to the expired order, never to the next customer.
TEST_F(EngineTest, ExpiryAndLateDepositDuringQuarantine) {
  auto a = Issue("order-1", 5000);
  clock_.Set(a.due_at - 1ms);
  engine_->Step();
  EXPECT_EQ(std::get<AssignmentView>(Ok(GetAssignment{a.id}, merchant_)).assignment.status, AssignmentStatus::kOpen);
  clock_.Set(a.due_at);
  engine_->Step();
  auto expired = std::get<AssignmentView>(Ok(GetAssignment{a.id}, merchant_)).assignment;
  EXPECT_EQ(expired.status, AssignmentStatus::kExpired);
  EXPECT_EQ(expired.closed_at, a.due_at);
  auto pre = std::get<PrecheckAnswer>(Ok(Precheck{a.number, Money(5000, Currency::Krw()), ""}, bank_));
  EXPECT_EQ(pre.refusal, PrecheckRefusal::kExpired);

  auto late = Deposit("tx-late", a.number, 5000);
  EXPECT_EQ(late.deposit.outcome, DepositOutcome::kLate);
  EXPECT_EQ(late.deposit.assignment_id, a.id);
  EXPECT_EQ(late.deposit.parked_minor, 5000);
  EXPECT_EQ(late.deposit.generation, 1);
}

// Proves a number returns to its pool only after quarantine, with its generation bumped on reuse.
TEST_F(EngineTest, QuarantineThenReuseBumpsGeneration) {
  Issue("filler", 1000);  // holds the other number
  auto a = Issue("order-1", 1000);
  Ok(CancelAssignment{a.id}, merchant_);
  CreateAssignment c;
  c.order_id = "order-2";
  c.amount = Money(1000, Currency::Krw());
  c.bank = "004";
  EXPECT_EQ(Err(c, merchant_), ErrorCode::kPoolExhausted);
  clock_.Advance(std::chrono::hours(1));
  engine_->Step();
  auto b = Issue("order-2", 1000);
  EXPECT_EQ(b.number, a.number);
  EXPECT_EQ(b.generation, 2);
}

// Proves accumulate books partial payments until the total, then closes the order.
TEST_F(EngineTest, AccumulateCompletesOnTheTotal) {
  auto a = Issue("order-1", 10000, {AmountRuleKind::kAccumulate, 0, 0, Overpayment::kRefuse});
  EXPECT_EQ(Deposit("t1", a.number, 4000).deposit.outcome, DepositOutcome::kPartial);
  EXPECT_EQ(Err(CancelAssignment{a.id}, merchant_), ErrorCode::kAssignmentNotCancellable);
  EXPECT_EQ(Deposit("t2", a.number, 6000).deposit.outcome, DepositOutcome::kMatched);
  auto done = std::get<AssignmentView>(Ok(GetAssignment{a.id}, merchant_)).assignment;
  EXPECT_EQ(done.status, AssignmentStatus::kPaid);
  EXPECT_EQ(done.paid_minor, 10000);
}

// Proves money to an unknown or unassigned number is kept in suspense, never dropped.
TEST_F(EngineTest, UnmatchedMoneyIsParked) {
  auto unknown = Deposit("t1", "9999999999", 700);
  EXPECT_EQ(unknown.deposit.outcome, DepositOutcome::kUnknownNumber);
  EXPECT_EQ(unknown.deposit.parked_minor, 700);
  auto free = Deposit("t2", "1000000002", 800);
  EXPECT_EQ(free.deposit.outcome, DepositOutcome::kNotAssigned);
  EXPECT_EQ(Verify().entries, 2);
}

// Proves a cancellation reverses the ledger entry and reopens an order it had paid.
TEST_F(EngineTest, CancellationReversesAndReopens) {
  auto a = Issue("order-1", 3000);
  Deposit("tx-1", a.number, 3000);
  auto cancel = std::get<DepositAck>(Ok(CancelDeposit{"tx-1c", "tx-1", clock_.Now()}, bank_));
  EXPECT_EQ(cancel.deposit.status, DepositStatus::kCancelled);
  auto again = std::get<DepositAck>(Ok(CancelDeposit{"tx-1c", "tx-1", clock_.Now()}, bank_));
  EXPECT_TRUE(again.duplicate);
  auto reopened = std::get<AssignmentView>(Ok(GetAssignment{a.id}, merchant_)).assignment;
  EXPECT_EQ(reopened.status, AssignmentStatus::kOpen);
  EXPECT_EQ(reopened.paid_minor, 0);
  EXPECT_EQ(Verify().entries, 2);
  EXPECT_EQ(Err(CancelDeposit{"x", "nope", clock_.Now()}, bank_), ErrorCode::kNotFound);
}

// Proves another merchant's assignment answers not_found, and roles are enforced.
TEST_F(EngineTest, OwnershipAndRoles) {
  auto a = Issue("order-1", 1000);
  EXPECT_EQ(Err(GetAssignment{a.id}, other_), ErrorCode::kNotFound);
  EXPECT_EQ(Err(CancelAssignment{a.id}, other_), ErrorCode::kNotFound);
  EXPECT_EQ(Err(CreateBank{"088", "x"}, merchant_), ErrorCode::kForbidden);
  EXPECT_EQ(Err(Precheck{a.number, Money(1000, Currency::Krw()), ""}, merchant_), ErrorCode::kForbidden);
  EXPECT_EQ(Err(ListBanks{}, "vrk_nobody"), ErrorCode::kUnauthorized);
}

// Proves a caller left as constructed has no role and is refused (a forgotten caller fails
// closed), and that the gauges and the banks' endpoints are an admin's view.
TEST_F(EngineTest, ACallerWithoutARoleIsRefusedAndOperatorViewsAreAdminOnly) {
  EXPECT_EQ(Caller{}.role, Role::kNone);
  Relay bare(*store_, RelayOptions{});
  auto refused = bare.Apply(Caller{}, ListBanks{}, kStart);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthorized);
  EXPECT_EQ(Err(ReadGauges{}, merchant_), ErrorCode::kForbidden);
  EXPECT_EQ(Err(ReadGauges{}, bank_), ErrorCode::kForbidden);
  EXPECT_TRUE(std::holds_alternative<Gauges>(Ok(ReadGauges{})));
  Ok(CreateBank{"088", "Shinhan", BankProtocol::kTelegram, "127.0.0.1:9300"});
  auto merchant_view = std::get<BankList>(Ok(ListBanks{}, merchant_));
  EXPECT_FALSE(merchant_view.full);
  for (const auto& b : merchant_view.items) EXPECT_TRUE(b.endpoint.empty() && b.signing_secret.empty());
  auto admin_view = std::get<BankList>(Ok(ListBanks{}));
  EXPECT_TRUE(admin_view.full);
  EXPECT_EQ(admin_view.items.back().endpoint, "127.0.0.1:9300");
}

// Proves the same order id with the same payload returns the assignment, with another a conflict.
TEST_F(EngineTest, OrderIdReplayAndConflict) {
  auto a = Issue("order-1", 1000);
  CreateAssignment same;
  same.order_id = "order-1";
  same.amount = Money(1000, Currency::Krw());
  same.bank = "004";
  same.expires_in_s = 3600;
  auto view = std::get<AssignmentView>(Ok(same, merchant_));
  EXPECT_FALSE(view.created);
  EXPECT_EQ(view.assignment.id, a.id);
  same.amount = Money(2000, Currency::Krw());
  EXPECT_EQ(Err(same, merchant_), ErrorCode::kOrderIdConflict);
}

// Proves Idempotency-Key semantics: replay, different payload, and a repeat within one batch.
TEST_F(EngineTest, IdempotencyKeyReplayReuseAndInFlight) {
  CreateAssignment c;
  c.order_id = "order-1";
  c.amount = Money(1000, Currency::Krw());
  c.bank = "004";
  Answer first, second, third;
  auto s1 = Make(merchant_, c, first);
  s1.idempotency = IdempotencyRequest{"key-1", "fp-a"};
  auto s2 = Make(merchant_, c, second);
  s2.idempotency = IdempotencyRequest{"key-1", "fp-a"};
  engine_->Submit(std::move(s1));
  engine_->Submit(std::move(s2));
  engine_->Step();
  ASSERT_TRUE(first.result);
  ASSERT_FALSE(second.result);
  EXPECT_EQ(second.result.error().code, ErrorCode::kIdempotencyInFlight);

  auto s3 = Make(merchant_, c, third);
  s3.idempotency = IdempotencyRequest{"key-1", "fp-a"};
  engine_->Submit(std::move(s3));
  engine_->Step();
  ASSERT_TRUE(third.rendered);
  EXPECT_TRUE(third.rendered->replayed);
  EXPECT_EQ(third.rendered->body, "ok");

  Answer fourth;
  auto s4 = Make(merchant_, c, fourth);
  s4.idempotency = IdempotencyRequest{"key-1", "fp-b"};
  engine_->Submit(std::move(s4));
  engine_->Step();
  ASSERT_FALSE(fourth.result);
  EXPECT_EQ(fourth.result.error().code, ErrorCode::kIdempotencyKeyReused);
  EXPECT_EQ(std::get<PoolList>(Ok(ListPools{})).items[0].assigned, 1);
}

// How many idempotency records the tables of `db_path` hold.
int IdempotencyRows(const std::filesystem::path& db_path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.string().c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM idempotency", -1, &s, nullptr);
  int rows = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
  sqlite3_finalize(s);
  sqlite3_close(db);
  return rows;
}

// Proves the idempotency clean-up keeps up with a sustained rate (it deleted at most 2,000 a
// minute, 33 a second): with a retention of 2 s and 400 stored requests a second for a minute of
// injected time, the table never holds much more than the last 3 seconds' records, and a key
// still within the retention replays.
TEST_F(EngineTest, TheIdempotencyCleanUpKeepsUpWithASustainedRate) {
  idempotency_retention_ = 2s;
  Reopen();
  constexpr int kBatchesPerSecond = 20, kPerBatch = 20;  // 400 a second
  constexpr int kPerSecond = kBatchesPerSecond * kPerBatch;
  int peak = 0;
  std::string last_key;
  for (int second = 0; second < 60; ++second) {
    for (int b = 0; b < kBatchesPerSecond; ++b) {
      std::vector<Answer> answers(kPerBatch);
      for (int k = 0; k < kPerBatch; ++k) {
        // A cancellation of no assignment: a final refusal (404), stored like a success.
        auto s = Make(merchant_, CancelAssignment{"asg_none"}, answers[k]);
        last_key = "key-" + std::to_string(second) + "-" + std::to_string(b) + "-" + std::to_string(k);
        s.idempotency = IdempotencyRequest{last_key, "fp"};
        ASSERT_TRUE(engine_->Submit(std::move(s)));
      }
      engine_->Step();
      ASSERT_TRUE(answers[0].rendered);
      clock_.Advance(Millis(1000 / kBatchesPerSecond));
    }
    peak = std::max(peak, IdempotencyRows(dir_ / "varelay.db"));
  }
  EXPECT_LE(peak, kPerSecond * 4) << "the records of about the retention and a second more";
  EXPECT_GE(IdempotencyRows(dir_ / "varelay.db"), kPerSecond * 2 - kPerBatch) << "none within the retention";
  EXPECT_EQ(store_->Stats().idempotency_records, IdempotencyRows(dir_ / "varelay.db"));  // /metrics
  Answer again;
  auto s = Make(merchant_, CancelAssignment{"asg_none"}, again);
  s.idempotency = IdempotencyRequest{last_key, "fp"};
  ASSERT_TRUE(engine_->Submit(std::move(s)));
  engine_->Step();
  ASSERT_TRUE(again.rendered);
  EXPECT_TRUE(again.rendered->replayed);
}

// Proves a restart rebuilds the same live state from disk: assignments, quarantine and ledger head.
TEST_F(EngineTest, RestartRecoversLiveState) {
  auto a = Issue("order-1", 1000);
  auto b = Issue("order-2", 2000);
  Deposit("tx-1", a.number, 1000);
  Reopen();
  auto pools = std::get<PoolList>(Ok(ListPools{})).items;
  EXPECT_EQ(pools[0].assigned, 1);
  EXPECT_EQ(pools[0].cooling, 1);
  EXPECT_EQ(Deposit("tx-1", a.number, 1000).duplicate, true);
  EXPECT_EQ(Deposit("tx-2", b.number, 2000).deposit.outcome, DepositOutcome::kMatched);
  EXPECT_EQ(Verify().entries, 2);
  EXPECT_TRUE(Verify().ok);
}

// The real store with its commits and flushes counted, to see when the engine answers.
class CountingStore final : public Store {
 public:
  // A store of its own, wrapped (a reader connection).
  explicit CountingStore(std::unique_ptr<Store> owned) : owned_(std::move(owned)), inner_(*owned_) {}
  explicit CountingStore(Store& inner) : inner_(inner) {}
  std::atomic<int> commits{0}, syncs_done{0};
  std::atomic<int> commits_at_last_sync{0};  // commits that the last finished flush covers

  Result<void> Commit() override {
    auto r = inner_.Commit();
    ++commits;
    return r;
  }
  Result<void> Sync() override {
    int covered = commits.load();
    auto r = inner_.Sync();
    commits_at_last_sync = covered;
    ++syncs_done;
    return r;
  }
  StoreStats Stats() const override { return inner_.Stats(); }
  Result<void> Load(LoadSink& sink, LoadParts parts) override { return inner_.Load(sink, parts); }
  Result<std::string> SnapshotToken() override { return inner_.SnapshotToken(); }
  Result<void> SetSnapshotToken(const std::string& token) override { return inner_.SetSnapshotToken(token); }
  void Begin() override { inner_.Begin(); }
  void Rollback() override { inner_.Rollback(); }
  void PutBank(const Bank& x) override { inner_.PutBank(x); }
  void InsertMerchant(const Merchant& x) override { inner_.InsertMerchant(x); }
  void UpdateMerchant(const Merchant& x) override { inner_.UpdateMerchant(x); }
  void InsertContract(const Contract& x) override { inner_.InsertContract(x); }
  void PutApiKey(const ApiKey& x) override { inner_.PutApiKey(x); }
  void PutNumber(const NumberRecord& x) override { inner_.PutNumber(x); }
  void PutAssignment(const Assignment& x) override { inner_.PutAssignment(x); }
  void PutDeposit(const Deposit& x) override { inner_.PutDeposit(x); }
  void AppendLedgerEntry(const LedgerEntry& x) override { inner_.AppendLedgerEntry(x); }
  void PutIdempotency(const IdempotencyRecord& x) override { inner_.PutIdempotency(x); }
  void PutWebhookEndpoint(const WebhookEndpoint& x) override { inner_.PutWebhookEndpoint(x); }
  void AppendEvent(const Event& x) override { inner_.AppendEvent(x); }
  void PutDelivery(const Delivery& x) override { inner_.PutDelivery(x); }
  void PutStatementMessage(const StatementMessage& x) override { inner_.PutStatementMessage(x); }
  void PutStatement(const BankStatement& x, const std::string& xml) override { inner_.PutStatement(x, xml); }
  void PutTransfer(const Transfer& x) override { inner_.PutTransfer(x); }
  void FailPendingDeliveries(const std::string& id, const std::string& why) override {
    inner_.FailPendingDeliveries(id, why);
  }
  void DeleteIdempotencyBefore(Instant cutoff, int limit) override {
    inner_.DeleteIdempotencyBefore(cutoff, limit);
  }
  void PutBankChannels(const std::string& b, std::uint32_t c) override { inner_.PutBankChannels(b, c); }
  void PutPayoutPolicy(const PayoutPolicy& x) override { inner_.PutPayoutPolicy(x); }
  void PutHolderInquiry(const HolderInquiryRecord& x) override { inner_.PutHolderInquiry(x); }
  void PutMerchantDivision(const Merchant& x) override { inner_.PutMerchantDivision(x); }
  void PutMaster(const Master& x) override { inner_.PutMaster(x); }
  void PutDivisionAccount(const DivisionAccount& x) override { inner_.PutDivisionAccount(x); }
  void PutDivisionPayment(const DivisionPayment& x) override { inner_.PutDivisionPayment(x); }
  void PutDivisionApproval(const DivisionApproval& x) override { inner_.PutDivisionApproval(x); }
  Result<std::vector<HolderInquiryRecord>> QueryHolderInquiries(const HolderInquiryQuery& q) override {
    return inner_.QueryHolderInquiries(q);
  }
  Result<std::optional<IdempotencyRecord>> FindIdempotency(const std::string& c, const std::string& k) override {
    return inner_.FindIdempotency(c, k);
  }
  Result<std::optional<Deposit>> FindDeposit(const std::string& b, const std::string& t) override {
    return inner_.FindDeposit(b, t);
  }
  Result<std::optional<Deposit>> FindDepositByCancellation(const std::string& b, const std::string& t) override {
    return inner_.FindDepositByCancellation(b, t);
  }
  Result<std::optional<Assignment>> FindAssignment(const std::string& id) override { return inner_.FindAssignment(id); }
  Result<std::optional<Assignment>> FindAssignmentByOrder(const std::string& m, const std::string& o) override {
    return inner_.FindAssignmentByOrder(m, o);
  }
  Result<std::vector<Deposit>> QueryDeposits(const DepositQuery& q) override { return inner_.QueryDeposits(q); }
  Result<std::vector<LedgerEntry>> QueryLedger(const LedgerQuery& q) override { return inner_.QueryLedger(q); }
  Result<std::vector<LedgerEntry>> ReadLedger(std::int64_t after, int limit) override {
    if (on_read_ledger) on_read_ledger();
    return inner_.ReadLedger(after, limit);
  }
  Result<std::optional<Instant>> OldestIdempotency() override { return inner_.OldestIdempotency(); }
  Result<PostingRange> CheckPostings(PostingCursor from, int count) override { return inner_.CheckPostings(from, count); }
  Result<std::optional<BankStatement>> FindStatement(const std::string& b, const std::string& m,
                                                     const std::string& s) override {
    return inner_.FindStatement(b, m, s);
  }
  Result<std::vector<BankStatement>> QueryStatements(const std::string& b, int limit) override {
    return inner_.QueryStatements(b, limit);
  }
  Result<std::vector<Event>> QueryEvents(const EventQuery& q) override { return inner_.QueryEvents(q); }
  Result<std::optional<Event>> FindEvent(const std::string& id) override { return inner_.FindEvent(id); }
  Result<std::vector<std::pair<Delivery, Event>>> QueryPendingDeliveries(std::int64_t after, int limit) override {
    return inner_.QueryPendingDeliveries(after, limit);
  }
  Result<std::vector<Delivery>> FindDeliveries(const std::vector<std::int64_t>& seqs) override {
    return inner_.FindDeliveries(seqs);
  }
  Result<std::optional<Transfer>> FindTransfer(const std::string& id) override { return inner_.FindTransfer(id); }
  Result<std::vector<Transfer>> QueryTransfers(const TransferQuery& q) override { return inner_.QueryTransfers(q); }
  Result<std::uint32_t> LastTransferSequence(const std::string& b, std::chrono::year_month_day d) override {
    return inner_.LastTransferSequence(b, d);
  }
  Result<std::int64_t> CountDeposits() override { return inner_.CountDeposits(); }

  std::function<void()> on_read_ledger;  // called before every ReadLedger, on its thread

 private:
  std::unique_ptr<Store> owned_;
  Store& inner_;
};

// Proves the engine's two threads answer nobody before a flush covering their batch has finished,
// answer everybody (also what is still queued at Stop), and leave a consistent state, while
// several threads submit at once: the engine commits the next batch while the last one flushes.
TEST_F(EngineTest, AnswersComeOnlyAfterTheFlushThatCoversThem) {
  engine_.reset();
  CountingStore counting(*store_);
  EngineOptions options;
  options.relay.quarantine = std::chrono::hours(1);
  SystemClock clock;
  auto engine = std::make_unique<Engine>(counting, clock, options);
  ASSERT_TRUE(engine->Recover());
  constexpr int kThreads = 4, kPerThread = 150;
  std::vector<std::string> numbers;
  for (int i = 0; i < kThreads * kPerThread; ++i) numbers.push_back("2" + std::to_string(100000000 + i));
  {
    Submission load;
    load.bearer = kAdminToken;
    load.command = LoadNumbers{"shop", "004", "seoul", numbers};
    load.reply = [](Result<Outcome> r, std::optional<RenderedResponse>) { EXPECT_TRUE(r); };
    ASSERT_TRUE(engine->Submit(std::move(load)));
    engine->Step();
  }
  engine->Start();

  std::atomic<int> answered{0}, answered_early{0}, refused{0};
  auto submit = [&](const std::string& bearer, Command command) {
    // The batch of this command commits after now: its answer needs a flush that covers at least
    // one more commit than has happened yet.
    const int commits_before = counting.commits.load();
    Submission s;
    s.bearer = bearer;
    s.command = std::move(command);
    s.channel = BankProtocol::kJson;
    s.render = [](const Result<Outcome>& r) { return RenderedResponse{r ? 200 : 409, "", false}; };
    s.reply = [&, commits_before](Result<Outcome> r, std::optional<RenderedResponse>) {
      if (counting.commits_at_last_sync.load() <= commits_before) ++answered_early;
      if (!r) ++refused;
      ++answered;
    };
    return engine->Submit(std::move(s));
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int n = t * kPerThread + i;
        CreateAssignment c;
        c.order_id = "pipe-" + std::to_string(n);
        c.amount = Money(1000, Currency::Krw());
        c.bank = "004";
        c.expires_in_s = 3600;
        EXPECT_TRUE(submit(merchant_, c));
        EXPECT_TRUE(submit(bank_, DepositNotice{"pipe-tx-" + std::to_string(n), numbers[static_cast<std::size_t>(n)],
                                                  Money(1000, Currency::Krw()), "payer", clock.Now()}));
      }
    });
  }
  for (auto& t : threads) t.join();
  engine->Stop();  // what is queued is applied, flushed and answered
  EXPECT_EQ(answered.load(), 2 * kThreads * kPerThread);
  EXPECT_EQ(answered_early.load(), 0);
  EXPECT_EQ(refused.load(), 0) << "every issue found a number, every notice was booked";
  EXPECT_LT(counting.syncs_done.load(), counting.commits.load() + 1) << "a flush per commit at most";
  auto sound = engine->relay().CheckInvariants();
  EXPECT_TRUE(sound) << sound.error().detail;
}

// Proves a clean stop's snapshot brings back the same live state as the store would: counts,
// open and cooling assignments, the free list's order (a cooled number waits behind one never
// used), expiry, and a late deposit on a cooling number.
TEST_F(EngineTest, AStopSnapshotRestoresTheLiveStateExactly) {
  Ok(LoadNumbers{"shop", "004", "seoul", {"1000000003", "1000000004"}});
  auto paid = Issue("order-1", 1000);
  auto open = Issue("order-2", 2000, AmountRule{AmountRuleKind::kRange, 1500, 2500, Overpayment::kRefuse});
  auto expiring = Issue("order-3", 3000);
  Deposit("tx-1", paid.number, 1000);
  Reopen(Stop::kSnapshot);
  EXPECT_TRUE(recovery_.from_snapshot) << recovery_.snapshot_skipped;
  EXPECT_EQ(recovery_.numbers, 4);
  EXPECT_EQ(recovery_.live_assignments, 3);
  EXPECT_FALSE(std::filesystem::exists(SnapshotPath())) << "a snapshot is read once";

  auto pools = std::get<PoolList>(Ok(ListPools{})).items;
  ASSERT_EQ(pools.size(), 1u);
  EXPECT_EQ(std::tie(pools[0].free, pools[0].assigned, pools[0].cooling), std::make_tuple(1, 2, 1));
  auto again = std::get<AssignmentView>(Ok(GetAssignment{open.id}, merchant_)).assignment;
  EXPECT_EQ(again.rule, open.rule);
  EXPECT_EQ(again.amount, open.amount);
  EXPECT_EQ(again.due_at, open.due_at);
  EXPECT_EQ(again.request_fingerprint, open.request_fingerprint);
  EXPECT_EQ(Deposit("tx-2", open.number, 2400).deposit.outcome, DepositOutcome::kMatched);
  EXPECT_EQ(Deposit("tx-3", paid.number, 500).deposit.assignment_id, paid.id) << "late deposit on the tombstone";

  clock_.Advance(std::chrono::hours(2));  // order-3 expires; the paid number has cooled
  engine_->Step();
  EXPECT_EQ(std::get<AssignmentView>(Ok(GetAssignment{expiring.id}, merchant_)).assignment.status,
            AssignmentStatus::kExpired);
  Reopen(Stop::kSnapshot);
  EXPECT_TRUE(recovery_.from_snapshot) << recovery_.snapshot_skipped;
  auto next = Issue("order-4", 1000);
  EXPECT_EQ(next.number, "1000000004") << "the never-used number first";
  EXPECT_TRUE(Verify().ok);
}

// Proves a snapshot is never read against a state that moved on: once a start has used it (or
// passed it over), a later start without a new one reads the store, and nothing written in between
// is lost.
TEST_F(EngineTest, ASnapshotIsNotReadAfterTheStateMovedOn) {
  auto a = Issue("order-1", 1000);
  ASSERT_TRUE(engine_->WriteSnapshot());
  std::filesystem::copy_file(SnapshotPath(), dir_ / "kept.snapshot");
  Reopen();  // reads it
  EXPECT_TRUE(recovery_.from_snapshot);
  auto b = Issue("order-2", 2000);
  std::filesystem::copy_file(dir_ / "kept.snapshot", SnapshotPath());  // the old file, put back
  Reopen();  // a crash: no new snapshot
  EXPECT_FALSE(recovery_.from_snapshot);
  EXPECT_TRUE(recovery_.snapshot_skipped.empty()) << "the store names none: " << recovery_.snapshot_skipped;
  EXPECT_EQ(recovery_.live_assignments, 2);
  EXPECT_EQ(Deposit("tx-2", b.number, 2000).deposit.outcome, DepositOutcome::kMatched);
  EXPECT_FALSE(std::filesystem::exists(SnapshotPath())) << "a leftover snapshot is removed";
}

// Proves a damaged snapshot, or another one than the store names, is passed over for the store.
TEST_F(EngineTest, ADamagedOrForeignSnapshotFallsBackToTheStore) {
  auto a = Issue("order-1", 1000);
  ASSERT_TRUE(engine_->WriteSnapshot());
  {
    std::fstream f(SnapshotPath(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('\x7f');
  }
  Reopen();
  EXPECT_FALSE(recovery_.from_snapshot);
  EXPECT_NE(recovery_.snapshot_skipped.find("checksum"), std::string::npos) << recovery_.snapshot_skipped;
  EXPECT_EQ(recovery_.live_assignments, 1);

  ASSERT_TRUE(engine_->WriteSnapshot());
  std::filesystem::copy_file(SnapshotPath(), dir_ / "first.snapshot");
  ASSERT_TRUE(engine_->WriteSnapshot());  // a second one: the store names only this
  std::filesystem::copy_file(dir_ / "first.snapshot", SnapshotPath(), std::filesystem::copy_options::overwrite_existing);
  Reopen();
  EXPECT_FALSE(recovery_.from_snapshot);
  EXPECT_NE(recovery_.snapshot_skipped.find("not the snapshot the store names"), std::string::npos)
      << recovery_.snapshot_skipped;
  EXPECT_EQ(Deposit("tx-1", a.number, 1000).deposit.outcome, DepositOutcome::kMatched);
}

// Proves a snapshot that reads well but describes an impossible state (an assigned number with no
// assignment) is dropped for the store instead of served or stopping the start.
TEST_F(EngineTest, ASnapshotThatBreaksAnInvariantFallsBackToTheStore) {
  auto a = Issue("order-1", 1000);
  // One number, assigned to an assignment the file does not hold.
  ASSERT_TRUE(WriteForgedSnapshot(OneNumberSnapshot(NumberState::kAssigned, "asg_missing", {})));
  Reopen();
  EXPECT_FALSE(recovery_.from_snapshot);
  EXPECT_NE(recovery_.snapshot_skipped.find("invariant"), std::string::npos) << recovery_.snapshot_skipped;
  EXPECT_EQ(recovery_.numbers, 2);
  EXPECT_EQ(Deposit("tx-1", a.number, 1000).deposit.outcome, DepositOutcome::kMatched);
}

// Proves the checks find an open assignment that no number is tied to (it would hold its order id
// for ever and escape the one-open-assignment-per-order check): such a snapshot falls back to the
// store, and the order is issued anew there.
TEST_F(EngineTest, ASnapshotWithALiveAssignmentTiedToNoNumberFallsBackToTheStore) {
  auto a = Issue("order-1", 1000);
  // One free number, and an open assignment on a number the table does not hold.
  Assignment orphan;
  orphan.id = "asg_orphan";
  orphan.merchant = "shop";
  orphan.order_id = "order-9";
  orphan.bank = "004";
  orphan.region = "seoul";
  orphan.number = "1000000008";
  orphan.generation = 1;
  orphan.amount = Money(1000, Currency::Krw());
  orphan.created_at = kStart;
  orphan.due_at = kStart + std::chrono::hours(1);
  ASSERT_TRUE(WriteForgedSnapshot(OneNumberSnapshot(NumberState::kFree, "", {orphan})));
  Reopen();
  EXPECT_FALSE(recovery_.from_snapshot);
  EXPECT_NE(recovery_.snapshot_skipped.find("tied to no number"), std::string::npos)
      << recovery_.snapshot_skipped;
  EXPECT_EQ(recovery_.live_assignments, 1);
  EXPECT_EQ(Deposit("tx-1", a.number, 1000).deposit.outcome, DepositOutcome::kMatched);
}

// Proves a snapshot whose counts promise more records than its bytes could hold is refused before
// anything is sized by them (a count of 2^40 would otherwise ask for terabytes), and the start
// reads the store.
TEST_F(EngineTest, ASnapshotCountBeyondItsBytesIsRefusedBeforeAnythingIsSized) {
  auto a = Issue("order-1", 1000);
  ASSERT_TRUE(WriteForgedSnapshot([](SnapshotWriter& w) { w.U64(std::uint64_t{1} << 40); }));
  Reopen();
  EXPECT_FALSE(recovery_.from_snapshot);
  EXPECT_NE(recovery_.snapshot_skipped.find("pool count"), std::string::npos) << recovery_.snapshot_skipped;

  ASSERT_TRUE(WriteForgedSnapshot([](SnapshotWriter& w) {
    w.U64(0);  // no pools, no numbers, then twenty assignments in a hundred bytes
    w.U64(0);
    w.U64(20);
    w.Bytes(std::string(100, 'x'));
  }));
  Reopen();
  EXPECT_FALSE(recovery_.from_snapshot);
  EXPECT_NE(recovery_.snapshot_skipped.find("assignment count"), std::string::npos) << recovery_.snapshot_skipped;
  EXPECT_EQ(Deposit("tx-1", a.number, 1000).deposit.outcome, DepositOutcome::kMatched);
}

// Proves a bank's transaction ids are unique across notices and cancellations: reusing a
// cancellation's id for another original, or a notice's id for a cancellation, changes nothing.
TEST_F(EngineTest, CancellationIdsCannotBeReused) {
  auto a = Issue("order-1", 3000);
  auto b = Issue("order-2", 4000);
  Deposit("pay-1", a.number, 3000);
  Deposit("pay-2", b.number, 4000);
  const Instant bank_time = *ParseRfc3339("2026-11-26T02:56:29+09:00");
  auto first = std::get<DepositAck>(Ok(CancelDeposit{"cx-1", "pay-1", bank_time}, bank_));
  EXPECT_EQ(first.deposit.cancelled_at, bank_time);  // the bank's time, not ours
  EXPECT_TRUE(std::get<DepositAck>(Ok(CancelDeposit{"cx-1", "pay-1", bank_time}, bank_)).duplicate);
  EXPECT_EQ(Err(CancelDeposit{"cx-1", "pay-2", bank_time}, bank_), ErrorCode::kTransactionIdConflict);
  EXPECT_EQ(Err(CancelDeposit{"cx-1", "pay-1", bank_time + 1s}, bank_), ErrorCode::kTransactionIdConflict);
  EXPECT_EQ(Err(CancelDeposit{"pay-2", "pay-1", bank_time}, bank_), ErrorCode::kTransactionIdConflict);
  EXPECT_EQ(Err(DepositNotice{"cx-1", b.number, Money(1, Currency::Krw()), "", clock_.Now()}, bank_),
            ErrorCode::kTransactionIdConflict);
  EXPECT_TRUE(std::get<DepositAck>(Ok(CancelDeposit{"cx-2", "pay-1", bank_time}, bank_)).duplicate);
  auto paid = std::get<AssignmentView>(Ok(GetAssignment{b.id}, merchant_)).assignment;
  EXPECT_EQ(paid.status, AssignmentStatus::kPaid);  // pay-2 was never touched
  auto verdict = Verify();
  EXPECT_TRUE(verdict.ok) << verdict.reason;
  EXPECT_EQ(verdict.entries, 3);
}

// Proves Idempotency-Keys belong to the merchant, not to one API key: a rotated key replays.
TEST_F(EngineTest, IdempotencyKeysAreScopedToTheInstitution) {
  auto second_key = std::get<IssuedApiKey>(Ok(CreateApiKey{Role::kMerchant, "shop", "", ""})).token;
  CreateAssignment c;
  c.order_id = "order-1";
  c.amount = Money(1000, Currency::Krw());
  c.bank = "004";
  Answer first, again, other;
  auto s1 = Make(merchant_, c, first);
  s1.idempotency = IdempotencyRequest{"shared", "fp"};
  engine_->Submit(std::move(s1));
  engine_->Step();
  auto s2 = Make(second_key, c, again);
  s2.idempotency = IdempotencyRequest{"shared", "fp"};
  engine_->Submit(std::move(s2));
  engine_->Step();
  ASSERT_TRUE(again.rendered);
  EXPECT_TRUE(again.rendered->replayed);
  c.order_id = "order-other";
  Ok(LoadNumbers{"other", "004", "seoul", {"2000000001"}});
  auto s3 = Make(other_, c, other);  // another merchant, same key string: its own space
  s3.idempotency = IdempotencyRequest{"shared", "fp"};
  engine_->Submit(std::move(s3));
  engine_->Step();
  ASSERT_TRUE(other.rendered);
  EXPECT_FALSE(other.rendered->replayed);
}

// Proves an inactive merchant issues nothing and its numbers are refused at the pre-check,
// while money that still arrives is booked.
TEST_F(EngineTest, InactiveMerchantIsRefusedAtIssuanceAndPrecheck) {
  auto a = Issue("order-1", 1000);
  auto m = std::get<Merchant>(Ok(UpdateMerchant{"shop", std::nullopt, false}));
  EXPECT_FALSE(m.active);
  CreateAssignment c;
  c.order_id = "order-2";
  c.amount = Money(1000, Currency::Krw());
  c.bank = "004";
  EXPECT_EQ(Err(c, merchant_), ErrorCode::kForbidden);
  auto pre = std::get<PrecheckAnswer>(Ok(Precheck{a.number, Money(1000, Currency::Krw()), ""}, bank_));
  EXPECT_EQ(pre.refusal, PrecheckRefusal::kMerchantInactive);
  EXPECT_EQ(Deposit("tx-1", a.number, 1000).deposit.outcome, DepositOutcome::kMatched);
  Ok(UpdateMerchant{"shop", std::string("Renamed Shop"), true});
  Reopen();
  auto back = std::get<Merchant>(Ok(GetMerchant{"shop"}));
  EXPECT_TRUE(back.active);
  EXPECT_EQ(back.name, "Renamed Shop");
  EXPECT_EQ(Err(UpdateMerchant{"nobody", std::nullopt, true}, kAdminToken), ErrorCode::kNotFound);
}

// Proves look-ups page with a cursor that is null exactly when nothing follows.
TEST_F(EngineTest, PagingLooksOneAhead) {
  for (int i = 0; i < 4; ++i) Deposit("t" + std::to_string(i), "5555555555", 100);
  FindDeposits q;
  q.query.limit = 2;
  auto page1 = std::get<DepositPage>(Ok(q));
  ASSERT_EQ(page1.items.size(), 2u);
  ASSERT_FALSE(page1.next_after.empty());
  q.query.after_id = page1.next_after;
  auto page2 = std::get<DepositPage>(Ok(q));
  ASSERT_EQ(page2.items.size(), 2u);
  EXPECT_TRUE(page2.next_after.empty());
  EXPECT_EQ(page2.items.back().transaction_id, "t3");
}

// Collects what committed batches hand to the webhook dispatcher.
class RecordingListener final : public OutboxListener {
 public:
  void OnCommitted(OutboxChanges changes) override {
    for (auto& e : changes.endpoints) endpoints.push_back(std::move(e));
    for (auto& d : changes.deliveries) deliveries.push_back(std::move(d));
  }
  std::vector<WebhookEndpoint> endpoints;
  std::vector<OutboxWork> deliveries;
};

std::vector<std::string> Types(const std::vector<OutboxWork>& work) {
  std::vector<std::string> names;
  for (const auto& w : work) names.emplace_back(EventTypeName(w.event->type));
  return names;
}

// Proves events are written with the change that caused them, numbered per number, fanned out to
// subscribed endpoints after commit, and that pending deliveries survive a restart.
TEST_F(EngineTest, EventsReachTheOutboxInOrderAndSurviveRestart) {
  RecordingListener listener;
  engine_->SetOutboxListener(&listener);
  auto all = std::get<EndpointView>(Ok(CreateWebhookEndpoint{"https://shop.example/hooks", {}, ""}, merchant_));
  EXPECT_TRUE(all.show_secret);
  EXPECT_TRUE(all.endpoint.secret.starts_with("whsec_"));
  Ok(CreateWebhookEndpoint{"https://shop.example/paid", {EventType::kDepositMatched}, ""}, merchant_);

  auto a = Issue("order-1", 15000);
  Deposit("tx-1", a.number, 15000);
  ASSERT_EQ(Types(listener.deliveries),
            (std::vector<std::string>{"assignment.created", "deposit.matched", "deposit.matched"}));
  const Event& paid = *listener.deliveries[1].event;
  EXPECT_EQ(paid.sequence, 2);
  EXPECT_EQ(paid.order_id, "order-1");
  EXPECT_NE(paid.payload.find("\"amount_paid\":15000"), std::string::npos);
  EXPECT_NE(paid.payload.find("\"outcome\":\"matched\""), std::string::npos);
  EXPECT_EQ(listener.deliveries[1].event, listener.deliveries[2].event);  // one event, two endpoints

  // Another merchant sees none of it.
  auto theirs = std::get<EventPage>(Ok(ListEvents{}, other_));
  EXPECT_TRUE(theirs.items.empty());
  auto mine = std::get<EventPage>(Ok(ListEvents{}, merchant_));
  ASSERT_EQ(mine.items.size(), 2u);
  EXPECT_EQ(mine.items[1].deliveries.size(), 2u);

  Reopen();
  RecordingListener after;
  engine_->SetOutboxListener(&after);
  engine_->Start();
  engine_->Stop();
  EXPECT_EQ(after.endpoints.size(), 2u);
  EXPECT_EQ(Types(after.deliveries), Types(listener.deliveries));
}

// Proves expiry and cancellation raise events, and a 410 report disables the endpoint and fails
// its other pending deliveries.
TEST_F(EngineTest, ExpiryCancellationAndGoneEndpoint) {
  RecordingListener listener;
  engine_->SetOutboxListener(&listener);
  auto endpoint = std::get<EndpointView>(Ok(CreateWebhookEndpoint{"https://shop.example/hooks", {}, ""}, merchant_));
  auto first = Issue("order-1", 1000);
  auto second = Issue("order-2", 1000);
  Ok(CancelAssignment{second.id}, merchant_);
  clock_.Advance(2h);
  Ok(ListPools{});  // any batch runs the timers
  ASSERT_EQ(Types(listener.deliveries),
            (std::vector<std::string>{"assignment.created", "assignment.created", "assignment.cancelled",
                                      "assignment.expired"}));
  EXPECT_EQ(listener.deliveries[3].event->order_id, "order-1");
  EXPECT_EQ(listener.deliveries[3].event->created_at, first.due_at);

  Delivery gone = listener.deliveries[0].delivery;
  gone.status = DeliveryStatus::kFailed;
  gone.attempts = 1;
  gone.last_status = 410;
  Answer answer;
  Submission s = Make("", RecordDeliveries{{{gone, true}}}, answer);
  s.internal = true;
  ASSERT_TRUE(engine_->Submit(std::move(s)));
  engine_->Step();
  ASSERT_TRUE(answer.result);
  auto now = std::get<EndpointView>(Ok(GetWebhookEndpoint{endpoint.endpoint.id}, merchant_)).endpoint;
  EXPECT_FALSE(now.enabled);
  EXPECT_EQ(now.disabled_reason, "gone");
  auto page = std::get<EventPage>(Ok(ListEvents{}, merchant_));
  for (const auto& view : page.items) {
    ASSERT_EQ(view.deliveries.size(), 1u);
    EXPECT_EQ(view.deliveries[0].status, DeliveryStatus::kFailed);
  }
  // Outside callers cannot report deliveries.
  EXPECT_EQ(Err(RecordDeliveries{{{gone, true}}}, kAdminToken), ErrorCode::kForbidden);
}

// Proves a bank is held to its channels: a telegram bank's JSON notice and pre-check are refused
// (and change nothing) until an admin adds the channel; then one credit reported by telegram and
// by JSON under the same reference is booked once, the second answered as a duplicate, and the
// same reference with another amount is a conflict.
TEST_F(EngineTest, ABankIsHeldToItsChannelsAndOneCreditIsBookedOnceAcrossThem) {
  Ok(CreateBank{"088", "Shinhan", BankProtocol::kTelegram, ""});
  Ok(CreateContract{"shop", "088", "8801234567890", "Demo Shop", Issuance::kPool, "", 3000, true});
  Ok(LoadNumbers{"shop", "088", "seoul", {"8800000001"}});
  const std::string bank088 = std::get<IssuedApiKey>(Ok(CreateApiKey{Role::kBank, "", "088", ""})).token;
  CreateAssignment issue;
  issue.order_id = "order-tg";
  issue.amount = Money(5000, Currency::Krw());
  issue.bank = "088";
  issue.expires_in_s = 3600;
  const Assignment a = std::get<AssignmentView>(Ok(issue, merchant_)).assignment;
  const Money paid(5000, Currency::Krw());
  const std::string reference = "20261125:000001:" + a.number;
  EXPECT_EQ(Err(DepositNotice{reference, a.number, paid, "Kim", clock_.Now()}, bank088), ErrorCode::kChannelNotAllowed);
  EXPECT_EQ(Err(Precheck{a.number, paid, "Kim"}, bank088), ErrorCode::kChannelNotAllowed);
  EXPECT_EQ(std::get<AssignmentView>(Ok(GetAssignment{a.id}, merchant_)).assignment.status, AssignmentStatus::kOpen);

  auto by_telegram = [&](Command command) {
    Answer answer;
    auto s = Make("", std::move(command), answer);
    s.internal = true;
    s.internal_caller = Caller{"telegram", Role::kBank, "", "088", BankProtocol::kTelegram};
    EXPECT_TRUE(engine_->Submit(std::move(s)));
    engine_->Step();
    return answer.result;
  };
  auto first = by_telegram(DepositNotice{"tg:" + reference, a.number, paid, "KIM", clock_.Now()});
  ASSERT_TRUE(first) << first.error().detail;
  const varelay::Deposit booked = std::get<DepositAck>(*first).deposit;

  UpdateBank allow;
  allow.code = "088";
  allow.extra_channels = ChannelBit(BankProtocol::kJson);
  EXPECT_EQ(std::get<Bank>(Ok(allow)).extra_channels, ChannelBit(BankProtocol::kJson));
  auto again = std::get<DepositAck>(Ok(DepositNotice{reference, a.number, paid, "Kim Minji", clock_.Now()}, bank088));
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.deposit.id, booked.id);
  EXPECT_EQ(Err(DepositNotice{reference, a.number, Money(4000, Currency::Krw()), "Kim", clock_.Now()}, bank088),
            ErrorCode::kTransactionIdConflict);
  DepositQuery all;
  all.bank = "088";
  EXPECT_EQ(std::get<DepositPage>(Ok(FindDeposits{all})).items.size(), 1u);
  EXPECT_TRUE(Verify().ok);

  Reopen();  // the channel survives a restart
  EXPECT_TRUE(std::get<DepositAck>(Ok(DepositNotice{reference, a.number, paid, "Kim", clock_.Now()}, bank088)).duplicate);
}

// Proves a multi-notice import books each item on its own: a duplicate is acknowledged again, a
// conflicting or dangling item is refused without stopping the rest, and a cancellation in the same
// message reverses a deposit booked earlier in it.
TEST_F(EngineTest, ImportAppliesEachNoticeOnItsOwn) {
  auto a = Issue("order-1", 15000);
  Deposit("tx-1", a.number, 15000);
  ImportNotices import;
  import.source = "msg-1";
  import.notices = {
      DepositNotice{"tx-1", a.number, Money(15000, Currency::Krw()), "홍길동", clock_.Now()},   // duplicate
      DepositNotice{"tx-1", a.number, Money(9, Currency::Krw()), "홍길동", clock_.Now()},       // conflict
      DepositNotice{"tx-2", "1000000002", Money(700, Currency::Krw()), "Lee", clock_.Now()},    // not assigned
      CancelDeposit{"tx-3", "tx-2", clock_.Now()},                                               // reverses tx-2
      CancelDeposit{"tx-4", "no-such-tx", clock_.Now()},                                         // refused
  };
  auto report = std::get<ImportReport>(Ok(import, bank_));
  ASSERT_EQ(report.items.size(), 5u);
  EXPECT_TRUE(report.items[0].ack && report.items[0].ack->duplicate);
  EXPECT_EQ(report.items[1].refusal->code, ErrorCode::kTransactionIdConflict);
  EXPECT_EQ(report.items[2].ack->deposit.outcome, DepositOutcome::kNotAssigned);
  EXPECT_TRUE(report.items[3].cancellation);
  EXPECT_EQ(report.items[3].ack->deposit.status, DepositStatus::kCancelled);
  EXPECT_EQ(report.items[4].refusal->code, ErrorCode::kNotFound);
  EXPECT_TRUE(Verify().ok);
  EXPECT_EQ(Err(import, merchant_), ErrorCode::kForbidden);
}

// Proves a transfer's life in the engine: recorded pending with the bank's next sequence of the day,
// the sending step leaves it in doubt, "not received" clears the doubt, the bank's word settles it
// once with its event, a restart keeps exactly the unsettled ones, and a bank that only reports
// (ISO 20022) takes none.
TEST_F(EngineTest, TransfersAreRecordedBeforeTheyAreSentAndSettleOnce) {
  Ok(CreateBank{"088", "Shinhan", BankProtocol::kTelegram, "127.0.0.1:9300"});
  Ok(CreateContract{"shop", "088", "8801234567890", "Demo Shop", Issuance::kPool, "", 3000, true});
  CreateTransfer c{"088", Money(5000, Currency::Krw()), "004", "11112222333", "Kim Minji", "REFUND"};
  auto first = std::get<TransferView>(Ok(c, payouts_)).transfer;
  auto second = std::get<TransferView>(Ok(c, payouts_)).transfer;
  EXPECT_EQ(first.status, TransferStatus::kPending);
  EXPECT_EQ(first.debit_account, "8801234567890");
  EXPECT_EQ(first.request_sequence, 1u);
  EXPECT_EQ(second.request_sequence, 2u);
  // An ISO 20022 bank only reports; JSON banks take transfers (their URL is the executor's).
  Ok(CreateBank{"011", "NH", BankProtocol::kIso20022, ""});
  Ok(CreateContract{"shop", "011", "0111234567890", "Demo Shop", Issuance::kPool, "", 3000, true});
  CreateTransfer reporting_bank = c;
  reporting_bank.bank = "011";
  EXPECT_EQ(Err(reporting_bank, payouts_), ErrorCode::kBankUnavailable);
  EXPECT_EQ(Err(c, merchant_), ErrorCode::kForbidden) << "a checkout key moves no money";
  EXPECT_EQ(Err(c, kAdminToken), ErrorCode::kForbidden);

  auto record = [&](TransferStep step, const std::string& id) {
    Answer answer;
    auto s = Make("", RecordTransfer{id, step, step == TransferStep::kCompleted ? "0000" : "", "", "", {}}, answer);
    s.internal = true;
    EXPECT_TRUE(engine_->Submit(std::move(s)));
    engine_->Step();
    return answer.result;
  };
  auto sent = record(TransferStep::kSending, first.id);
  ASSERT_TRUE(sent);
  EXPECT_TRUE(std::get<TransferView>(*sent).transfer.in_doubt);
  EXPECT_EQ(std::get<TransferView>(*sent).transfer.attempts, 1);
  EXPECT_FALSE(std::get<TransferView>(*record(TransferStep::kNotReceived, first.id)).transfer.in_doubt);
  auto done = record(TransferStep::kCompleted, first.id);
  ASSERT_TRUE(done);
  EXPECT_EQ(std::get<TransferView>(*done).transfer.status, TransferStatus::kCompleted);
  EXPECT_EQ(record(TransferStep::kCompleted, first.id).error().code, ErrorCode::kNotFound) << "settled once";

  auto events = std::get<EventPage>(Ok(ListEvents{}, merchant_)).items;
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event.type, EventType::kTransferCompleted);
  EXPECT_NE(events[0].event.payload.find(first.id), std::string::npos);

  Reopen();
  EXPECT_EQ(record(TransferStep::kCompleted, first.id).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(record(TransferStep::kSending, second.id)) << "still pending after the restart";
  auto third = std::get<TransferView>(Ok(c, payouts_)).transfer;
  EXPECT_EQ(third.request_sequence, 3u) << "no restart reuses a sequence number";
}

// Proves the pay-out limits in the engine: the defaults bind a merchant no operator set limits
// for; an operator's per-transfer and daily caps and allow-list refuse what they should and change
// nothing; a refused transfer gives its amount back to the day; a restart counts today's transfers
// again; the next Seoul day starts afresh; and a pay-out key does nothing but pay-outs.
TEST_F(EngineTest, PayoutLimitsAndAllowListsBindTransfersAtomically) {
  Ok(CreateBank{"088", "Shinhan", BankProtocol::kTelegram, "127.0.0.1:9300"});
  Ok(CreateContract{"shop", "088", "8801234567890", "Demo Shop", Issuance::kPool, "", 3000, true});
  auto transfer = [](std::int64_t won, std::string account = "11112222333") {
    return CreateTransfer{"088", Money(won, Currency::Krw()), "004", std::move(account), "Kim Minji", ""};
  };
  EXPECT_EQ(Err(transfer(kDefaultPayoutPerTransferMaxMinor + 1), payouts_), ErrorCode::kPayoutLimitExceeded);
  Ok(SetPayoutPolicy{"shop", 1000, 2500, {{"004", "11112222333"}}});
  EXPECT_EQ(Err(SetPayoutPolicy{"shop", 1, 1, {}}, payouts_), ErrorCode::kForbidden);
  EXPECT_EQ(Err(transfer(1001), payouts_), ErrorCode::kPayoutLimitExceeded);
  EXPECT_EQ(Err(transfer(10, "99998888777"), payouts_), ErrorCode::kRecipientNotAllowed);
  const Transfer a = std::get<TransferView>(Ok(transfer(1000), payouts_)).transfer;
  Ok(transfer(1000), payouts_);
  EXPECT_EQ(Err(transfer(501), payouts_), ErrorCode::kPayoutLimitExceeded) << "2000 held, 2500 a day";
  auto view = std::get<PayoutPolicyView>(Ok(GetPayoutPolicy{"shop"}, payouts_));
  EXPECT_EQ(view.used_today_minor, 2000);
  EXPECT_EQ(Err(GetPayoutPolicy{"other"}, payouts_), ErrorCode::kNotFound);

  Answer refused;
  auto s = Make("", RecordTransfer{a.id, TransferStep::kRefused, "0101", "", "no such account", {}}, refused);
  s.internal = true;
  ASSERT_TRUE(engine_->Submit(std::move(s)));
  engine_->Step();
  ASSERT_TRUE(refused.result);
  EXPECT_EQ(std::get<PayoutPolicyView>(Ok(GetPayoutPolicy{"shop"})).used_today_minor, 1000) << "a refusal gives it back";

  Reopen();
  EXPECT_EQ(std::get<PayoutPolicyView>(Ok(GetPayoutPolicy{"shop"})).used_today_minor, 1000) << "counted again at start";
  Ok(transfer(1000), payouts_);
  EXPECT_EQ(Err(transfer(501), payouts_), ErrorCode::kPayoutLimitExceeded);
  clock_.Advance(std::chrono::hours(24));
  Ok(transfer(1000), payouts_);  // a new day in Seoul

  // A pay-out key does nothing else, a checkout key no pay-outs.
  EXPECT_EQ(Err(ListPools{}, payouts_), ErrorCode::kForbidden);
  EXPECT_EQ(Err(FindDeposits{}, payouts_), ErrorCode::kForbidden);
  CreateAssignment checkout;
  checkout.order_id = "order-p";
  checkout.amount = Money(1000, Currency::Krw());
  checkout.bank = "004";
  EXPECT_EQ(Err(checkout, payouts_), ErrorCode::kForbidden);
  EXPECT_EQ(Err(transfer(10), merchant_), ErrorCode::kForbidden);
}

// Proves account-holder inquiries are bounded and kept: a merchant asks only banks it has a
// contract with, only so often (the rate comes back after its interval), and each inquiry is
// recorded asked, then with its outcome, the account masked, for an admin's list alone.
TEST_F(EngineTest, HolderInquiriesNeedAContractAreRateLimitedAndRecorded) {
  Reopen();  // the default rate: kDefaultHolderInquiriesPerMinute
  Ok(CreateBank{"088", "Shinhan", BankProtocol::kTelegram, "127.0.0.1:9300"});
  StartHolderInquiry ask{"088", "11112222333"};
  EXPECT_EQ(Err(ask, merchant_), ErrorCode::kNoContract);
  EXPECT_EQ(Err(ask, kAdminToken), ErrorCode::kForbidden);
  EXPECT_EQ(Err(ask, bank_), ErrorCode::kForbidden);
  Ok(CreateContract{"shop", "088", "8801234567890", "Demo Shop", Issuance::kPool, "", 3000, true});
  Ok(CreateContract{"other", "088", "8809876543210", "Other Shop", Issuance::kPool, "", 3000, true});
  std::vector<std::string> ids;
  for (int i = 0; i < kDefaultHolderInquiriesPerMinute; ++i) {
    auto ticket = std::get<HolderInquiryTicket>(Ok(ask, i % 2 ? merchant_ : payouts_));
    ASSERT_FALSE(ticket.retry_after) << i;
    EXPECT_EQ(ticket.route.endpoint, "127.0.0.1:9300");
    ids.push_back(ticket.inquiry_id);
  }
  auto limited = std::get<HolderInquiryTicket>(Ok(ask, merchant_));
  ASSERT_TRUE(limited.retry_after);
  EXPECT_EQ(*limited.retry_after, Millis(60'000 / kDefaultHolderInquiriesPerMinute));
  EXPECT_TRUE(limited.inquiry_id.empty()) << "nothing recorded";
  EXPECT_FALSE(std::get<HolderInquiryTicket>(Ok(ask, other_)).retry_after) << "another merchant's own bucket";

  Answer done;
  auto s = Make("", FinishHolderInquiry{ids[0], HolderInquiryOutcome::kFound}, done);
  s.internal = true;
  ASSERT_TRUE(engine_->Submit(std::move(s)));
  engine_->Step();
  ASSERT_TRUE(done.result);
  EXPECT_EQ(Err(FinishHolderInquiry{ids[0], HolderInquiryOutcome::kFailed}, kAdminToken), ErrorCode::kNotFound)
      << "an outcome is recorded once";

  EXPECT_EQ(Err(ListHolderInquiries{}, merchant_), ErrorCode::kForbidden);
  ListHolderInquiries list;
  list.query.merchant = "shop";
  list.query.limit = 500;
  auto page = std::get<HolderInquiryPage>(Ok(list));
  ASSERT_EQ(page.items.size(), static_cast<std::size_t>(kDefaultHolderInquiriesPerMinute));
  const HolderInquiryRecord& first = page.items.back();  // newest first
  EXPECT_EQ(first.id, ids[0]);
  EXPECT_EQ(first.account_masked, "*******2333");
  EXPECT_EQ(first.outcome, HolderInquiryOutcome::kFound);
  EXPECT_TRUE(first.answered_at);
  EXPECT_EQ(page.items.front().outcome, HolderInquiryOutcome::kAsked);

  clock_.Advance(Millis(60'000 / kDefaultHolderInquiriesPerMinute));
  EXPECT_FALSE(std::get<HolderInquiryTicket>(Ok(ask, merchant_)).retry_after) << "one more after the interval";
}

// Proves a deactivated merchant looks up no holder names, as it issues nothing and pays out
// nothing: refused before the rate limit and the record, so nothing is kept and no token spent.
TEST_F(EngineTest, InactiveMerchantMakesNoHolderInquiries) {
  Reopen();
  Ok(CreateBank{"088", "Shinhan", BankProtocol::kTelegram, "127.0.0.1:9300"});
  Ok(CreateContract{"shop", "088", "8801234567890", "Demo Shop", Issuance::kPool, "", 3000, true});
  Ok(UpdateMerchant{"shop", std::nullopt, false});
  StartHolderInquiry ask{"088", "11112222333"};
  for (int i = 0; i < kDefaultHolderInquiriesPerMinute; ++i) {
    EXPECT_EQ(Err(ask, i % 2 ? merchant_ : payouts_), ErrorCode::kForbidden) << i;
  }
  EXPECT_TRUE(std::get<HolderInquiryPage>(Ok(ListHolderInquiries{})).items.empty()) << "nothing recorded";
  Ok(UpdateMerchant{"shop", std::nullopt, true});
  EXPECT_FALSE(std::get<HolderInquiryTicket>(Ok(ask, merchant_)).retry_after) << "no token was spent";
}

// Proves open account-holder inquiries are bounded: one whose outcome never comes (its submission
// refused, the relay overloaded or stopping) is recorded `failed` once the bank's time and a margin
// have passed, and forgotten; and beyond the cap a new inquiry is refused 503 overloaded, without
// a record or a token spent.
TEST_F(EngineTest, OpenHolderInquiriesExpireAndAreCapped) {
  max_open_holder_inquiries_ = 3;
  Reopen();
  Ok(CreateBank{"088", "Shinhan", BankProtocol::kTelegram, "127.0.0.1:9300"});
  Ok(CreateContract{"shop", "088", "8801234567890", "Demo Shop", Issuance::kPool, "", 3000, true});
  StartHolderInquiry ask{"088", "11112222333"};
  const Instant asked = clock_.Now();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(std::get<HolderInquiryTicket>(Ok(ask, merchant_)).inquiry_id);
  EXPECT_EQ(Err(ask, payouts_), ErrorCode::kOverloaded) << "the cap";
  ListHolderInquiries list;
  list.query.limit = 500;
  ASSERT_EQ(std::get<HolderInquiryPage>(Ok(list)).items.size(), 3u) << "the refusal is not recorded";

  const Instant deadline = asked + RelayOptions{}.holder_inquiry_expiry;
  ASSERT_TRUE(engine_->relay().NextTimer());
  EXPECT_LE(*engine_->relay().NextTimer(), deadline) << "the engine wakes for it";
  clock_.Set(deadline - 1ms);
  engine_->Step();
  const auto before = std::get<HolderInquiryPage>(Ok(list));
  for (const auto& item : before.items) {
    EXPECT_EQ(item.outcome, HolderInquiryOutcome::kAsked) << "not before its time";
  }
  clock_.Set(deadline);
  engine_->Step();
  const auto after = std::get<HolderInquiryPage>(Ok(list));
  ASSERT_EQ(after.items.size(), 3u);
  for (const auto& item : after.items) {
    EXPECT_EQ(item.outcome, HolderInquiryOutcome::kFailed) << item.id;
    EXPECT_EQ(item.answered_at, std::optional<Instant>(deadline)) << item.id;
  }
  EXPECT_EQ(Err(FinishHolderInquiry{ids[0], HolderInquiryOutcome::kFound}, kAdminToken), ErrorCode::kNotFound)
      << "forgotten";
  EXPECT_FALSE(std::get<HolderInquiryTicket>(Ok(ask, payouts_)).retry_after) << "room again, and no token was spent";
}

// Proves a merchant's unsettled transfers are capped (a bank that never answers must not let them
// pile up without end), with a refusal that changes nothing.
TEST_F(EngineTest, UnsettledTransfersAreCappedPerMerchant) {
  Ok(CreateBank{"088", "Shinhan", BankProtocol::kTelegram, "127.0.0.1:9300"});
  Ok(CreateContract{"shop", "088", "8801234567890", "Demo Shop", Issuance::kPool, "", 3000, true});
  CreateTransfer c{"088", Money(100, Currency::Krw()), "004", "11112222333", "Kim Minji", ""};
  std::vector<Answer> answers(10'000);
  for (auto& answer : answers) ASSERT_TRUE(engine_->Submit(Make(payouts_, c, answer)));
  while (engine_->Step() > 0) {
  }
  for (const auto& answer : answers) ASSERT_TRUE(answer.result);
  EXPECT_EQ(Err(c, payouts_), ErrorCode::kOverloaded);
  ListTransfers pending;
  pending.query.status = TransferStatus::kPending;
  pending.query.limit = 500;
  auto page = std::get<TransferPage>(Ok(pending, merchant_));
  EXPECT_EQ(page.items.size(), 500u);
  EXPECT_EQ(page.items.front().request_sequence, 10'000u) << "newest first; the refused one took no number";
}

// Proves a list query that would have to wait for the tables (a store writing them behind its
// command log) is put aside instead of holding the engine: the write queued behind it is answered
// in the same batch, and the query is answered, with everything committed before it, once the
// tables have caught up.
TEST_F(EngineTest, AQueryWaitingForTheTablesDoesNotHoldTheWritesBehindIt) {
  ReopenOnALazyCommandLog();
  const Assignment paid = Issue("order-1", 15'000);
  Deposit("tx-1", paid.number, 15'000);
  const std::uint64_t floor = store_->CommittedPosition();
  ASSERT_LT(store_->AppliedPosition(), floor);  // the deposit is not in the tables yet

  Answer listed, issued;
  ASSERT_TRUE(engine_->Submit(Make(merchant_, FindDeposits{}, listed)));
  CreateAssignment c;
  c.order_id = "order-2";
  c.amount = Money(20'000, Currency::Krw());
  c.bank = "004";
  c.expires_in_s = 3600;
  ASSERT_TRUE(engine_->Submit(Make(merchant_, c, issued)));
  engine_->Step();
  ASSERT_TRUE(issued.result) << issued.result.error().detail;
  EXPECT_EQ(std::get<AssignmentView>(*issued.result).assignment.order_id, "order-2");
  ASSERT_FALSE(listed.result);
  EXPECT_EQ(listed.result.error().detail, "no reply");  // put aside, not answered

  // Putting it aside asked the store's applier to hurry; once it has, the next batch answers it.
  for (int i = 0; i < 1000 && store_->AppliedPosition() < floor; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_GE(store_->AppliedPosition(), floor);
  engine_->Step();
  ASSERT_TRUE(listed.result) << listed.result.error().detail;
  const auto& page = std::get<DepositPage>(*listed.result);
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].transaction_id, "tx-1");
}

// Proves, with the engine's own threads, that queries put aside for the tables are all answered
// while writes go on, including those still aside when the engine stops.
TEST_F(EngineTest, QueriesPutAsideAreAnsweredWhileWritesGoOn) {
  ReopenOnALazyCommandLog();
  engine_->Start();
  constexpr int kEach = 200;
  std::atomic<int> written{0}, listed{0}, failed{0};
  auto submit = [&](Command command, std::atomic<int>& count) {
    Submission s;
    s.bearer = kAdminToken;
    s.command = std::move(command);
    s.reply = [&count, &failed](Result<Outcome> r, std::optional<RenderedResponse>) {
      if (!r) ++failed;
      ++count;
    };
    EXPECT_TRUE(engine_->Submit(std::move(s)));  // far below the queue's capacity
  };
  std::thread writer([&] {
    for (int i = 0; i < kEach; ++i)
      submit(CreateMerchant{"m" + std::to_string(i), "Shop"}, written);
  });
  std::thread reader([&] {
    for (int i = 0; i < kEach; ++i) submit(FindDeposits{}, listed);
  });
  writer.join();
  reader.join();
  engine_->Stop();  // answers what is still put aside before it returns
  EXPECT_EQ(written.load(), kEach);
  EXPECT_EQ(listed.load(), kEach);
  EXPECT_EQ(failed.load(), 0);
}

// Proves the ledger audit starts a batch of its own: queued right behind a deposit, it still
// compares the tables with the relay's head as of the same batches, with the tables written
// behind a command log (which a batch's own rows do not reach before it commits).
TEST_F(EngineTest, TheLedgerAuditStartsABatchOfItsOwn) {
  ReopenOnALazyCommandLog();
  const Assignment a = Issue("order-1", 15'000);
  Answer deposited, verified;
  ASSERT_TRUE(engine_->Submit(
      Make(bank_,
           DepositNotice{"tx-1", a.number, Money(15'000, Currency::Krw()), "홍길동", clock_.Now()},
           deposited)));
  ASSERT_TRUE(engine_->Submit(Make(kAdminToken, VerifyLedger{}, verified)));
  engine_->Step();
  ASSERT_TRUE(deposited.result) << deposited.result.error().detail;
  EXPECT_FALSE(verified.result);  // not in the deposit's batch
  engine_->Step();
  ASSERT_TRUE(verified.result) << verified.result.error().detail;
  const auto& verdict = std::get<LedgerVerdict>(*verified.result);
  EXPECT_TRUE(verdict.ok) << verdict.reason;
  EXPECT_GT(verdict.entries, 0);
}

// Proves a resend with an Idempotency-Key (it reads the event's deliveries from the tables) does
// not hold the engine while the tables are behind: it is put aside as a list query is, the write
// queued behind it is answered in the same batch, the same key meanwhile is 409 in flight, and
// once the tables have caught up it is answered and its response stored (the key then replays).
TEST_F(EngineTest, AResendDoesNotHoldTheEngineWhileTheTablesAreBehind) {
  ReopenOnALazyCommandLog();
  RecordingListener listener;
  engine_->SetOutboxListener(&listener);
  Ok(CreateWebhookEndpoint{"https://shop.example/hooks", {}, ""}, merchant_);
  Issue("order-1", 1000);
  ASSERT_FALSE(listener.deliveries.empty());
  const std::string event_id = listener.deliveries[0].event->id;
  const std::uint64_t floor = store_->CommittedPosition();
  ASSERT_LT(store_->AppliedPosition(), floor);  // the event's delivery is not in the tables yet

  Answer resent, twice, issued, replayed;
  auto resend = [&](Answer& answer) {
    Submission s = Make(merchant_, ResendEvent{event_id, ""}, answer);
    s.idempotency = IdempotencyRequest{"resend-1", "fp"};
    return s;
  };
  ASSERT_TRUE(engine_->Submit(resend(resent)));
  ASSERT_TRUE(engine_->Submit(resend(twice)));
  ASSERT_TRUE(engine_->Submit(Make(merchant_, OrderIn("seoul", "order-2"), issued)));
  engine_->Step();
  ASSERT_TRUE(issued.result) << issued.result.error().detail;
  EXPECT_EQ(resent.result.error().detail, "no reply");  // put aside, not answered
  ASSERT_FALSE(twice.result);
  EXPECT_EQ(twice.result.error().code, ErrorCode::kIdempotencyInFlight);

  for (int i = 0; i < 1000 && store_->AppliedPosition() < floor; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_GE(store_->AppliedPosition(), floor);
  engine_->Step();
  ASSERT_TRUE(resent.result) << resent.result.error().detail;
  EXPECT_EQ(std::get<EventView>(*resent.result).event.id, event_id);
  ASSERT_TRUE(resent.rendered);
  EXPECT_FALSE(resent.rendered->replayed);
  ASSERT_TRUE(engine_->Submit(resend(replayed)));
  engine_->Step();
  ASSERT_TRUE(replayed.rendered);
  EXPECT_TRUE(replayed.rendered->replayed);
}

// A read-only connection to the tables in `db`, each ReadLedger of which first calls `hook`.
std::function<Result<std::unique_ptr<Store>>()> ReaderOf(const std::filesystem::path& db,
                                                          std::function<void()> hook = {}) {
  return [db, hook]() -> Result<std::unique_ptr<Store>> {
    auto opened = OpenSqliteStore(db.string(), OpenMode::kReadOnly);
    if (!opened) return std::unexpected(opened.error());
    auto reader = std::make_unique<CountingStore>(std::move(*opened));
    reader->on_read_ledger = hook;
    return std::unique_ptr<Store>(std::move(reader));
  };
}

// Proves the ledger audit reads the tables off the engine thread: while it is held in the middle
// of reading the ledger (a reader whose reads block until released), the engine applies and
// answers a deposit; released, the audit finds the chain sound up to the head it was handed,
// although the tables hold the deposit's entry after it by then.
TEST_F(EngineTest, TheEngineAnswersADepositWhileALedgerAuditReads) {
  const Assignment first = Issue("order-1", 15'000);
  const Assignment second = Issue("order-2", 20'000);
  Deposit("tx-1", first.number, 15'000);
  engine_.reset();
  std::mutex mutex;
  std::condition_variable changed;
  bool reading = false, released = false;
  auto hold = [&] {
    std::unique_lock lock(mutex);
    reading = true;
    changed.notify_all();
    changed.wait(lock, [&] { return released; });
  };
  CountingStore counting(*store_);
  counting.on_read_ledger = hold;  // an audit on the engine's own store would hold the engine
  EngineOptions options;
  options.relay.quarantine = std::chrono::hours(1);
  options.open_reader = ReaderOf(dir_ / "varelay.db", hold);
  Engine engine(counting, clock_, options);
  ASSERT_TRUE(engine.Recover());
  engine.Start();
  auto submit = [&](const std::string& bearer, Command command) {
    auto answer = std::make_shared<std::promise<Result<Outcome>>>();
    Submission s;
    s.bearer = bearer;
    s.command = std::move(command);
    s.channel = BankProtocol::kJson;  // as the JSON routes say
    s.reply = [answer](Result<Outcome> r, std::optional<RenderedResponse>) { answer->set_value(std::move(r)); };
    EXPECT_TRUE(engine.Submit(std::move(s)));
    return answer->get_future();
  };
  auto verified = submit(kAdminToken, VerifyLedger{});
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, 10s, [&] { return reading; })) << "the audit began reading";
  }
  auto deposited = submit(bank_, DepositNotice{"tx-2", second.number, Money(20'000, Currency::Krw()), "홍길동",
                                               clock_.Now()});
  const bool answered = deposited.wait_for(10s) == std::future_status::ready;
  {
    std::lock_guard lock(mutex);
    released = true;
  }
  changed.notify_all();
  ASSERT_TRUE(answered) << "the deposit waited for the audit";
  auto deposit = deposited.get();
  ASSERT_TRUE(deposit) << deposit.error().detail;
  ASSERT_EQ(verified.wait_for(10s), std::future_status::ready);
  auto verdict = verified.get();
  ASSERT_TRUE(verdict) << verdict.error().detail;
  EXPECT_TRUE(std::get<LedgerVerdict>(*verdict).ok) << std::get<LedgerVerdict>(*verdict).reason;
  EXPECT_EQ(std::get<LedgerVerdict>(*verdict).entries, 1);  // up to the head it was handed
  engine.Stop();
}

// Proves an audit below full duty rests after each page of entries, three times as long as the
// page took at 25 percent (so it reads a quarter of the time), and not at all at 100.
TEST_F(EngineTest, AnAuditAtAQuarterDutyRestsThreeTimesAsLongAsEachPageTook) {
  const Assignment first = Issue("order-1", 15'000);
  Deposit("tx-1", first.number, 15'000);
  engine_.reset();
  auto entries = store_->ReadLedger(0, 10);
  ASSERT_TRUE(entries && !entries->empty());
  const LedgerHead head{entries->back().seq, entries->back().hash};
  CountingStore slow(*store_);
  slow.on_read_ledger = [] { std::this_thread::sleep_for(20ms); };
  std::vector<std::chrono::nanoseconds> rests;
  AuditPacing quarter;
  quarter.duty_percent = 25;
  quarter.rest = [&](std::chrono::nanoseconds pause) { rests.push_back(pause); };
  auto verdict = AuditLedgerTo(slow, head, quarter);
  ASSERT_TRUE(verdict && verdict->ok);
  ASSERT_EQ(rests.size(), 3u);  // a page of entries, a range of deposits, a range of entries
  EXPECT_GE(rests[0], 60ms);    // three times the 20 ms or more the page took

  AuditPacing full = quarter;
  full.duty_percent = 100;
  rests.clear();
  ASSERT_TRUE(AuditLedgerTo(slow, head, full));
  EXPECT_TRUE(rests.empty());
}

// Runs `sql` on the tables of `db` (to damage them as an attacker with the file would).
void Tamper(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* handle = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db.string().c_str(), &handle, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(handle);
  sqlite3_close(handle);
}

// Proves the ledger audit on its own reader still finds a tampered entry (naming its seq) and a
// chain that does not end at the relay's head (its last entry removed).
TEST_F(EngineTest, TheAuditOnItsOwnReaderFindsATamperedChainAndOneShortOfTheHead) {
  const Assignment first = Issue("order-1", 15'000);
  const Assignment second = Issue("order-2", 20'000);
  Deposit("tx-1", first.number, 15'000);
  Deposit("tx-2", second.number, 20'000);
  engine_.reset();
  EngineOptions options;
  options.relay.quarantine = std::chrono::hours(1);
  options.open_reader = ReaderOf(dir_ / "varelay.db");
  engine_ = std::make_unique<Engine>(*store_, clock_, options);
  ASSERT_TRUE(engine_->Recover());
  EXPECT_TRUE(Verify().ok);
  EXPECT_EQ(Verify().entries, 2);

  Tamper(dir_ / "varelay.db", "UPDATE ledger_entries SET at = at + 1 WHERE seq = 1");
  LedgerVerdict tampered = Verify();
  EXPECT_FALSE(tampered.ok);
  EXPECT_EQ(tampered.first_bad_seq, 1);
  Tamper(dir_ / "varelay.db", "UPDATE ledger_entries SET at = at - 1 WHERE seq = 1");
  EXPECT_TRUE(Verify().ok);

  Tamper(dir_ / "varelay.db", "DELETE FROM ledger_entries WHERE seq = 2");
  LedgerVerdict short_of_head = Verify();
  EXPECT_FALSE(short_of_head.ok);
  EXPECT_EQ(short_of_head.reason, "the stored chain does not end at the relay's head");
}

// Proves the posting check, range by range, still names a deposit whose entries do not match its
// status and an entry whose deposit is gone, with the chain itself intact.
TEST_F(EngineTest, TheAuditOnItsOwnReaderFindsDepositsNotPostedExactlyOnce) {
  const Assignment first = Issue("order-1", 15'000);
  Deposit("tx-1", first.number, 15'000);
  engine_.reset();
  EngineOptions options;
  options.relay.quarantine = std::chrono::hours(1);
  options.open_reader = ReaderOf(dir_ / "varelay.db");
  engine_ = std::make_unique<Engine>(*store_, clock_, options);
  ASSERT_TRUE(engine_->Recover());
  ASSERT_TRUE(Verify().ok);

  Tamper(dir_ / "varelay.db", "UPDATE deposits SET status = 'cancelled'");
  LedgerVerdict unreversed = Verify();
  EXPECT_FALSE(unreversed.ok);
  EXPECT_TRUE(unreversed.reason.starts_with("deposits not posted exactly once: dep_")) << unreversed.reason;

  Tamper(dir_ / "varelay.db", "UPDATE deposits SET status = 'booked', id = 'dep_elsewhere'");
  LedgerVerdict orphaned = Verify();
  EXPECT_FALSE(orphaned.ok);
  EXPECT_EQ(orphaned.reason, "deposits not posted exactly once: dep_elsewhere, ledger entry 1 names no deposit");
}

// ---- bank statements (camt.053) -------------------------------------------------------------

// A camt.053 message of `count` account statements whose XML is `xml_bytes` long.
StoreStatements StatementMessageOf(const std::string& message_id, std::size_t count, std::size_t xml_bytes) {
  StoreStatements c;
  c.xml = "<Document>" + std::string(xml_bytes, ' ') + "</Document>";
  c.xml.resize(xml_bytes);
  for (std::size_t i = 0; i < count; ++i) {
    BankStatement s;
    s.message_id = message_id;
    s.statement_id = "S-" + std::to_string(i);
    s.account = "1002003004005";
    s.currency = "KRW";
    s.created = "2026-11-25T10:00:00";
    c.statements.push_back(std::move(s));
  }
  return c;
}

// Proves a camt.053 message with many account statements writes its XML into the command log
// once, not once per statement: 1,000 statements of a 200 KB message log about 200 KB, where a
// record per statement with the whole XML logged 200 MB.
TEST_F(EngineTest, AStatementMessageLogsItsXmlOnce) {
  ReopenOnALazyCommandLog();
  const std::uint64_t before = store_->LoggedBytes();
  const auto list = std::get<StatementList>(Ok(StatementMessageOf("MSG-1", kMaxStatementsPerMessage, 200'000), bank_));
  ASSERT_EQ(list.items.size(), kMaxStatementsPerMessage);
  EXPECT_EQ(std::count(list.duplicate.begin(), list.duplicate.end(), true), 0);
  EXPECT_LT(store_->LoggedBytes() - before, 400'000u);
  // Sent again: every statement a duplicate, nothing logged.
  const std::uint64_t once = store_->LoggedBytes();
  const auto again = std::get<StatementList>(Ok(StatementMessageOf("MSG-1", 3, 200'000), bank_));
  EXPECT_EQ(std::count(again.duplicate.begin(), again.duplicate.end(), true), 3);
  EXPECT_LT(store_->LoggedBytes() - once, 1'000u);
  // A statement id twice in one message is stored once, the second answered as a duplicate.
  auto twice = StatementMessageOf("MSG-2", 2, 100);
  twice.statements[1].statement_id = twice.statements[0].statement_id;
  const auto list2 = std::get<StatementList>(Ok(twice, bank_));
  EXPECT_EQ(list2.duplicate, (std::vector<bool>{false, true}));
  Crash();  // the log replays into the tables at the next open
  ReopenOnALazyCommandLog();
  const auto listed = std::get<StatementList>(Ok(ListStatements{"004", 500}));
  EXPECT_EQ(listed.items.size(), 500u);
}

// Proves a camt.053 message over the cap on statements is refused (413 body_too_large) and
// changes nothing: nothing logged, nothing stored.
TEST_F(EngineTest, AStatementMessageOverTheCapChangesNothing) {
  ReopenOnALazyCommandLog();
  const std::uint64_t before = store_->LoggedBytes();
  EXPECT_EQ(Err(StatementMessageOf("MSG-1", kMaxStatementsPerMessage + 1, 100'000), bank_),
            ErrorCode::kBodyTooLarge);
  EXPECT_LT(store_->LoggedBytes() - before, 1'000u);  // the batch's timers at most, no statement
  Crash();
  ReopenOnALazyCommandLog();
  EXPECT_TRUE(std::get<StatementList>(Ok(ListStatements{"004", 10})).items.empty());
}

// Proves a batch ends once its writes come to max_batch_bytes: the commands behind wait for the
// next batch, in order, so large messages queued together never make one batch of their sum.
TEST_F(EngineTest, ABatchEndsOnceItsWritesComeToTheCap) {
  EngineOptions options;
  options.max_batch_bytes = 1'000'000;
  ReopenOnALazyCommandLog(options);
  Answer first, second, third;
  ASSERT_TRUE(engine_->Submit(Make(bank_, StatementMessageOf("MSG-1", 1, 600'000), first)));
  ASSERT_TRUE(engine_->Submit(Make(bank_, StatementMessageOf("MSG-2", 1, 600'000), second)));
  ASSERT_TRUE(engine_->Submit(Make(bank_, StatementMessageOf("MSG-3", 1, 600'000), third)));
  const std::uint64_t before = store_->LoggedBytes();
  EXPECT_EQ(engine_->Step(), 2u);  // 600 KB, then 1.2 MB: at the cap, the third waits
  EXPECT_LT(store_->LoggedBytes() - before, 1'300'000u);
  ASSERT_TRUE(first.result) << first.result.error().detail;
  ASSERT_TRUE(second.result) << second.result.error().detail;
  EXPECT_FALSE(third.result);
  EXPECT_EQ(engine_->Step(), 1u);
  ASSERT_TRUE(third.result) << third.result.error().detail;
}

// ---- running snapshots ----------------------------------------------------------------------

// Proves a start after a kill that finds a running snapshot reads it and replays the log after
// it to the very state the engine had: pool counts (a new pool, new numbers), open, paid,
// cancelled, expired and reopened assignments with what was paid, the free list's order (numbers
// never used first, then the cooled ones in the order they came back), a late deposit's
// tombstone; that the tables alone give the same counts and assignments but only the numbers'
// order; and that the snapshot serves the next start too, with the longer log.
TEST_F(EngineTest, ARunningSnapshotAndTheLogAfterItRestoreTheStateTheEngineHad) {
  ReopenKeepingTheLog();
  EXPECT_FALSE(recovery_.from_running_snapshot);
  EXPECT_TRUE(recovery_.running_snapshot_skipped.empty()) << recovery_.running_snapshot_skipped;
  Ok(LoadNumbers{"shop", "004", "seoul", {"1000000003", "1000000004", "1000000005"}});
  const Assignment paid = IssueIn("seoul", "order-1", 1800);
  const Assignment open =
      IssueIn("seoul", "order-2", 7200, {AmountRuleKind::kAccumulate, 0, 0, Overpayment::kRefuse});
  const Assignment cancelled = IssueIn("seoul", "order-3");
  const Assignment expiring = IssueIn("seoul", "order-4", 1800);
  ASSERT_EQ(expiring.number, "1000000004");
  Deposit("tx-1", paid.number, 1000);  // paid: cooling until kStart + 1 h
  EXPECT_EQ(Deposit("tx-2", open.number, 500).deposit.outcome, DepositOutcome::kPartial);
  const std::uint64_t taken_at = TakeRunningSnapshot(RunningSnapshotPath());

  // In the log only, from here on.
  Ok(CancelAssignment{cancelled.id}, merchant_);  // cooling until kStart + 1 h
  Deposit("tx-3", open.number, 200);
  Ok(LoadNumbers{"shop", "004", "seoul", {"1000000006"}});
  Ok(LoadNumbers{"shop", "004", "busan", {"2000000001", "2000000002", "2000000003"}});
  clock_.Advance(45min);
  engine_->Step();  // order-4 expires: cooling until kStart + 1 h 30 min
  EXPECT_EQ(Deposit("tx-4", paid.number, 300).deposit.outcome, DepositOutcome::kLate);
  Ok(CancelDeposit{"tx-1c", "tx-1", clock_.Now()}, bank_);  // past due: order-1 only loses it
  const Assignment fresh = IssueIn("busan", "order-5");
  const Assignment reopened = IssueIn("busan", "order-6");
  Deposit("tx-5", reopened.number, 1000);
  Ok(CancelDeposit{"tx-5c", "tx-5", clock_.Now()}, bank_);  // the order is open again
  clock_.Advance(15min + 1s);
  engine_->Step();  // 1000000001, then 1000000003, back in the pool behind 1000000005 and 6

  const std::vector<std::string> ids = {paid.id,     open.id,  cancelled.id,
                                        expiring.id, fresh.id, reopened.id};
  std::vector<std::string> seen_before;
  for (const auto& id : ids) seen_before.push_back(Seen(id));
  const std::vector<std::string> pools_before = PoolsSeen();
  ASSERT_EQ(pools_before,
            (std::vector<std::string>{"shop/004/busan: 1 free, 2 assigned, 0 cooling",
                                      "shop/004/seoul: 4 free, 1 assigned, 1 cooling"}));
  const std::uint64_t crashed_at = store_->CommittedPosition();
  const Instant crashed_when = clock_.Now();
  Crash();
  CopyDataTo(dir_ / "tables-only");

  ReopenKeepingTheLog();
  EXPECT_TRUE(recovery_.from_running_snapshot) << recovery_.running_snapshot_skipped;
  EXPECT_EQ(recovery_.running_snapshot_position, taken_at);
  EXPECT_GT(recovery_.replayed_batches, 0u);
  EXPECT_EQ(recovery_.replayed_batches, crashed_at - taken_at);
  EXPECT_EQ(recovery_.live_assignments, 4) << "three open or reopened, one tombstone";
  EXPECT_TRUE(std::filesystem::exists(RunningSnapshotPath())) << "kept for the next start";
  EXPECT_EQ(PoolsSeen(), pools_before);
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(Seen(ids[i]), seen_before[i]);
  EXPECT_EQ(DrainRegion("seoul"),
            (std::vector<std::string>{"1000000005", "1000000006", "1000000001", "1000000003"}))
      << "never-used numbers first, then the cooled ones in the order they came back";
  EXPECT_EQ(DrainRegion("busan"), std::vector<std::string>{"2000000003"});
  EXPECT_EQ(Deposit("tx-6", open.number, 300).deposit.outcome, DepositOutcome::kMatched)
      << "500 and 200 were paid before";
  EXPECT_EQ(Deposit("tx-7", expiring.number, 100).deposit.assignment_id, expiring.id)
      << "late, on the tombstone";
  EXPECT_EQ(Deposit("tx-8", reopened.number, 1000).deposit.outcome, DepositOutcome::kMatched);
  clock_.Advance(45min);  // past order-5's due time (kStart + 1 h 45 min)
  engine_->Step();
  EXPECT_NE(Seen(fresh.id).find(" expired "), std::string::npos) << "its expiry was queued";
  EXPECT_TRUE(Verify().ok);
  const std::vector<std::string> pools_later = PoolsSeen();

  ReopenKeepingTheLog();  // a second kill, no newer snapshot: the same one, a longer log
  EXPECT_TRUE(recovery_.from_running_snapshot) << recovery_.running_snapshot_skipped;
  EXPECT_GT(recovery_.replayed_batches, crashed_at - taken_at);
  EXPECT_EQ(PoolsSeen(), pools_later);

  EngineOptions tables_only = RunningSnapshotOptions();
  tables_only.running_snapshot_path.clear();
  clock_.Set(crashed_when);
  ReopenKeepingTheLog(dir_ / "tables-only", tables_only);
  EXPECT_FALSE(recovery_.from_running_snapshot);
  EXPECT_EQ(PoolsSeen(), pools_before);
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(Seen(ids[i]), seen_before[i]);
  EXPECT_EQ(DrainRegion("seoul"),
            (std::vector<std::string>{"1000000001", "1000000003", "1000000005", "1000000006"}))
      << "the tables keep no order but the numbers'";
}

// Proves a running snapshot taken at a batch past the log's last one (batches a power cut took
// back) is not read: the start says why, removes it before anything changes, and reads the
// store, with nothing lost.
TEST_F(EngineTest, ARunningSnapshotPastTheLogsEndIsRemovedAndTheStoreRead) {
  ReopenKeepingTheLog();
  const Assignment a = Issue("order-1", 1000);
  auto written = engine_->relay().WriteRunningSnapshot(RunningSnapshotPath(),
                                                       store_->CommittedPosition() + 100);
  ASSERT_TRUE(written) << written.error().detail;
  const Assignment b = Issue("order-2", 2000);  // not in the snapshot
  Deposit("tx-1", a.number, 1000);
  ReopenKeepingTheLog();
  EXPECT_FALSE(recovery_.from_running_snapshot);
  EXPECT_NE(recovery_.running_snapshot_skipped.find("past the log's last batch"), std::string::npos)
      << recovery_.running_snapshot_skipped;
  EXPECT_FALSE(std::filesystem::exists(RunningSnapshotPath()));
  EXPECT_EQ(recovery_.live_assignments, 2);
  EXPECT_EQ(PoolsSeen(), std::vector<std::string>{"shop/004/seoul: 0 free, 1 assigned, 1 cooling"});
  EXPECT_EQ(Deposit("tx-2", b.number, 2000).deposit.outcome, DepositOutcome::kMatched);
  EXPECT_TRUE(Verify().ok);
}

// Proves a running snapshot the log no longer reaches back to (a start that kept no log came in
// between) is not read: the start says so, removes it and reads the store.
TEST_F(EngineTest, ARunningSnapshotTheLogNoLongerReachesIsRemovedAndTheStoreRead) {
  ReopenKeepingTheLog();
  const Assignment a = Issue("order-1", 1000);
  TakeRunningSnapshot(RunningSnapshotPath());
  const Assignment b = Issue("order-2", 2000);
  ReopenOnALazyCommandLog();  // keeps no log and reads no running snapshot
  EXPECT_TRUE(std::filesystem::exists(RunningSnapshotPath()));
  Deposit("tx-1", a.number, 1000);
  ReopenKeepingTheLog();
  EXPECT_FALSE(recovery_.from_running_snapshot);
  EXPECT_NE(recovery_.running_snapshot_skipped.find("no longer holds"), std::string::npos)
      << recovery_.running_snapshot_skipped;
  EXPECT_FALSE(std::filesystem::exists(RunningSnapshotPath()));
  EXPECT_EQ(PoolsSeen(), std::vector<std::string>{"shop/004/seoul: 0 free, 1 assigned, 1 cooling"});
  EXPECT_EQ(Deposit("tx-2", b.number, 2000).deposit.outcome, DepositOutcome::kMatched);
}

// Proves a damaged running snapshot (a byte changed) fails its checksum, is removed, and the
// start reads the store.
TEST_F(EngineTest, ADamagedRunningSnapshotIsRemovedAndTheStoreRead) {
  ReopenKeepingTheLog();
  const Assignment a = Issue("order-1", 1000);
  TakeRunningSnapshot(RunningSnapshotPath());
  const Assignment b = Issue("order-2", 2000);
  {
    std::fstream f(RunningSnapshotPath(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('\x7f');
  }
  ReopenKeepingTheLog();
  EXPECT_FALSE(recovery_.from_running_snapshot);
  EXPECT_NE(recovery_.running_snapshot_skipped.find("checksum"), std::string::npos)
      << recovery_.running_snapshot_skipped;
  EXPECT_FALSE(std::filesystem::exists(RunningSnapshotPath()));
  EXPECT_EQ(recovery_.live_assignments, 2);
  EXPECT_EQ(Deposit("tx-1", a.number, 1000).deposit.outcome, DepositOutcome::kMatched);
  EXPECT_EQ(Deposit("tx-2", b.number, 2000).deposit.outcome, DepositOutcome::kMatched);
}

// Proves a start removes what a kill left of snapshots half written (the running snapshot's copy
// dies with the process), and still reads the whole running snapshot beside it.
TEST_F(EngineTest, AStartRemovesSnapshotsAKillLeftHalfWritten) {
  ReopenKeepingTheLog();
  Issue("order-1", 1000);
  TakeRunningSnapshot(RunningSnapshotPath());
  for (const std::string& path : {RunningSnapshotPath(), SnapshotPath()}) {
    std::ofstream(path + ".tmp") << "half a snapshot";
  }
  EngineOptions options = RunningSnapshotOptions();
  options.snapshot_path = SnapshotPath();
  ReopenKeepingTheLog(dir_, options);
  EXPECT_TRUE(recovery_.from_running_snapshot) << recovery_.running_snapshot_skipped;
  EXPECT_FALSE(std::filesystem::exists(RunningSnapshotPath() + ".tmp"));
  EXPECT_FALSE(std::filesystem::exists(SnapshotPath() + ".tmp"));
}

// Proves a running snapshot that reads well but describes an impossible state (an assigned
// number with no assignment) is dropped for the store, removed, and the start says why.
TEST_F(EngineTest, ARunningSnapshotThatBreaksAnInvariantIsRemovedAndTheStoreRead) {
  ReopenKeepingTheLog();
  const Assignment a = Issue("order-1", 1000);
  {
    auto w = SnapshotWriter::Create(RunningSnapshotPath());
    ASSERT_TRUE(w);
    w->Bytes("varelay-running-snapshot");  // the header Relay::WriteRunningSnapshot writes
    w->U64(1);
    w->U64(store_->CommittedPosition());
    OneNumberSnapshot(NumberState::kAssigned, "asg_missing", {})(*w);
    ASSERT_TRUE(w->Finish());
  }
  ReopenKeepingTheLog();
  EXPECT_FALSE(recovery_.from_running_snapshot);
  EXPECT_NE(recovery_.running_snapshot_skipped.find("invariant"), std::string::npos)
      << recovery_.running_snapshot_skipped;
  EXPECT_FALSE(std::filesystem::exists(RunningSnapshotPath()));
  EXPECT_EQ(recovery_.numbers, 2);
  EXPECT_EQ(Deposit("tx-1", a.number, 1000).deposit.outcome, DepositOutcome::kMatched);
}

// Proves a clean stop's snapshot, when there is one, is read rather than the running snapshot,
// which is removed.
TEST_F(EngineTest, AStopSnapshotIsReadRatherThanARunningOne) {
  EngineOptions both = RunningSnapshotOptions();
  both.snapshot_path = SnapshotPath();
  ReopenKeepingTheLog(dir_, both);
  TakeRunningSnapshot(RunningSnapshotPath());
  const Assignment a = Issue("order-1", 1000);
  ASSERT_TRUE(engine_->WriteSnapshot());
  ReopenKeepingTheLog(dir_, both);
  EXPECT_TRUE(recovery_.from_snapshot) << recovery_.snapshot_skipped;
  EXPECT_FALSE(recovery_.from_running_snapshot);
  EXPECT_FALSE(std::filesystem::exists(RunningSnapshotPath()));
  EXPECT_EQ(Deposit("tx-1", a.number, 1000).deposit.outcome, DepositOutcome::kMatched);
}

// Proves the engine's own thread writes running snapshots as the log grows, in a forked copy of
// the process, and that a start after a kill reads the last one written.
TEST_F(EngineTest, TheEngineWritesRunningSnapshotsInAForkedCopyAsItGoes) {
  EngineOptions options = RunningSnapshotOptions();
  options.running_snapshot_bytes = 1;  // after every batch, one at a time
  ReopenKeepingTheLog(dir_, options);
  engine_->Start();
  constexpr int kCommands = 5;
  std::atomic<int> answered{0}, refused{0};
  for (int i = 0; i < kCommands; ++i) {
    Submission s;
    s.bearer = kAdminToken;
    s.command = CreateMerchant{"m" + std::to_string(i), "Shop"};
    s.reply = [&](Result<Outcome> r, std::optional<RenderedResponse>) {
      if (!r) ++refused;
      ++answered;
    };
    ASSERT_TRUE(engine_->Submit(std::move(s)));
  }
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while ((answered.load() < kCommands || engine_->stats().running_snapshots.load() == 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  engine_->Stop();
  EXPECT_EQ(answered.load(), kCommands);
  EXPECT_EQ(refused.load(), 0);
  ASSERT_GE(engine_->stats().running_snapshots.load(), 1u);
  const std::uint64_t position = engine_->stats().running_snapshot_position.load();
  EXPECT_GT(position, 0u);
  EXPECT_LE(position, store_->CommittedPosition());
  EXPECT_TRUE(std::filesystem::exists(RunningSnapshotPath()));

  ReopenKeepingTheLog();  // a kill: no stop snapshot
  EXPECT_TRUE(recovery_.from_running_snapshot) << recovery_.running_snapshot_skipped;
  EXPECT_GE(recovery_.running_snapshot_position, position);
  EXPECT_EQ(Err(CreateMerchant{"m4", "Shop"}, kAdminToken), ErrorCode::kMerchantExists);
}

// Proves a free number that only got an event keeps its place in the free list through a kill and
// a start from a running snapshot and the log after it: the engine leaves a number that stays free
// and only gets an event (money on a number nobody was given; the cancellation of a deposit on a
// number back in the pool) where it is, and the replay must not take that write for a return to
// the pool. (It did, at first.)
TEST_F(EngineTest, AFreeNumberThatOnlyGotAnEventKeepsItsPlaceThroughARunningSnapshot) {
  ReopenKeepingTheLog();
  Ok(LoadNumbers{"shop", "004", "seoul", {"1000000003"}});
  TakeRunningSnapshot(RunningSnapshotPath());
  // Parked; the number's event count moves on; it stays first in its pool's free list.
  EXPECT_EQ(Deposit("tx-1", "1000000001", 500).deposit.outcome, DepositOutcome::kNotAssigned);
  const auto [replayed, engine_had] = FreeOrderReplayedAndAtTheKill("seoul");
  EXPECT_EQ(engine_had, (std::vector<std::string>{"1000000001", "1000000002", "1000000003"}));
  EXPECT_EQ(replayed, engine_had);
}

// Proves a number taken from the middle of a pool's free list (a bank's own number it issued again,
// AdoptBankNumber) leaves it through a kill and a start from a running snapshot and the log after
// it, and the others keep their order: the replay reads a free list from the front until every
// number that left it is met, which here is past the front.
TEST_F(EngineTest, ABankNumberTakenFromTheMiddleOfAPoolLeavesItThroughARunningSnapshot) {
  ReopenKeepingTheLog();
  Ok(LoadNumbers{"shop", "004", "seoul", {"1000000003", "1000000004"}});
  TakeRunningSnapshot(RunningSnapshotPath());
  CreateAssignment issued = OrderIn("seoul", "order-1");
  issued.bank_number = "1000000003";
  EXPECT_EQ(std::get<AssignmentView>(Ok(issued, merchant_)).assignment.number, "1000000003");
  const auto [replayed, engine_had] = FreeOrderReplayedAndAtTheKill("seoul");
  EXPECT_EQ(engine_had, (std::vector<std::string>{"1000000001", "1000000002", "1000000004"}));
  EXPECT_EQ(replayed, engine_had);
}

// Proves numbers that return to the pool in one timer run (one of them expired in the same run)
// keep their order through a kill and a start from a running snapshot and the log after it: a
// batch logs the numbers it freed last, in the order it freed them (at first it logged every
// changed number in the order it was first touched, and the replay put them back in that order).
TEST_F(EngineTest, NumbersReleasedInOneTimerRunKeepTheirOrderThroughARunningSnapshot) {
  ReopenKeepingTheLog();
  Ok(LoadNumbers{"shop", "004", "seoul", {"1000000003"}});
  TakeRunningSnapshot(RunningSnapshotPath());
  const Assignment paid = IssueIn("seoul", "order-1");        // 1000000001
  Deposit("tx-1", paid.number, 1000);                         // cooling until kStart + 1 h
  const Assignment late = IssueIn("seoul", "order-2", 1800);  // 1000000002, due at kStart + 30 min
  ASSERT_EQ(late.number, "1000000002");
  clock_.Advance(2h);
  // One timer run: order-2 expires (cooling until kStart + 1 h 30 min), then 1000000001 and
  // 1000000002 go back to the pool, in the order they cooled.
  engine_->Step();
  const auto [replayed, engine_had] = FreeOrderReplayedAndAtTheKill("seoul");
  EXPECT_EQ(engine_had, (std::vector<std::string>{"1000000003", "1000000001", "1000000002"}));
  EXPECT_EQ(replayed, engine_had);
}

// Proves record ids sort by the time they were made (so inserts append to their B-trees), keep the
// documented shape, and differ within one millisecond.
TEST(IdSource, TimeOrderedIdsSortByTimeAndKeepTheirShape) {
  IdSource ids(7);
  std::vector<std::string> made;
  for (std::int64_t ms : {0LL, 1LL, 31LL, 32LL, 1'795'000'000'000LL, 1'795'000'000'001LL, 4'102'444'800'000LL}) {
    made.push_back(ids.NewTimeOrderedId("asg_", ms));
  }
  EXPECT_TRUE(std::is_sorted(made.begin(), made.end()));
  for (const auto& id : made) {
    ASSERT_EQ(id.size(), 24u);
    EXPECT_EQ(id.find_first_not_of("abcdefghijklmnopqrstuvwxyz234567", 4), std::string::npos) << id;
  }
  EXPECT_NE(ids.NewTimeOrderedId("dep_", 5), ids.NewTimeOrderedId("dep_", 5));
}

}  // namespace
}  // namespace varelay
