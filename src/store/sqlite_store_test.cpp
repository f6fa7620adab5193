#include "store/sqlite_store.h"

#include <gtest/gtest.h>

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
  void OnNumber(NumberRecord n) override { numbers.push_back(std::move(n)); }
  void OnLiveAssignment(Assignment a) override { live.push_back(std::move(a)); }
  void OnLedgerHead(std::int64_t seq, std::string hash) override {
    head_seq = seq;
    head_hash = std::move(hash);
  }
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
    store->InsertBank({"004", "KB", FromUnixMs(1)});
    store->PutNumber({"004", "12345678", "shop", "seoul", NumberState::kFree, 0, "", {}});
    ASSERT_TRUE(store->Commit());
    store->Begin();
    store->InsertBank({"088", "Shinhan", FromUnixMs(1)});
    store->Rollback();
  }
  auto store = Open();
  RecordingSink sink;
  ASSERT_TRUE(store->Load(sink));
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

}  // namespace
}  // namespace varelay
