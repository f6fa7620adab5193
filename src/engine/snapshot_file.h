// The file a stop snapshot lives in: a byte stream of unsigned LEB128 integers and
// length-prefixed strings, then a 64-bit checksum of everything before it. Written to a temporary
// name, flushed and renamed into place, so a file under the final name is always whole; read
// through a read-only mapping, every length checked against what is left.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "domain/error.h"
#include "store/file_io.h"

namespace varelay {

// The checksum both sides use, over a whole buffer or fed piece by piece (pieces of any size give
// the same result as the whole).
class SnapshotChecksum {
 public:
  void Add(std::string_view bytes);
  std::uint64_t value() const;

 private:
  std::uint64_t state_ = 0x9e3779b97f4a7c15ULL;
  std::uint64_t pending_ = 0;  // bytes not yet folded in, little end first
  int pending_bytes_ = 0;
  std::uint64_t length_ = 0;
};

class SnapshotWriter {
 public:
  // Creates `path` + ".tmp" (replacing a leftover one).
  static Result<SnapshotWriter> Create(std::string path);
  SnapshotWriter(SnapshotWriter&& other) noexcept;
  SnapshotWriter& operator=(SnapshotWriter&&) = delete;
  ~SnapshotWriter();  // an unfinished file is removed

  // Writes the file out to the disk every `bytes` as it goes, waiting for each piece, instead of
  // leaving it all to the flush at the end: a writer running beside a server then never has more
  // than that much queued at the disk ahead of the server's own small flushes. 0: not paced.
  void PaceWriteback(std::uint64_t bytes) { pace_ = bytes; }

  void U64(std::uint64_t value);
  void I64(std::int64_t value);        // zigzag, so small negatives stay short
  void Bytes(std::string_view bytes);  // length, then the bytes

  // Writes the checksum, flushes the file to the disk and renames it into place (then flushes the
  // folder, so the name is durable too). Returns the bytes written.
  Result<std::uint64_t> Finish();

 private:
  SnapshotWriter(std::string path, int fd);
  void Flush();

  std::string path_;
  int fd_ = -1;
  std::string buffer_;
  SnapshotChecksum checksum_;
  std::uint64_t written_ = 0;
  std::uint64_t pace_ = 0;         // PaceWriteback
  std::uint64_t started_out_ = 0;  // ... the bytes whose writing out has begun
  std::uint64_t written_out_ = 0;  // ... and of those, the bytes on the disk
  std::string error_;  // the first write that failed
};

// Removes the temporary file a writer of `path` left when a kill cut it short (the running
// snapshot's copy dies with the process). Nothing there is fine.
void RemoveUnfinishedSnapshot(const std::string& path);
// Removes the snapshot at `path` (nothing there is fine) and flushes its folder, so the file
// cannot come back after a power cut; and any unfinished one.
Result<void> RemoveSnapshotFile(const std::string& path);

class SnapshotReader {
 public:
  // Maps `path` and checks its checksum. kNotFound when there is no such file.
  static Result<SnapshotReader> Open(const std::string& path);
  SnapshotReader(SnapshotReader&& other) noexcept = default;
  SnapshotReader& operator=(SnapshotReader&&) = delete;

  // Each read fails (and every later one with it) when the data runs out or is malformed; the
  // value read then is 0 or empty. Check ok() after a run of reads.
  std::uint64_t U64();
  std::int64_t I64();
  // Valid while the reader lives; `max` bounds the length.
  std::string_view Bytes(std::size_t max);
  bool ok() const { return ok_; }
  void MarkBad() { ok_ = false; }  // a value read was out of range
  bool AtEnd() const { return at_ == end_; }
  std::uint64_t remaining() const { return static_cast<std::uint64_t>(end_ - at_); }  // before the checksum

 private:
  explicit SnapshotReader(MappedFile file);

  MappedFile file_;  // checksum included
  const char* at_ = nullptr;
  const char* end_ = nullptr;  // where the checksum starts
  bool ok_ = true;
};

}  // namespace varelay
