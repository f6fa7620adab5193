// Sealing personal data at rest (names, phones, birth dates, account numbers): libsodium's
// secretbox (XSalsa20-Poly1305) under keys named by id, so keys can be rotated without losing
// what an older key sealed (docs/architecture.md, "Sealed personal data").
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "domain/error.h"

namespace varelay::crypto {

inline constexpr std::size_t kSealKeyBytes = 32;
inline constexpr std::size_t kMaxSealKeyIdLength = 16;
// A key file or VARELAY_SEAL_KEY holds at most this many keys and bytes: rotation adds a line
// a year or so, and a bigger file is more likely a wrong path than a key file.
inline constexpr std::size_t kMaxSealKeys = 64;
inline constexpr std::size_t kMaxSealKeyTextBytes = 64 * 1024;

// Whether `id` may name a key: 1 to 16 of [a-z0-9-].
bool IsSealKeyId(std::string_view id);
// Whether `text` is in the sealed form (`s1.` ...), as opposed to a value kept in clear: account
// numbers are digits, so a field that may hold either is told apart by this.
bool IsSealedText(std::string_view text);

// A set of keys, the first of which seals and all of which open. Copies share the keys (cheap);
// the key bytes are wiped when the last copy goes. Safe to use from several threads at once.
class Sealer {
 public:
  // Key text: one key a line, `<key_id>:<base64 of 32 bytes>` (standard base64, padded); the
  // FIRST line seals, every line opens. Blank lines and lines starting with '#' are skipped; a
  // '\r' before the line end is allowed. Fails with kInvalidField naming the line (never the key)
  // for a malformed line, a key id outside [a-z0-9-]{1,16}, a key not of 32 bytes, a duplicate
  // id, no key at all, or more than kMaxSealKeys keys.
  static Result<Sealer> FromKeyText(std::string_view text);
  // The same text read from a file that only its owner may read or write: a file with any group
  // or other permission bit is refused (kForbidden, saying to chmod 600), as is a missing one
  // (kNotFound) or one that is not a regular file or is over kMaxSealKeyTextBytes (kInvalidField).
  static Result<Sealer> FromKeyFile(const std::filesystem::path& path);
  // FromKeyFile, or when `path` does not exist, a new file there (mode 0600, created exclusively
  // and flushed) holding NewKeyLine(new_key_id); `created` says which happened.
  static Result<Sealer> OpenOrCreateKeyFile(const std::filesystem::path& path,
                                            std::string_view new_key_id, bool& created);

  // A fresh key line `<key_id>:<base64 of 32 random bytes>` for a key file. `key_id` must pass
  // IsSealKeyId (the caller checks; an invalid one is an invariant breach).
  static std::string NewKeyLine(std::string_view key_id);
  // "k" + the UTC date and time, "k20261207-194812": a key id that sorts by age.
  static std::string DefaultKeyId(std::chrono::system_clock::time_point now);

  // `s1.<key_id>.<base64url(nonce || box)>` (unpadded base64url, 24-byte random nonce), under
  // the sealing key. Text, so it fits JSON, SQLite TEXT and the command log. Grows the plaintext
  // by 40 bytes, then by a third.
  std::string Seal(std::string_view plaintext) const;
  // The plaintext of something Seal made under any of the keys. Fails (kInternal, never a crash)
  // on a bad format, a key id this set lacks, or a box that does not open (tampered, truncated,
  // or sealed under another key of the same id).
  Result<std::string> Open(std::string_view sealed) const;
  // Whether `sealed` names the sealing key (a re-seal would leave it as it is).
  bool SealedWithCurrentKey(std::string_view sealed) const;

  const std::string& current_key_id() const;
  std::size_t key_count() const;

 private:
  struct Key {
    std::string id;
    std::array<unsigned char, kSealKeyBytes> bytes;
  };
  struct KeyRing {
    std::vector<Key> keys;  // keys[0] seals
    ~KeyRing();
  };
  explicit Sealer(std::shared_ptr<const KeyRing> ring) : ring_(std::move(ring)) {}
  const Key* Find(std::string_view id) const;

  std::shared_ptr<const KeyRing> ring_;
};

}  // namespace varelay::crypto
