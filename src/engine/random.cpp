#include "engine/random.h"

#include <openssl/rand.h>

#include <algorithm>
#include <vector>

#include "domain/assert.h"

namespace varelay {
namespace {
constexpr char kBase32[] = "abcdefghijklmnopqrstuvwxyz234567";
// The same 32 characters in byte order, so equal-length strings sort like the numbers they encode.
constexpr char kSortableBase32[] = "234567abcdefghijklmnopqrstuvwxyz";
constexpr int kTimeChars = 9;  // 45 bits of milliseconds: past the year 3000
}

IdSource::IdSource(std::uint64_t seed) {
  if (seed == 0) {
    VARELAY_INVARIANT(RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed) == 1,
                      "the CSPRNG works");
  }
  rng_.seed(seed);
}

std::string IdSource::NewId(std::string_view prefix, int chars) {
  std::string id(prefix);
  std::uint64_t bits = 0;
  int available = 0;
  for (int i = 0; i < chars; ++i) {
    if (available < 5) {
      bits = rng_();
      available = 64;
    }
    id += kBase32[bits & 31];
    bits >>= 5;
    available -= 5;
  }
  return id;
}

std::string IdSource::NewTimeOrderedId(std::string_view prefix, std::int64_t unix_ms) {
  std::string id(prefix);
  auto ms = static_cast<std::uint64_t>(std::max<std::int64_t>(unix_ms, 0));
  for (int i = kTimeChars - 1; i >= 0; --i) id += kSortableBase32[(ms >> (5 * i)) & 31];
  id += NewId("", 20 - kTimeChars);
  return id;
}

std::string RandomBytes(int count) {
  std::string bytes(static_cast<std::size_t>(count), '\0');
  VARELAY_INVARIANT(RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), count) == 1, "the CSPRNG works");
  return bytes;
}

std::string RandomSecret(int chars) {
  std::vector<unsigned char> bytes(static_cast<std::size_t>(chars));
  VARELAY_INVARIANT(RAND_bytes(bytes.data(), chars) == 1, "the CSPRNG works");
  std::string secret;
  secret.reserve(bytes.size());
  for (unsigned char b : bytes) secret += kBase32[b & 31];
  return secret;
}

}  // namespace varelay
