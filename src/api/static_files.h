// The web pages (the Vite build in web/dist): read once at start and served from memory, so a
// request never touches the disk and no request path can name a file outside what was loaded.
#pragma once

#include <cstddef>
#include <expected>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "api/http_types.h"

namespace varelay::api {

// Bounds on what is loaded: the build is a few hundred KiB; anything near these is a mistake
// (a wrong --web-root), refused at start rather than held in memory.
inline constexpr std::size_t kMaxWebRootBytes = 16 * 1024 * 1024;
inline constexpr std::size_t kMaxWebRootFiles = 1000;

// Sent with every page and file: scripts and styles only from this origin and never inline,
// API calls only to this origin, no framing, no form posts elsewhere.
inline constexpr std::string_view kWebContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

class StaticFiles {
 public:
  // One file as served: its body and the headers that go with it.
  struct File {
    std::string content_type;
    std::string body;
    std::string etag;           // strong, quoted: a digest of the body
    std::string cache_control;  // hashed assets: a year, immutable; everything else: no-cache
  };

  // Reads every regular file under `root`. Refuses (with a message naming the file) a symlink
  // that leads out of the root, more than kMaxWebRootFiles files or kMaxWebRootBytes in all.
  static std::expected<StaticFiles, std::string> Load(const std::filesystem::path& root);
  // The same from files given by their path relative to the root ("assets/app-1a2b.js").
  static std::expected<StaticFiles, std::string> FromFiles(std::map<std::string, std::string> files);

  // The loaded file a request target names, or nullopt: `/assets/x` and other files by name,
  // `/pay/...` the payment page, `/`, `/master` and `/master/...` the master pages (their paths
  // are the pages' own routes). The query is ignored. A target with `.` or `..` segments, a NUL,
  // a backslash or an encoded `/` names nothing.
  const File* Resolve(std::string_view target) const;

  // Whether Answer has a file for this method and target.
  bool Serves(std::string_view method, std::string_view target) const {
    return (method == "GET" || method == "HEAD") && Resolve(target) != nullptr;
  }

  // The answer to GET or HEAD of a file Resolve finds (nullopt for any other method or target):
  // 200 with the file, or 304 when `if_none_match` names its ETag. The body is there for HEAD
  // too: the server sends a HEAD answer's headers only, with the length of the GET's body.
  std::optional<HttpResponse> Answer(std::string_view method, std::string_view target,
                                     std::string_view if_none_match) const;

  std::size_t total_bytes() const { return total_bytes_; }
  std::size_t file_count() const { return files_.size(); }

 private:
  std::map<std::string, File, std::less<>> files_;  // by path relative to the root
  std::size_t total_bytes_ = 0;
};

// The Vite build in this source tree (web/dist) when it has been built, else "": varelayd's
// default --web-root.
std::string BuiltWebRoot();

// The content type served for a file name, from its extension (octet-stream when unknown).
std::string ContentTypeFor(std::string_view name);

}  // namespace varelay::api
