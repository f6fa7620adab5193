#include "store/wal_checkpointer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

namespace varelay {
namespace {

namespace fs = std::filesystem;

class WalCheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("varelay-wal-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "t.db").string();
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db_), SQLITE_OK);
    Exec("PRAGMA journal_mode=WAL");
    Exec("PRAGMA synchronous=FULL");
    Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  }
  void TearDown() override {
    sqlite3_close_v2(db_);
    fs::remove_all(dir_);
  }
  void Exec(const std::string& sql) {
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sql;
  }
  // One committed transaction of `rows` rows of 1 KiB each.
  void CommitRows(int first, int rows) {
    Exec("BEGIN IMMEDIATE");
    for (int i = first; i < first + rows; ++i) {
      Exec("INSERT INTO t VALUES (" + std::to_string(i) + ", '" + std::string(1024, 'x') + "')");
    }
    Exec("COMMIT");
  }
  std::uintmax_t WalBytes() const { return fs::file_size(path_ + "-wal"); }

  fs::path dir_;
  std::string path_;
  sqlite3* db_ = nullptr;
};

TEST_F(WalCheckpointerTest, CopiesTheLogOnItsOwnThreadAndKeepsItSmall) {
  auto checkpointer =
      WalCheckpointer::Start(db_, path_, {.wake_pages = 32, .hard_pages = 1'000'000});
  ASSERT_TRUE(checkpointer.has_value()) << checkpointer.error().detail;
  // 2,000 commits of 4 rows (about 5 pages each): 10,000 pages through the log.
  for (int batch = 0; batch < 2000; ++batch) CommitRows(batch * 4, 4);
  EXPECT_GT((*checkpointer)->background_runs(), 0u);
  // The writer finished what the thread began, so the log started afresh instead of growing to
  // 10,000 pages (40 MB): it stays within a few wake-ups' worth.
  EXPECT_LT(WalBytes(), 4u << 20) << "log of " << WalBytes() << " bytes";
  checkpointer->reset();

  sqlite3_stmt* count = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db_, "SELECT COUNT(*) FROM t", -1, &count, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(count), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(count, 0), 8000);
  sqlite3_finalize(count);
}

TEST_F(WalCheckpointerTest, TheWriterCheckpointsItselfAtTheHardLimit) {
  // A background thread that is never woken: only the hard limit bounds the log.
  auto checkpointer =
      WalCheckpointer::Start(db_, path_, {.wake_pages = 1'000'000, .hard_pages = 64});
  ASSERT_TRUE(checkpointer.has_value());
  for (int batch = 0; batch < 500; ++batch) CommitRows(batch * 4, 4);
  EXPECT_EQ((*checkpointer)->background_runs(), 0u);
  EXPECT_GT((*checkpointer)->writer_runs(), 0u);
  EXPECT_LT(WalBytes(), 4u << 20);
}

// Proves a reader still on old pages (which stops every checkpoint short of the log's end) does
// not make the background thread, or the writer at the hard limit, checkpoint after every commit:
// after a partial run the next waits for the log to grow by as much again.
TEST_F(WalCheckpointerTest, AReaderOnOldPagesDoesNotMakeEveryCommitCheckpoint) {
  CommitRows(0, 1);
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &reader), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(reader, "BEGIN", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_stmt* read = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(reader, "SELECT COUNT(*) FROM t", -1, &read, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(read), SQLITE_ROW);  // the read transaction holds the log's pages
  {
    auto checkpointer = WalCheckpointer::Start(db_, path_, {.wake_pages = 32, .hard_pages = 128});
    ASSERT_TRUE(checkpointer.has_value());
    // 500 commits of 4 rows (about 5 pages each): 2,500 pages past a reader that never lets go.
    for (int batch = 1; batch <= 500; ++batch) CommitRows(batch * 4, 4);
    // One run per 32 pages of growth at most (about 80), and the writer's one per 32 past 128.
    EXPECT_LE((*checkpointer)->background_runs(), 2500u / 32 + 2);
    EXPECT_LE((*checkpointer)->writer_runs(), 2500u / 32 + 2);
  }
  sqlite3_finalize(read);
  sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close_v2(reader);
}

TEST_F(WalCheckpointerTest, RefusesAPathItCannotOpen) {
  auto checkpointer = WalCheckpointer::Start(db_, (dir_ / "absent" / "t.db").string());
  ASSERT_FALSE(checkpointer.has_value());
  EXPECT_NE(checkpointer.error().detail.find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace varelay
