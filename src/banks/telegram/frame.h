// Length-prefix framing, the most common transport of the family: each telegram is preceded by 4
// ASCII decimal digits giving its length in bytes, the prefix itself not counted ("0300" + 300
// bytes). Counterparties that use a 20-byte TCP header or one connection per telegram need their
// own framing in their adapter.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "domain/error.h"

namespace varelay::telegram {

inline constexpr std::size_t kLengthPrefixBytes = 4;
// Largest frame accepted by default: well above a 300-byte telegram, far below what a broken or
// hostile peer could make a reader buffer.
inline constexpr std::size_t kDefaultMaxFrameBytes = 4096;

// "HOST:PORT" or "[IPV6]:PORT" with a port 1..65535, as counterparties' endpoints are written
// (with `listen`, port 0 too: any free port); nullopt otherwise.
std::optional<std::pair<std::string, unsigned short>> ParseHostPort(std::string_view text, bool listen = false);

// "0300" + telegram. The telegram must be 1..9999 bytes (a bug otherwise: stops the process).
std::string Frame(std::string_view telegram);

// Splits a byte stream into frames, whatever the chunks it arrives in. Use: Feed() each read, then
// call Next() until it yields nothing. Holds at most one partial frame plus the last chunk fed.
class FrameReader {
 public:
  explicit FrameReader(std::size_t max_frame_bytes = kDefaultMaxFrameBytes);

  // Appends bytes read from the connection. Never fails; errors surface in Next().
  void Feed(std::string_view bytes);

  // The next whole frame's payload (without the prefix), or nullopt when more bytes are needed.
  // An error when the stream cannot be framed: a prefix with a non-digit (kMalformedRequest), a
  // length of 0 (kMalformedRequest) or above max_frame_bytes (kBodyTooLarge). Frames completed
  // before the bad prefix are yielded first; the error is detected as soon as the 4 prefix bytes
  // are in, and is final: every later call returns it again. The connection cannot be
  // resynchronised: answer what can be answered, then close.
  Result<std::optional<std::string>> Next();

  // Bytes fed but not yet returned in a frame.
  std::size_t buffered() const { return buffer_.size() - start_; }

 private:
  std::size_t max_frame_bytes_;
  std::string buffer_;
  std::size_t start_ = 0;  // first byte not yet consumed
  std::optional<Error> error_;
};

}  // namespace varelay::telegram
