#include "banks/telegram/frame.h"

#include <charconv>

#include "banks/telegram/field.h"
#include "domain/assert.h"

namespace varelay::telegram {

std::optional<std::pair<std::string, unsigned short>> ParseHostPort(std::string_view text, bool listen) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return std::nullopt;  // an IPv6 address needs brackets
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port < (listen ? 0u : 1u) || port > 65535) {
    return std::nullopt;
  }
  return std::pair(std::string(host), static_cast<unsigned short>(port));
}

std::string Frame(std::string_view telegram) {
  auto prefix = FormatNumeric(telegram.size(), kLengthPrefixBytes);
  VARELAY_INVARIANT(prefix.has_value() && !telegram.empty(), "frame length out of 1..9999");
  return *prefix + std::string(telegram);
}

FrameReader::FrameReader(std::size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

void FrameReader::Feed(std::string_view bytes) {
  if (error_) return;  // nothing after a framing error can be read; do not buffer it
  // Drop consumed bytes once they outweigh the rest, so the buffer stays about one frame long.
  if (start_ > 0 && start_ >= buffer_.size() - start_) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  buffer_.append(bytes);
}

Result<std::optional<std::string>> FrameReader::Next() {
  if (error_) return std::unexpected(*error_);
  std::string_view pending = std::string_view(buffer_).substr(start_);
  if (pending.size() < kLengthPrefixBytes) return std::nullopt;
  auto length =
      ParseNumeric(pending.substr(0, kLengthPrefixBytes), kLengthPrefixBytes, "length_prefix");
  if (!length) {
    error_ =
        Error{ErrorCode::kMalformedRequest, "length prefix is not 4 ASCII digits", "length_prefix"};
  } else if (*length == 0) {
    error_ = Error{ErrorCode::kMalformedRequest, "length prefix is 0", "length_prefix"};
  } else if (*length > max_frame_bytes_) {
    error_ = Error{ErrorCode::kBodyTooLarge,
                   "frame of " + std::to_string(*length) + " bytes exceeds the limit of " +
                       std::to_string(max_frame_bytes_),
                   "length_prefix"};
  }
  if (error_) {
    buffer_.clear();
    start_ = 0;
    return std::unexpected(*error_);
  }
  if (pending.size() < kLengthPrefixBytes + *length) return std::nullopt;
  std::string frame(pending.substr(kLengthPrefixBytes, *length));
  start_ += kLengthPrefixBytes + *length;
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  }
  return frame;
}

}  // namespace varelay::telegram
