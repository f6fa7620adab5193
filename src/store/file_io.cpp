#include "store/file_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

namespace varelay {
namespace {

std::unexpected<Error> SystemError(const std::string& what) {
  return Fail(ErrorCode::kInternal, what + ": " + std::strerror(errno));
}

}  // namespace

Result<MappedFile> MappedFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Fail(ErrorCode::kNotFound, "no file at " + path);
    return SystemError("cannot open " + path);
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    auto error = SystemError("cannot read the size of " + path);
    ::close(fd);
    return error;
  }
  const auto size = static_cast<std::size_t>(info.st_size);
  void* data = size == 0 ? nullptr : ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (data == MAP_FAILED) return SystemError("cannot map " + path);
  if (data) ::madvise(data, size, MADV_SEQUENTIAL);
  return MappedFile(static_cast<const char*>(data), size);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<char*>(data_), size_);
}

Result<void> SyncFolder(const std::string& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return SystemError("cannot open the folder " + dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return SystemError("cannot flush the folder " + dir);
  return {};
}

Result<void> KeepFolderPrivate(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Fail(ErrorCode::kInternal, "cannot create the folder " + dir + ": " + ec.message());
  auto narrow = [](const fs::path& path, fs::file_status status) -> Result<void> {
    if (fs::is_symlink(status)) return {};
    const mode_t mode = fs::is_directory(status) ? 0700 : 0600;
    if (::chmod(path.c_str(), mode) != 0 && errno != ENOENT) {
      return SystemError("cannot make " + path.string() + " private");
    }
    return {};
  };
  if (auto r = narrow(dir, fs::status(dir, ec)); !r) return r;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (auto r = narrow(it->path(), it->symlink_status(ec)); !r) return r;
  }
  if (ec) return Fail(ErrorCode::kInternal, "cannot list the folder " + dir + ": " + ec.message());
  return {};
}

}  // namespace varelay
