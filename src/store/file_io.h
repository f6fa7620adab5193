// Small file operations the store's log and the engine's snapshots share.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "domain/error.h"

namespace varelay {

// A whole file mapped read-only (and advised for reading straight through), for reading without
// a copy. kNotFound when there is no such file; an empty file maps to no bytes.
class MappedFile {
 public:
  static Result<MappedFile> Open(const std::string& path);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&&) = delete;
  ~MappedFile();

  std::string_view bytes() const { return {data_, size_}; }

 private:
  MappedFile(const char* data, std::size_t size) : data_(data), size_(size) {}
  const char* data_;
  std::size_t size_;
};

// Flushes folder `dir` (empty: the current one), so that a name created or removed in it lasts.
Result<void> SyncFolder(const std::string& dir);

// Creates folder `dir` when missing and makes it and everything in it the owner's alone: every
// folder 0700, every file 0600 (a folder an older build left readable is narrowed). Symbolic
// links are left as they are and not followed. Fails with kInternal naming the path.
Result<void> KeepFolderPrivate(const std::string& dir);

}  // namespace varelay
