#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <random>

namespace varelay {
namespace {

class RecordingSink : public LoadSink {
 public:
  void OnBank(Bank b) override { banks.push_back(std::move(b)); }
  void OnMerchant(Merchant m) override { merchants.push_back(std::move(m)); }
  void OnContract(Contract c) override { contracts.push_back(std::move(c)); }
  void OnApiKey(ApiKey k) override { keys.push_back(std::move(k)); }
  void OnNumber(const NumberRow& n) override {
    numbers.push_back({std::string(n.bank), std::string(n.number), std::string(n.merchant),
                       std::string(n.region), n.state, n.generation, std::string(n.assignment_id),
                       n.release_at, n.event_seq});
  }
  void OnLiveAssignment(Assignment a) override { live.push_back(std::move(a)); }
  void OnLedgerHead(std::int64_t seq, std::string hash) override {
    head_seq = seq;
    head_hash = std::move(hash);
  }
  void OnWebhookEndpoint(WebhookEndpoint e) override { endpoints.push_back(std::move(e)); }
  void OnEventHead(std::int64_t seq) override { event_head = seq; }
  void OnPendingDelivery(Delivery d, Event e) override { pending.emplace_back(std::move(d), std::move(e)); }
  void OnPendingTransfer(Transfer t) override { transfers.push_back(std::move(t)); }
  void OnPayoutPolicy(PayoutPolicy p) override { policies.push_back(std::move(p)); }
  std::vector<PayoutPolicy> policies;
  std::vector<Transfer> transfers;
  std::vector<WebhookEndpoint> endpoints;
  std::int64_t event_head = -1;
  std::vector<std::pair<Delivery, Event>> pending;
  std::vector<Bank> banks;
  std::vector<Merchant> merchants;
  std::vector<Contract> contracts;
  std::vector<ApiKey> keys;
  std::vector<NumberRecord> numbers;
  std::vector<Assignment> live;
  std::int64_t head_seq = -1;
  std::string head_hash;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("varelay-store-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "varelay.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Store> Open() {
    auto store = OpenSqliteStore(path_);
    EXPECT_TRUE(store) << store.error().detail;
    return std::move(*store);
  }

  std::filesystem::path dir_;
  std::string path_;
};

// Proves the snapshot token is durable and replaced whole, and that a load for a snapshot reads
// everything but the numbers and their assignments.
TEST_F(SqliteStoreTest, SnapshotTokenAndALoadWithoutNumbers) {
  {
    auto store = Open();
    EXPECT_EQ(store->SnapshotToken().value(), "");
    store->Begin();
    store->PutBank({"004", "KB", FromUnixMs(1), BankProtocol::kJson, ""});
    store->PutNumber({"004", "12345678", "shop", "seoul", NumberState::kFree, 0, "", {}});
    ASSERT_TRUE(store->Commit());
    ASSERT_TRUE(store->SetSnapshotToken("first"));
    ASSERT_TRUE(store->SetSnapshotToken("second"));
  }
  auto store = Open();
  EXPECT_EQ(store->SnapshotToken().value(), "second");
  RecordingSink sink;
  ASSERT_TRUE(store->Load(sink, LoadParts::kAllButNumbers));
  EXPECT_EQ(sink.banks.size(), 1u);
  EXPECT_TRUE(sink.numbers.empty());
  ASSERT_TRUE(store->SetSnapshotToken(""));
  EXPECT_EQ(store->SnapshotToken().value(), "");
}

// Proves Sync flushes the log a commit wrote (also when called again with nothing new), and that a
// read-only store has nothing to flush.
TEST_F(SqliteStoreTest, SyncFlushesWhatWasCommitted) {
  auto store = Open();
  for (int i = 0; i < 3; ++i) {
    store->Begin();
    store->PutNumber({"004", "1234567" + std::to_string(i), "shop", "seoul", NumberState::kFree, 0, "", {}});
    ASSERT_TRUE(store->Commit());
    auto synced = store->Sync();
    ASSERT_TRUE(synced) << synced.error().detail;
    EXPECT_TRUE(store->Sync());
  }
  auto read_only = OpenSqliteStore(path_, OpenMode::kReadOnly);
  ASSERT_TRUE(read_only);
  EXPECT_TRUE((*read_only)->Sync());
  RecordingSink sink;
  ASSERT_TRUE((*read_only)->Load(sink, LoadParts::kAll));
  EXPECT_EQ(sink.numbers.size(), 3u);
}

// Proves what Sync relies on: the write-ahead log keeps its file while the store is open, also
// when other connections (a reader at start-up, an operator's sqlite3) open and close, so the
// descriptor Sync opened once still names the file the commits go to.
TEST_F(SqliteStoreTest, TheLogKeepsItsFileWhileTheStoreIsOpen) {
  auto store = Open();
  auto commit_one = [&](int i) {
    store->Begin();
    store->PutNumber({"004", "5550000" + std::to_string(i), "shop", "seoul", NumberState::kFree, 0, "", {}});
    ASSERT_TRUE(store->Commit());
    ASSERT_TRUE(store->Sync());
  };
  commit_one(0);
  const auto log = path_ + "-wal";
  struct stat before {};
  ASSERT_EQ(::stat(log.c_str(), &before), 0);
  for (int i = 1; i <= 3; ++i) {
    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &other, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(other, "SELECT COUNT(*) FROM numbers", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(other);
    RecordingSink sink;
    ASSERT_TRUE(store->Load(sink, LoadParts::kAll));  // its reader opens and closes a connection too
    commit_one(i);
  }
  struct stat after {};
  ASSERT_EQ(::stat(log.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_dev, before.st_dev);
}

Deposit SampleDeposit() {
  Deposit d;
  d.id = "dep_1";
  d.bank = "004";
  d.transaction_id = "tx-1";
  d.number = "12345678";
  d.merchant = "shop";
  d.amount = Money(15000, Currency::Krw());
  d.to_merchant_minor = 15000;
  d.outcome = DepositOutcome::kMatched;
  return d;
}

// Proves a committed batch survives reopening, and a rolled-back one leaves nothing.
TEST_F(SqliteStoreTest, CommitIsDurableAndRollbackLeavesNothing) {
  {
    auto store = Open();
    store->Begin();
    store->PutBank({"004", "KB", FromUnixMs(1), BankProtocol::kJson, ""});
    store->PutNumber({"004", "12345678", "shop", "seoul", NumberState::kFree, 0, "", {}});
    ASSERT_TRUE(store->Commit());
    store->Begin();
    store->PutBank({"088", "Shinhan", FromUnixMs(1), BankProtocol::kJson, ""});
    store->Rollback();
  }
  auto store = Open();
  RecordingSink sink;
  ASSERT_TRUE(store->Load(sink, LoadParts::kAll));
  ASSERT_EQ(sink.banks.size(), 1u);
  EXPECT_EQ(sink.banks[0].code, "004");
  ASSERT_EQ(sink.numbers.size(), 1u);
  EXPECT_EQ(sink.head_seq, 0);
  EXPECT_EQ(sink.head_hash, kGenesisHash);
}

// Proves the store refuses a second deposit with the same bank transaction id, failing the batch.
TEST_F(SqliteStoreTest, DuplicateBankTransactionFailsTheBatch) {
  auto store = Open();
  store->Begin();
  store->PutDeposit(SampleDeposit());
  ASSERT_TRUE(store->Commit());
  auto again = SampleDeposit();
  again.id = "dep_2";
  store->Begin();
  store->PutDeposit(again);
  EXPECT_FALSE(store->Commit());
  auto found = store->FindDeposit("004", "tx-1");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->id, "dep_1");
}

// Proves reads inside a batch see that batch's writes, and ledger entries round-trip exactly.
TEST_F(SqliteStoreTest, ReadsSeeTheOpenBatchAndLedgerRoundTrips) {
  auto store = Open();
  store->Begin();
  auto deposit = SampleDeposit();
  store->PutDeposit(deposit);
  auto found = store->FindDeposit("004", "tx-1");
  ASSERT_TRUE(found && *found);
  auto entry = ChainEntry(1, std::string(kGenesisHash), FromUnixMs(5000), EntryKind::kDeposit,
                          deposit.id, Currency::Krw(), DepositLines(deposit));
  store->AppendLedgerEntry(entry);
  ASSERT_TRUE(store->Commit());
  auto read = store->ReadLedger(0, 10);
  ASSERT_TRUE(read);
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ((*read)[0].lines, entry.lines);
  EXPECT_EQ(ComputeEntryHash((*read)[0]), entry.hash);
  DepositQuery q;
  q.number = "12345678";
  auto rows = store->QueryDeposits(q);
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->size(), 1u);
}

// Proves migrations are recorded and re-opening does not re-apply them.
TEST_F(SqliteStoreTest, MigrationsApplyOnce) {
  Open();
  auto store = Open();
  EXPECT_GE(SqliteSchemaVersion(), 1);
  auto read_only = OpenSqliteStore(path_, OpenMode::kReadOnly);
  ASSERT_TRUE(read_only) << read_only.error().detail;
}


// Proves the outbox round-trips: endpoints, events and deliveries written in one batch come back at
// start-up (pending deliveries with their events, in event order), and failing an endpoint's
// pending deliveries leaves delivered ones alone.
TEST_F(SqliteStoreTest, OutboxRoundTripsAndPendingDeliveriesReload) {
  WebhookEndpoint endpoint;
  endpoint.id = "whe_1";
  endpoint.merchant = "shop";
  endpoint.url = "https://example.com/hook";
  endpoint.event_types = {EventType::kDepositMatched, EventType::kAssignmentExpired};
  endpoint.secret = "whsec_abc";
  endpoint.created_at = FromUnixMs(1);
  auto make_event = [](std::int64_t seq) {
    Event e;
    e.seq = seq;
    e.id = "evt_" + std::to_string(seq);
    e.merchant = "shop";
    e.type = EventType::kDepositMatched;
    e.bank = "004";
    e.number = "12345678";
    e.sequence = seq;
    e.created_at = FromUnixMs(seq * 10);
    e.payload = R"({"type":"deposit.matched"})";
    return e;
  };
  {
    auto store = Open();
    store->Begin();
    store->PutWebhookEndpoint(endpoint);
    for (std::int64_t seq : {1, 2, 3}) {
      store->AppendEvent(make_event(seq));
      Delivery d;
      d.event_seq = seq;
      d.endpoint_id = "whe_1";
      d.merchant = "shop";
      d.next_attempt_at = FromUnixMs(seq);
      if (seq == 1) {
        d.status = DeliveryStatus::kDelivered;
        d.attempts = 2;
        d.last_status = 200;
        d.next_attempt_at.reset();
      }
      store->PutDelivery(d);
    }
    ASSERT_TRUE(store->Commit());
  }
  auto store = Open();
  RecordingSink sink;
  ASSERT_TRUE(store->Load(sink, LoadParts::kAll));
  ASSERT_EQ(sink.endpoints.size(), 1u);
  EXPECT_EQ(sink.endpoints[0].event_types, endpoint.event_types);
  EXPECT_TRUE(sink.endpoints[0].include_personal_data);
  EXPECT_EQ(sink.event_head, 3);
  ASSERT_EQ(sink.pending.size(), 2u);
  EXPECT_EQ(sink.pending[0].second.id, "evt_2");
  EXPECT_EQ(sink.pending[1].second.payload, R"({"type":"deposit.matched"})");

  auto page = store->QueryEvents({"shop", EventType::kDepositMatched, 1, 10});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].seq, 2);
  auto found = store->FindEvent("evt_3");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->created_at, FromUnixMs(30));

  store->Begin();
  store->FailPendingDeliveries("whe_1", "endpoint deleted");
  ASSERT_TRUE(store->Commit());
  endpoint.include_personal_data = false;  // an update keeps the option too
  store->Begin();
  store->PutWebhookEndpoint(endpoint);
  ASSERT_TRUE(store->Commit());
  RecordingSink again;
  ASSERT_TRUE(store->Load(again, LoadParts::kAll));
  ASSERT_EQ(again.endpoints.size(), 1u);
  EXPECT_FALSE(again.endpoints[0].include_personal_data);
  auto deliveries = store->FindDeliveries({1, 2, 3});
  ASSERT_TRUE(deliveries);
  ASSERT_EQ(deliveries->size(), 3u);
  EXPECT_EQ((*deliveries)[0].status, DeliveryStatus::kDelivered);
  EXPECT_EQ((*deliveries)[0].last_status, 200);
  EXPECT_EQ((*deliveries)[1].status, DeliveryStatus::kFailed);
  EXPECT_EQ((*deliveries)[2].last_error, "endpoint deleted");
}

// Proves a camt.053 message with several account statements keeps its XML once, and each
// statement row once per (bank, message, statement).
TEST_F(SqliteStoreTest, StatementMessageXmlIsStoredOnce) {
  auto store = Open();
  BankStatement a;
  a.bank = "004";
  a.message_id = "MSG-1";
  a.statement_id = "S-1";
  a.account = "111";
  a.currency = "KRW";
  a.opening_minor = 100;
  a.received_at = FromUnixMs(5);
  BankStatement b = a;
  b.statement_id = "S-2";
  b.opening_minor.reset();
  store->Begin();
  store->PutStatementMessage({"004", "MSG-1", "<Document/>", FromUnixMs(5), {a}});
  store->PutStatement(b, "<Document/>");  // the older form, one record per statement
  ASSERT_TRUE(store->Commit());
  auto rows = store->QueryStatements("004", 10);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_FALSE((*rows)[1].opening_minor.has_value());
  auto found = store->FindStatement("004", "MSG-1", "S-1");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->opening_minor, 100);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* count = nullptr;
  sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM bank_statement_messages", -1, &count, nullptr);
  ASSERT_EQ(sqlite3_step(count), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(count, 0), 1);
  sqlite3_finalize(count);
  sqlite3_close_v2(db);
}

// Proves the database and the files SQLite keeps beside it are the owner's alone: a new database
// is created 0600 whatever the umask, and one an older build left 0644 (with its -wal and -shm) is
// narrowed to 0600 when opened for writing.
TEST_F(SqliteStoreTest, DatabaseFilesAreTheOwnersAlone) {
  auto mode = [](const std::string& path) {
    struct stat info {};
    EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
    return info.st_mode & 0777;
  };
  const mode_t old_mask = ::umask(022);
  {
    auto store = Open();
    store->Begin();
    store->PutBank({"004", "KB", FromUnixMs(1), BankProtocol::kJson, ""});
    ASSERT_TRUE(store->Commit());
    for (const char* suffix : {"", "-wal", "-shm"}) EXPECT_EQ(mode(path_ + suffix), 0600u) << suffix;
  }
  // What an older build left: the database (and a -wal/-shm a kill left) readable by all.
  for (const char* suffix : {"", "-wal", "-shm"}) {
    if (std::filesystem::exists(path_ + suffix)) ::chmod((path_ + suffix).c_str(), 0644);
  }
  ::close(::open((path_ + "-shm").c_str(), O_WRONLY | O_CREAT, 0644));
  {
    auto store = Open();
    for (const char* suffix : {"", "-wal", "-shm"}) EXPECT_EQ(mode(path_ + suffix), 0600u) << suffix;
  }
  ::umask(old_mask);
}

}  // namespace
}  // namespace varelay
