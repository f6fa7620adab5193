// libFuzzer target: any bytes, whole or as a framed stream in uneven chunks, never crash the
// decoder or the frame reader, and whatever decodes encodes back to bytes that decode to the same
// telegram (and encode to the same bytes again).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "banks/telegram/frame.h"
#include "banks/telegram/telegram.h"

namespace {

using varelay::telegram::Decode;
using varelay::telegram::Encode;
using varelay::telegram::FrameReader;

void Require(bool condition) {
  if (!condition) std::abort();
}

void CheckRoundTrip(std::string_view bytes) {
  auto telegram = Decode(bytes);
  if (!telegram) return;
  std::string encoded = Encode(*telegram);
  Require(encoded.size() == varelay::telegram::kTelegramBytes);
  auto again = Decode(encoded);
  Require(again.has_value());
  Require(*again == *telegram);
  Require(Encode(*again) == encoded);
  if (!varelay::telegram::IsResponse(telegram->header)) {
    auto answer = varelay::telegram::MakeResponse(*telegram, "0000");
    Require(answer.has_value());
    Require(Decode(Encode(*answer)).value() == *answer);
  }
}

// Frames (and the final error, if any) from feeding `input` in chunks of `chunk` bytes.
std::vector<std::string> FramesOf(std::string_view input, std::size_t chunk, bool& failed) {
  FrameReader reader;
  std::vector<std::string> frames;
  failed = false;
  for (std::size_t pos = 0; pos < input.size() && !failed; pos += chunk) {
    reader.Feed(input.substr(pos, chunk));
    while (true) {
      auto next = reader.Next();
      if (!next) {
        failed = true;
        break;
      }
      if (!*next) break;
      Require(!(*next)->empty() && (*next)->size() <= varelay::telegram::kDefaultMaxFrameBytes);
      frames.push_back(std::move(**next));
    }
  }
  return frames;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckRoundTrip(input);

  // The chunking must not change what comes out: whole versus a size taken from the input.
  bool failed_whole = false;
  bool failed_chunked = false;
  std::vector<std::string> whole = FramesOf(input, input.size() + 1, failed_whole);
  std::size_t chunk = size > 0 ? 1 + data[size - 1] % 64 : 1;
  std::vector<std::string> chunked = FramesOf(input, chunk, failed_chunked);
  Require(whole == chunked && failed_whole == failed_chunked);
  for (const std::string& frame : whole) CheckRoundTrip(frame);
  return 0;
}
