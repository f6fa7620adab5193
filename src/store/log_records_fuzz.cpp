// libFuzzer target: any bytes, taken as a command log batch, never crash the replay or its
// description; the two agree on what they refuse, and a batch the replay accepts encodes again to
// the very bytes it was read from (the encoding is canonical: one batch, one encoding).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "store/log_records.h"

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  varelay::LogBatchEncoder encoder;
  const auto replayed = varelay::ReplayLogBatch(bytes, encoder);
  const auto described = varelay::DescribeLogBatch(bytes);
  Require(replayed.has_value() == described.has_value());
  if (replayed) Require(encoder.bytes() == bytes);
  return 0;
}
