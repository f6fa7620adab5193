#include "api/static_files.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>
#include <vector>

#include "domain/digest.h"

namespace varelay::api {
namespace fs = std::filesystem;
namespace {

// Hashed by Vite (name-<hash>.ext): a changed file gets a new name, so a cached copy never goes stale.
constexpr std::string_view kAssetsDir = "assets/";
constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
// The pages' HTML names the current assets: revalidated on every load (a 304 when unchanged).
constexpr std::string_view kRevalidate = "no-cache";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One path segment, percent-decoded; nullopt when it is malformed or could step outside the
// tree: `.`, `..`, or a decoded `/`, `\` or NUL.
std::optional<std::string> DecodeSegment(std::string_view raw) {
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '%') {
      out += raw[i];
      continue;
    }
    if (i + 2 >= raw.size()) return std::nullopt;
    int hi = HexValue(raw[i + 1]);
    int lo = HexValue(raw[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  if (out == "." || out == "..") return std::nullopt;
  if (out.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos) return std::nullopt;
  return out;
}

// The decoded segments of an origin-form target's path (query dropped), or nullopt.
std::optional<std::vector<std::string>> PathSegments(std::string_view target) {
  target = target.substr(0, target.find('?'));
  if (target.empty() || target.front() != '/') return std::nullopt;
  std::vector<std::string> segments;
  std::size_t start = 1;
  while (start <= target.size()) {
    auto end = std::min(target.find('/', start), target.size());
    auto segment = DecodeSegment(target.substr(start, end - start));
    if (!segment) return std::nullopt;
    segments.push_back(std::move(*segment));
    start = end + 1;
  }
  return segments;
}

// The loaded file's key for a request path: the pages' own routes map to their HTML.
std::optional<std::string> FileKey(const std::vector<std::string>& segments) {
  if (segments.size() == 1 && segments[0].empty()) return "index.html";
  if (segments[0] == "pay" && segments.size() >= 2 && !segments[1].empty()) return "pay/index.html";
  if (segments[0] == "master") return "master/index.html";
  std::string key;
  for (const auto& s : segments) {
    if (s.empty()) return std::nullopt;  // `//` or a trailing `/`: no directory listings
    if (!key.empty()) key += '/';
    key += s;
  }
  return key;
}

bool EtagListed(std::string_view list, std::string_view etag) {
  while (!list.empty()) {
    auto comma = std::min(list.find(','), list.size());
    auto item = list.substr(0, comma);
    list.remove_prefix(std::min(comma + 1, list.size()));
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.starts_with("W/")) item.remove_prefix(2);  // If-None-Match compares weakly
    if (item == "*" || item == etag) return true;
  }
  return false;
}

std::expected<std::string, std::string> ReadWhole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected("cannot read " + path.string());
  std::string body{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return std::unexpected("cannot read " + path.string());
  return body;
}

// Whether `path` (canonical) is `root` (canonical) or below it.
bool IsUnder(const fs::path& path, const fs::path& root) {
  auto [r, p] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return r == root.end();
}

}  // namespace

std::string BuiltWebRoot() {
  const fs::path built = VARELAY_WEB_DIST;  // set by src/api/CMakeLists.txt
  std::error_code ec;
  return fs::is_regular_file(built / "pay" / "index.html", ec) ? built.string() : std::string();
}

std::string ContentTypeFor(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},   {".json", "application/json"},
      {".svg", "image/svg+xml"},             {".png", "image/png"},
      {".ico", "image/x-icon"},              {".webp", "image/webp"},
      {".woff2", "font/woff2"},              {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"},          {".webmanifest", "application/manifest+json"},
  };
  for (const auto& [ext, type] : kTypes) {
    if (name.ends_with(ext)) return std::string(type);
  }
  return "application/octet-stream";
}

std::expected<StaticFiles, std::string> StaticFiles::FromFiles(std::map<std::string, std::string> files) {
  if (files.size() > kMaxWebRootFiles) {
    return std::unexpected("more than " + std::to_string(kMaxWebRootFiles) + " files");
  }
  StaticFiles loaded;
  for (auto& [key, body] : files) {
    loaded.total_bytes_ += body.size();
    if (loaded.total_bytes_ > kMaxWebRootBytes) {
      return std::unexpected("more than " + std::to_string(kMaxWebRootBytes >> 20) + " MiB of files");
    }
    File file;
    file.content_type = ContentTypeFor(key);
    file.etag = '"' + Sha256Hex(body).substr(0, 32) + '"';
    file.cache_control = std::string(key.starts_with(kAssetsDir) ? kImmutable : kRevalidate);
    file.body = std::move(body);
    loaded.files_.emplace(key, std::move(file));
  }
  return loaded;
}

std::expected<StaticFiles, std::string> StaticFiles::Load(const fs::path& root) {
  std::error_code ec;
  auto base = fs::canonical(root, ec);
  if (ec || !fs::is_directory(base)) return std::unexpected(root.string() + " is not a directory");
  std::map<std::string, std::string> files;
  std::size_t bytes = 0;
  for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const auto& entry = *it;
    if (entry.is_directory() && !entry.is_symlink()) continue;
    auto real = fs::canonical(entry.path(), ec);
    if (ec || !IsUnder(real, base)) return std::unexpected(entry.path().string() + " leads out of the web root");
    if (!fs::is_regular_file(real)) return std::unexpected(entry.path().string() + " is not a regular file");
    if (files.size() == kMaxWebRootFiles) {
      return std::unexpected(root.string() + " holds more than " + std::to_string(kMaxWebRootFiles) + " files");
    }
    bytes += fs::file_size(real, ec);
    if (ec || bytes > kMaxWebRootBytes) {
      return std::unexpected(root.string() + " holds more than " + std::to_string(kMaxWebRootBytes >> 20) + " MiB");
    }
    auto body = ReadWhole(real);
    if (!body) return std::unexpected(body.error());
    files.emplace(entry.path().lexically_relative(base).generic_string(), std::move(*body));
  }
  if (ec) return std::unexpected("cannot list " + root.string() + ": " + ec.message());
  return FromFiles(std::move(files));
}

const StaticFiles::File* StaticFiles::Resolve(std::string_view target) const {
  auto segments = PathSegments(target);
  if (!segments) return nullptr;
  auto key = FileKey(*segments);
  if (!key) return nullptr;
  auto it = files_.find(*key);
  return it == files_.end() ? nullptr : &it->second;
}

std::optional<HttpResponse> StaticFiles::Answer(std::string_view method, std::string_view target,
                                                std::string_view if_none_match) const {
  if (method != "GET" && method != "HEAD") return std::nullopt;
  const File* file = Resolve(target);
  if (!file) return std::nullopt;
  HttpResponse response;
  response.content_type = file->content_type;
  response.headers = {
      {"Cache-Control", file->cache_control},
      {"ETag", file->etag},
      {"Content-Security-Policy", std::string(kWebContentSecurityPolicy)},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
  };
  if (!if_none_match.empty() && EtagListed(if_none_match, file->etag)) {
    response.status = 304;
    return response;
  }
  response.body = file->body;  // the server leaves it out of a HEAD answer, keeping its length
  return response;
}

}  // namespace varelay::api
