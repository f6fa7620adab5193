// Identifiers and secrets. Secrets come from the operating system's CSPRNG (OpenSSL RAND_bytes);
// record ids come from a fast generator seeded from it, since they are names, not secrets.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace varelay {

class IdSource {
 public:
  // seed 0 draws the seed from the CSPRNG.
  explicit IdSource(std::uint64_t seed = 0);
  // `prefix` followed by `chars` lowercase base32 characters.
  std::string NewId(std::string_view prefix, int chars);
  // `prefix` followed by 20 lowercase base32 characters that sort by `now`: 9 for the milliseconds
  // since the epoch (in an alphabet whose order is the byte order), 11 random. Rows keyed by such
  // ids are appended at the end of their B-trees, so a batch of inserts touches few pages.
  std::string NewTimeOrderedId(std::string_view prefix, std::int64_t unix_ms);

 private:
  std::mt19937_64 rng_;
};

// `count` bytes from the CSPRNG.
std::string RandomBytes(int count);

// `chars` lowercase base32 characters from the CSPRNG (5 bits each).
std::string RandomSecret(int chars);

}  // namespace varelay
