#include "engine/snapshot_file.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

namespace varelay {
namespace {

class SnapshotFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("varelay-snapshot-file-" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "state.snapshot").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void WriteSample() {
    auto w = SnapshotWriter::Create(path_);
    ASSERT_TRUE(w);
    w->U64(0);
    w->U64(127);
    w->U64(128);
    w->U64(std::numeric_limits<std::uint64_t>::max());
    w->I64(-1);
    w->I64(std::numeric_limits<std::int64_t>::min());
    w->Bytes("");
    w->Bytes("hello");
    w->Bytes(std::string(3 << 20, 'x'));  // larger than the write buffer
    ASSERT_TRUE(w->Finish());
  }

  void FlipByte(std::uint64_t at) {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at));
    char c = 0;
    f.read(&c, 1);
    f.seekp(static_cast<std::streamoff>(at));
    c = static_cast<char>(c ^ 0x10);
    f.write(&c, 1);
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(SnapshotFileTest, WhatIsWrittenReadsBackInOrder) {
  WriteSample();
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
  auto r = SnapshotReader::Open(path_);
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->U64(), 0u);
  EXPECT_EQ(r->U64(), 127u);
  EXPECT_EQ(r->U64(), 128u);
  EXPECT_EQ(r->U64(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(r->I64(), -1);
  EXPECT_EQ(r->I64(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(r->Bytes(10), "");
  EXPECT_EQ(r->Bytes(10), "hello");
  EXPECT_EQ(r->Bytes(4 << 20), std::string(3 << 20, 'x'));
  EXPECT_TRUE(r->ok());
  EXPECT_TRUE(r->AtEnd());
  r->U64();  // past the end
  EXPECT_FALSE(r->ok());
}

// Proves a file written out piece by piece as it goes (PaceWriteback, as the running snapshot's
// writer does) is the same whole file: every piece, the last one short, reads back in order.
TEST_F(SnapshotFileTest, AFileWrittenOutPieceByPieceReadsBackWhole) {
  auto w = SnapshotWriter::Create(path_);
  ASSERT_TRUE(w);
  w->PaceWriteback(1 << 20);
  for (std::uint64_t i = 0; i < 7; ++i) w->Bytes(std::string((1 << 20) + 12345, static_cast<char>('a' + i)));
  w->U64(42);
  auto bytes = w->Finish();
  ASSERT_TRUE(bytes) << bytes.error().detail;
  EXPECT_EQ(std::filesystem::file_size(path_), *bytes);
  auto r = SnapshotReader::Open(path_);
  ASSERT_TRUE(r) << r.error().detail;
  for (std::uint64_t i = 0; i < 7; ++i) {
    EXPECT_EQ(r->Bytes(2 << 20), std::string((1 << 20) + 12345, static_cast<char>('a' + i)));
  }
  EXPECT_EQ(r->U64(), 42u);
  EXPECT_TRUE(r->ok());
  EXPECT_TRUE(r->AtEnd());
}

TEST_F(SnapshotFileTest, AFlippedByteAnywhereFailsTheChecksum) {
  WriteSample();
  auto size = std::filesystem::file_size(path_);
  for (std::uint64_t at : {std::uint64_t{0}, std::uint64_t{5}, size / 2, size - 9, size - 1}) {
    FlipByte(at);
    auto r = SnapshotReader::Open(path_);
    ASSERT_FALSE(r) << at;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidField);
    FlipByte(at);  // back as it was
    EXPECT_TRUE(SnapshotReader::Open(path_)) << at;
  }
}

TEST_F(SnapshotFileTest, ATruncatedOrMissingFileIsRefused) {
  EXPECT_EQ(SnapshotReader::Open(path_).error().code, ErrorCode::kNotFound);
  WriteSample();
  std::filesystem::resize_file(path_, std::filesystem::file_size(path_) - 100);
  EXPECT_FALSE(SnapshotReader::Open(path_));
  std::filesystem::resize_file(path_, 3);
  EXPECT_FALSE(SnapshotReader::Open(path_));
}

TEST_F(SnapshotFileTest, ALengthBeyondTheLimitOrTheDataFailsTheReader) {
  {
    auto w = SnapshotWriter::Create(path_);
    ASSERT_TRUE(w);
    w->Bytes("twelve bytes");
    w->U64(1'000'000);  // read as a length: far more than is left
    ASSERT_TRUE(w->Finish());
  }
  auto r = SnapshotReader::Open(path_);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Bytes(11), "");  // over the limit asked for
  EXPECT_FALSE(r->ok());
  auto again = SnapshotReader::Open(path_);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->Bytes(12), "twelve bytes");
  EXPECT_EQ(again->Bytes(std::size_t{1} << 30), "");
  EXPECT_FALSE(again->ok());
}

// Proves an integer encoded with more than 64 bits of value fails the reader instead of being
// read with its top bits cut off (the largest 64-bit value still reads, above).
TEST_F(SnapshotFileTest, AnIntegerWiderThanSixtyFourBitsFailsTheReader) {
  {
    auto w = SnapshotWriter::Create(path_);
    ASSERT_TRUE(w);
    w->Bytes(std::string(9, '\xff') + '\x02');  // nine groups of seven ones, then bit 64
    ASSERT_TRUE(w->Finish());
  }
  auto r = SnapshotReader::Open(path_);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->U64(), 10u);  // the length Bytes wrote; the ten bytes follow
  EXPECT_EQ(r->U64(), 0u);
  EXPECT_FALSE(r->ok());
}

TEST_F(SnapshotFileTest, AnUnfinishedWriterLeavesNoFile) {
  {
    auto w = SnapshotWriter::Create(path_);
    ASSERT_TRUE(w);
    w->Bytes("never finished");
  }
  EXPECT_FALSE(std::filesystem::exists(path_));
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
}

TEST(SnapshotChecksum, PiecesOfAnySizeGiveTheWholesChecksum) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 31 + 7));
  SnapshotChecksum whole;
  whole.Add(data);
  for (std::size_t piece : {1u, 3u, 7u, 8u, 13u, 999u}) {
    SnapshotChecksum pieces;
    for (std::size_t at = 0; at < data.size(); at += piece) {
      pieces.Add(std::string_view(data).substr(at, piece));
    }
    EXPECT_EQ(pieces.value(), whole.value()) << piece;
  }
  SnapshotChecksum shorter;
  shorter.Add(std::string_view(data).substr(0, 999));
  EXPECT_NE(shorter.value(), whole.value());
}

}  // namespace
}  // namespace varelay
