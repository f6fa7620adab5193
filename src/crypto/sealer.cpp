#include "crypto/sealer.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <set>
#include <vector>

#include "domain/assert.h"

namespace varelay::crypto {
namespace {

constexpr std::string_view kSealedPrefix = "s1.";

bool SodiumReady() {
  static const bool ready = ::sodium_init() >= 0;
  return ready;
}

std::string Base64(const unsigned char* bytes, std::size_t size, int variant) {
  std::string out(sodium_base64_encoded_len(size, variant), '\0');
  ::sodium_bin2base64(out.data(), out.size(), bytes, size, variant);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// Decodes all of `text` (no characters skipped) into at most `max` bytes; nullopt when it is not
// that variant of base64 or decodes to more.
std::optional<std::vector<unsigned char>> Unbase64(std::string_view text, std::size_t max,
                                                   int variant) {
  std::vector<unsigned char> out(max);
  std::size_t size = 0;
  const char* end = nullptr;
  if (::sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &size, &end,
                          variant) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(size);
  return out;
}

std::string LineName(std::size_t line) { return "seal key line " + std::to_string(line); }

std::string ErrnoText() { return std::strerror(errno); }

// Reads at most kMaxSealKeyTextBytes from an open file descriptor.
Result<std::string> ReadAll(int fd, const std::filesystem::path& path) {
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0)
      return Fail(ErrorCode::kInternal,
                  "cannot read seal key file " + path.string() + ": " + ErrnoText());
    if (got == 0) return text;
    text.append(buffer, static_cast<std::size_t>(got));
    if (text.size() > kMaxSealKeyTextBytes) {
      return Fail(ErrorCode::kInvalidField, "seal key file " + path.string() + " is over " +
                                                std::to_string(kMaxSealKeyTextBytes) +
                                                " bytes: not a key file?");
    }
  }
}

// The text of an open key file, refused unless it is a regular file only its owner may use.
Result<std::string> ReadOwnerOnly(int fd, const std::filesystem::path& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return Fail(ErrorCode::kInternal,
                "cannot stat seal key file " + path.string() + ": " + ErrnoText());
  if (!S_ISREG(st.st_mode))
    return Fail(ErrorCode::kInvalidField,
                "seal key file " + path.string() + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Fail(ErrorCode::kForbidden,
                "seal key file " + path.string() + " has mode " + mode +
                    ": group or others may read or write it; chmod 600 it (and, if anyone "
                    "else could read it, rotate the key)");
  }
  return ReadAll(fd, path);
}

}  // namespace

bool IsSealedText(std::string_view text) { return text.starts_with(kSealedPrefix); }

bool IsSealKeyId(std::string_view id) {
  if (id.empty() || id.size() > kMaxSealKeyIdLength) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

Sealer::KeyRing::~KeyRing() {
  for (auto& key : keys) ::sodium_memzero(key.bytes.data(), key.bytes.size());
}

Result<Sealer> Sealer::FromKeyText(std::string_view text) {
  if (!SodiumReady()) return Fail(ErrorCode::kInternal, "libsodium did not initialise");
  auto ring = std::make_shared<KeyRing>();
  std::set<std::string, std::less<>> ids;
  std::size_t line_number = 0;
  for (std::size_t start = 0; start < text.size();) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    // Details name the line and the id, never the key.
    const auto colon = line.find(':');
    const std::string_view id = line.substr(0, colon);
    if (colon == std::string_view::npos || !IsSealKeyId(id)) {
      return Fail(ErrorCode::kInvalidField,
                  LineName(line_number) + " is not <key_id>:<base64 key> with a key id of 1 to " +
                      std::to_string(kMaxSealKeyIdLength) + " characters a-z 0-9 -");
    }
    auto bytes =
        Unbase64(line.substr(colon + 1), kSealKeyBytes + 3, sodium_base64_VARIANT_ORIGINAL);
    if (!bytes || bytes->size() != kSealKeyBytes) {
      if (bytes) ::sodium_memzero(bytes->data(), bytes->size());
      return Fail(ErrorCode::kInvalidField,
                  LineName(line_number) + " (key " + std::string(id) +
                      "): the key must be the standard base64 of exactly 32 bytes");
    }
    if (!ids.insert(std::string(id)).second) {
      return Fail(ErrorCode::kInvalidField,
                  LineName(line_number) + ": duplicate key id " + std::string(id));
    }
    if (ring->keys.size() == kMaxSealKeys) {
      return Fail(ErrorCode::kInvalidField,
                  "more than " + std::to_string(kMaxSealKeys) + " seal keys");
    }
    Key& key = ring->keys.emplace_back(Key{std::string(id), {}});
    std::memcpy(key.bytes.data(), bytes->data(), kSealKeyBytes);
    ::sodium_memzero(bytes->data(), bytes->size());
  }
  if (ring->keys.empty())
    return Fail(ErrorCode::kInvalidField, "no seal key: expected lines <key_id>:<base64 key>");
  return Sealer(std::move(ring));
}

Result<Sealer> Sealer::FromKeyFile(const std::filesystem::path& path) {
  // The checks are made on the descriptor that is read, so the file cannot change in between.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT)
    return Fail(ErrorCode::kNotFound, "no seal key file " + path.string());
  if (fd < 0)
    return Fail(ErrorCode::kInternal,
                "cannot open seal key file " + path.string() + ": " + ErrnoText());
  auto text = ReadOwnerOnly(fd, path);
  ::close(fd);
  if (!text) return std::unexpected(text.error());
  auto sealer = FromKeyText(*text);
  ::sodium_memzero(text->data(), text->size());
  if (!sealer) sealer.error().detail = path.string() + ": " + sealer.error().detail;
  return sealer;
}

Result<Sealer> Sealer::OpenOrCreateKeyFile(const std::filesystem::path& path,
                                           std::string_view new_key_id, bool& created) {
  created = false;
  auto existing = FromKeyFile(path);
  if (existing || existing.error().code != ErrorCode::kNotFound) return existing;
  // Written whole under a temporary name, flushed, then linked into place: a start killed midway
  // leaves no half-written key file, and link fails rather than replace a key made meanwhile.
  const std::string temporary = path.string() + ".new";
  ::unlink(temporary.c_str());  // left by a start killed midway: it never sealed anything
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return Fail(ErrorCode::kInternal,
                "cannot create seal key file " + temporary + ": " + ErrnoText());
  std::string line = NewKeyLine(new_key_id) + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                       ::fsync(fd) == 0;
  ::sodium_memzero(line.data(), line.size());
  ::close(fd);
  const bool linked = written && ::link(temporary.c_str(), path.c_str()) == 0;
  const int link_errno = errno;
  ::unlink(temporary.c_str());
  if (!linked && !(written && link_errno == EEXIST)) {
    return Fail(ErrorCode::kInternal,
                "cannot write seal key file " + path.string() + ": " + std::strerror(link_errno));
  }
  if (const int dir = ::open(path.parent_path().empty() ? "." : path.parent_path().c_str(),
                             O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dir >= 0) {
    ::fsync(dir);  // the new name lasts
    ::close(dir);
  }
  created = linked;
  return FromKeyFile(path);
}

std::string Sealer::NewKeyLine(std::string_view key_id) {
  VARELAY_INVARIANT(IsSealKeyId(key_id), "a seal key id is [a-z0-9-]{1,16}");
  VARELAY_INVARIANT(SodiumReady(), "libsodium initialised");
  std::array<unsigned char, kSealKeyBytes> key{};
  ::randombytes_buf(key.data(), key.size());
  std::string line =
      std::string(key_id) + ":" + Base64(key.data(), key.size(), sodium_base64_VARIANT_ORIGINAL);
  ::sodium_memzero(key.data(), key.size());
  return line;
}

std::string Sealer::DefaultKeyId(std::chrono::system_clock::time_point now) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(now);
  const auto day = std::chrono::floor<std::chrono::days>(seconds);
  const std::chrono::year_month_day date(day);
  const std::chrono::hh_mm_ss time(seconds - day);
  char id[32];  // 16 for any year 0 to 9999
  std::snprintf(id, sizeof id, "k%04d%02u%02u-%02d%02d%02d", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()));
  return id;
}

std::string Sealer::Seal(std::string_view plaintext) const {
  const Key& key = ring_->keys.front();
  std::vector<unsigned char> sealed(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                                    plaintext.size());
  ::randombytes_buf(sealed.data(), crypto_secretbox_NONCEBYTES);
  ::crypto_secretbox_easy(sealed.data() + crypto_secretbox_NONCEBYTES,
                          reinterpret_cast<const unsigned char*>(plaintext.data()),
                          plaintext.size(), sealed.data(), key.bytes.data());
  return std::string(kSealedPrefix) + key.id + "." +
         Base64(sealed.data(), sealed.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

Result<std::string> Sealer::Open(std::string_view sealed) const {
  if (!sealed.starts_with(kSealedPrefix))
    return Fail(ErrorCode::kInternal, "not sealed text (no s1. prefix)");
  const std::string_view rest = sealed.substr(kSealedPrefix.size());
  const auto dot = rest.find('.');
  if (dot == std::string_view::npos)
    return Fail(ErrorCode::kInternal, "sealed text without a key id");
  const std::string_view id = rest.substr(0, dot);
  const Key* key = Find(id);
  if (key == nullptr)
    return Fail(ErrorCode::kInternal,
                "sealed under key '" + std::string(id) + "', which the seal keys lack");
  const std::string_view body = rest.substr(dot + 1);
  auto bytes = Unbase64(body, body.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  if (!bytes || bytes->size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return Fail(ErrorCode::kInternal, "sealed text is malformed or truncated");
  }
  std::string plain(bytes->size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (::crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                   bytes->data() + crypto_secretbox_NONCEBYTES,
                                   bytes->size() - crypto_secretbox_NONCEBYTES, bytes->data(),
                                   key->bytes.data()) != 0) {
    return Fail(ErrorCode::kInternal,
                "sealed text does not open under key '" + key->id + "' (altered or another key)");
  }
  return plain;
}

bool Sealer::SealedWithCurrentKey(std::string_view sealed) const {
  const std::string& id = ring_->keys.front().id;
  return sealed.starts_with(kSealedPrefix) && sealed.substr(kSealedPrefix.size()).starts_with(id) &&
         sealed.substr(kSealedPrefix.size() + id.size()).starts_with('.');
}

const std::string& Sealer::current_key_id() const { return ring_->keys.front().id; }

std::size_t Sealer::key_count() const { return ring_->keys.size(); }

const Sealer::Key* Sealer::Find(std::string_view id) const {
  for (const Key& key : ring_->keys) {
    if (key.id == id) return &key;
  }
  return nullptr;
}

}  // namespace varelay::crypto
