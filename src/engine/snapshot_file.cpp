#include "engine/snapshot_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

namespace varelay {
namespace {

constexpr std::size_t kWriteBuffer = 1 << 20;
constexpr std::size_t kChecksumBytes = 8;

std::string Errno(std::string_view what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

// Flushes the folder `path` is in, so that a name created or removed there is durable.
Result<void> SyncFolderOf(const std::string& path) {
  return SyncFolder(std::filesystem::path(path).parent_path().string());
}

void PutLittleEndian(std::string& to, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) to.push_back(static_cast<char>(value >> (8 * i)));
}

std::uint64_t GetLittleEndian(const char* from) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i)
    value |= std::uint64_t{static_cast<unsigned char>(from[i])} << (8 * i);
  return value;
}

std::uint64_t Mix(std::uint64_t state, std::uint64_t word) {
  return std::rotl(state ^ word, 29) * 0x9fb21c651e98df25ULL;
}

}  // namespace

// ---- checksum -------------------------------------------------------------------------------

void SnapshotChecksum::Add(std::string_view bytes) {
  length_ += bytes.size();
  std::size_t i = 0;
  for (; pending_bytes_ != 0 && i < bytes.size(); ++i) {
    pending_ |= std::uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * pending_bytes_);
    if (++pending_bytes_ == 8) {
      state_ = Mix(state_, pending_);
      pending_ = 0;
      pending_bytes_ = 0;
    }
  }
  for (; i + 8 <= bytes.size(); i += 8) state_ = Mix(state_, GetLittleEndian(bytes.data() + i));
  for (; i < bytes.size(); ++i) {
    pending_ |= std::uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * pending_bytes_++);
  }
}

std::uint64_t SnapshotChecksum::value() const {
  std::uint64_t h = pending_bytes_ ? Mix(state_, pending_) : state_;
  h ^= length_;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

// ---- writer ---------------------------------------------------------------------------------

SnapshotWriter::SnapshotWriter(std::string path, int fd) : path_(std::move(path)), fd_(fd) {
  buffer_.reserve(kWriteBuffer + 64);
}

SnapshotWriter::SnapshotWriter(SnapshotWriter&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      buffer_(std::move(other.buffer_)),
      checksum_(other.checksum_),
      written_(other.written_),
      pace_(other.pace_),
      started_out_(other.started_out_),
      written_out_(other.written_out_),
      error_(std::move(other.error_)) {}

SnapshotWriter::~SnapshotWriter() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink((path_ + ".tmp").c_str());
}

Result<SnapshotWriter> SnapshotWriter::Create(std::string path) {
  std::string temporary = path + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(ErrorCode::kInternal, Errno("cannot create", temporary));
  return SnapshotWriter(std::move(path), fd);
}

void SnapshotWriter::U64(std::uint64_t value) {
  while (value >= 0x80) {
    buffer_.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  buffer_.push_back(static_cast<char>(value));
  if (buffer_.size() >= kWriteBuffer) Flush();
}

void SnapshotWriter::I64(std::int64_t value) {
  U64((static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63));
}

void SnapshotWriter::Bytes(std::string_view bytes) {
  U64(bytes.size());
  buffer_.append(bytes);
  if (buffer_.size() >= kWriteBuffer) Flush();
}

void SnapshotWriter::Flush() {
  if (buffer_.empty()) return;
  checksum_.Add(buffer_);
  std::string_view left = buffer_;
  while (!left.empty() && error_.empty()) {
    ssize_t n = ::write(fd_, left.data(), left.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = Errno("cannot write", path_ + ".tmp");
      break;
    }
    left.remove_prefix(static_cast<std::size_t>(n));
  }
  written_ += buffer_.size();
  buffer_.clear();
  if (pace_ > 0 && written_ - started_out_ >= pace_ && error_.empty()) {
    // Starts writing this piece out, then waits for the one before it: at most two pieces are
    // on their way to the disk at once.
    auto range = [&](std::uint64_t from, std::uint64_t to, unsigned flags) {
      if (error_.empty() && ::sync_file_range(fd_, static_cast<off64_t>(from),
                                              static_cast<off64_t>(to - from), flags) != 0) {
        error_ = Errno("cannot write out", path_ + ".tmp");
      }
    };
    range(started_out_, written_, SYNC_FILE_RANGE_WRITE);
    if (started_out_ > written_out_) {
      range(written_out_, started_out_,
            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    }
    written_out_ = started_out_;
    started_out_ = written_;
  }
}

Result<std::uint64_t> SnapshotWriter::Finish() {
  Flush();
  std::string trailer;
  PutLittleEndian(trailer, checksum_.value());
  buffer_ = trailer;
  Flush();
  if (!error_.empty()) return Fail(ErrorCode::kInternal, error_);
  std::string temporary = path_ + ".tmp";
  if (::fdatasync(fd_) != 0) return Fail(ErrorCode::kInternal, Errno("cannot flush", temporary));
  ::close(std::exchange(fd_, -1));
  if (::rename(temporary.c_str(), path_.c_str()) != 0) {
    auto error = Errno("cannot rename", temporary);
    ::unlink(temporary.c_str());
    return Fail(ErrorCode::kInternal, error);
  }
  if (auto r = SyncFolderOf(path_); !r) return std::unexpected(r.error());
  return written_;
}

void RemoveUnfinishedSnapshot(const std::string& path) { ::unlink((path + ".tmp").c_str()); }

Result<void> RemoveSnapshotFile(const std::string& path) {
  RemoveUnfinishedSnapshot(path);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return {};
    return Fail(ErrorCode::kInternal, Errno("cannot remove", path));
  }
  return SyncFolderOf(path);
}

// ---- reader ---------------------------------------------------------------------------------

SnapshotReader::SnapshotReader(MappedFile file)
    : file_(std::move(file)),
      at_(file_.bytes().data()),
      end_(file_.bytes().data() + file_.bytes().size() - kChecksumBytes) {}

Result<SnapshotReader> SnapshotReader::Open(const std::string& path) {
  auto file = MappedFile::Open(path);
  if (!file) {
    if (file.error().code == ErrorCode::kNotFound) {
      return Fail(ErrorCode::kNotFound, "no snapshot at " + path);
    }
    return std::unexpected(file.error());
  }
  const std::string_view bytes = file->bytes();
  if (bytes.size() < kChecksumBytes) {
    return Fail(ErrorCode::kInvalidField, path + " is too short to be a snapshot");
  }
  SnapshotChecksum checksum;
  checksum.Add(bytes.substr(0, bytes.size() - kChecksumBytes));
  if (checksum.value() != GetLittleEndian(bytes.data() + bytes.size() - kChecksumBytes)) {
    return Fail(ErrorCode::kInvalidField, path + " fails its checksum");
  }
  return SnapshotReader(std::move(*file));
}

std::uint64_t SnapshotReader::U64() {
  std::uint64_t value = 0;
  for (int shift = 0; ok_; shift += 7) {
    if (at_ == end_) break;
    auto byte = static_cast<unsigned char>(*at_++);
    if (shift == 63 && byte > 1) break;  // more than 64 bits
    value |= std::uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) return value;
  }
  ok_ = false;
  return 0;
}

std::int64_t SnapshotReader::I64() {
  std::uint64_t v = U64();
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

std::string_view SnapshotReader::Bytes(std::size_t max) {
  std::uint64_t size = U64();
  if (!ok_ || size > max || size > static_cast<std::uint64_t>(end_ - at_)) {
    ok_ = false;
    return {};
  }
  std::string_view bytes(at_, size);
  at_ += size;
  return bytes;
}

}  // namespace varelay
