// Proves the length-prefix framing: frames come out whole whatever the chunking, and a broken
// prefix or an oversized length is an error value after the frames that came before it.
#include "banks/telegram/frame.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace varelay::telegram {
namespace {

std::string Telegram300(char fill) { return std::string(300, fill); }

// Drains every frame available; stops at nullopt or an error (returned separately).
std::vector<std::string> Drain(FrameReader& reader, std::optional<Error>* error = nullptr) {
  std::vector<std::string> frames;
  while (true) {
    auto next = reader.Next();
    if (!next) {
      if (error) *error = next.error();
      break;
    }
    if (!*next) break;
    frames.push_back(std::move(**next));
  }
  return frames;
}

// Proves Frame adds a 4-digit decimal length that does not count itself.
TEST(Frame, PrefixesTheLength) {
  EXPECT_EQ(Frame(Telegram300('a')).substr(0, 4), "0300");
  EXPECT_EQ(Frame(Telegram300('a')).size(), 304u);
  EXPECT_EQ(Frame("x"), "0001x");
}

// Proves a frame fed one byte at a time comes out once, whole, only when its last byte arrives.
TEST(FrameReader, ReassemblesAFrameSplitOverManyChunks) {
  std::string stream = Frame(Telegram300('a'));
  FrameReader reader;
  for (std::size_t i = 0; i + 1 < stream.size(); ++i) {
    reader.Feed(stream.substr(i, 1));
    auto next = reader.Next();
    ASSERT_TRUE(next);
    ASSERT_FALSE(*next) << "frame yielded early at byte " << i;
  }
  reader.Feed(stream.substr(stream.size() - 1));
  EXPECT_EQ(Drain(reader), std::vector<std::string>{Telegram300('a')});
  EXPECT_EQ(reader.buffered(), 0u);
}

// Proves uneven chunks across frame boundaries yield every frame in order.
TEST(FrameReader, ReassemblesAcrossUnevenChunks) {
  std::string stream = Frame(Telegram300('a')) + Frame(Telegram300('b')) + Frame("c");
  for (std::size_t chunk : {1u, 3u, 4u, 5u, 7u, 150u, 303u, 304u, 305u, 1000u}) {
    FrameReader reader;
    std::vector<std::string> frames;
    for (std::size_t i = 0; i < stream.size(); i += chunk) {
      reader.Feed(stream.substr(i, chunk));
      for (auto& f : Drain(reader)) frames.push_back(std::move(f));
    }
    EXPECT_EQ(frames, (std::vector<std::string>{Telegram300('a'), Telegram300('b'), "c"}))
        << "chunk " << chunk;
    EXPECT_EQ(reader.buffered(), 0u);
  }
}

// Proves several frames in one chunk all come out, and a trailing partial one waits.
TEST(FrameReader, YieldsSeveralFramesFromOneChunk) {
  FrameReader reader;
  std::string third = Frame(Telegram300('c'));
  reader.Feed(Frame(Telegram300('a')) + Frame(Telegram300('b')) + third.substr(0, 10));
  EXPECT_EQ(Drain(reader), (std::vector<std::string>{Telegram300('a'), Telegram300('b')}));
  EXPECT_EQ(reader.buffered(), 10u);
  reader.Feed(third.substr(10));
  EXPECT_EQ(Drain(reader), std::vector<std::string>{Telegram300('c')});
}

// Proves non-digit and zero prefixes are malformed, detected as soon as the prefix is in.
TEST(FrameReader, RefusesBadPrefixes) {
  for (const std::string& prefix :
       {std::string(" 300"), std::string("030a"), std::string("-300"), std::string("+300"),
        std::string("0x12"), std::string("\0\0\0\x01", 4), std::string("0000")}) {
    FrameReader reader;
    reader.Feed(std::string_view(prefix).substr(0, 3));
    ASSERT_TRUE(reader.Next());
    reader.Feed(std::string_view(prefix).substr(3));
    auto next = reader.Next();
    ASSERT_FALSE(next) << testing::PrintToString(prefix);
    EXPECT_EQ(next.error().code, ErrorCode::kMalformedRequest);
    EXPECT_EQ(next.error().field, "length_prefix");
  }
}

// Proves a length above the maximum is refused before its bytes arrive, by default and when set.
TEST(FrameReader, RefusesOversizedLengths) {
  FrameReader reader;
  reader.Feed("4097");
  auto next = reader.Next();
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().code, ErrorCode::kBodyTooLarge);

  FrameReader exact;
  exact.Feed(Frame(std::string(4096, 'x')));
  EXPECT_EQ(Drain(exact).size(), 1u);

  FrameReader strict(300);
  strict.Feed(Frame(Telegram300('a')) + Frame(std::string(301, 'b')));
  std::optional<Error> error;
  EXPECT_EQ(Drain(strict, &error), std::vector<std::string>{Telegram300('a')});
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, ErrorCode::kBodyTooLarge);
}

// Proves the frames before a bad prefix are yielded, and the error is final afterwards.
TEST(FrameReader, ErrorComesAfterEarlierFramesAndStays) {
  FrameReader reader;
  reader.Feed(Frame("ok") + "abcd" + Frame("lost"));
  std::optional<Error> error;
  EXPECT_EQ(Drain(reader, &error), std::vector<std::string>{"ok"});
  ASSERT_TRUE(error);
  reader.Feed(Frame("more"));
  EXPECT_FALSE(reader.Next());
  EXPECT_FALSE(reader.Next());
  EXPECT_EQ(reader.buffered(), 0u);
}

}  // namespace
}  // namespace varelay::telegram
