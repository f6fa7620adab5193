#include "api/static_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "api/service.h"

namespace varelay::api {
namespace {
namespace fs = std::filesystem;

StaticFiles Dist() {
  auto files = StaticFiles::FromFiles({
      {"pay/index.html", "<!doctype html><title>pay</title>"},
      {"master/index.html", "<!doctype html><title>master</title>"},
      {"assets/pay-1a2b3c.js", "console.log(1)"},
      {"assets/style-9f8e.css", "body{}"},
      {"favicon.svg", "<svg/>"},
  });
  EXPECT_TRUE(files) << files.error();
  return std::move(*files);
}

std::string Header(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "(none)";
}

// Proves the pages' routes map to their HTML and files by name, and that nothing else is found:
// no `..` or `.` (plain or percent-encoded), no encoded slash, backslash or NUL, no directories.
TEST(StaticFilesTest, ResolvesPagesAndFilesAndNothingElse) {
  auto dist = Dist();
  auto body = [&](std::string_view target) {
    const auto* f = dist.Resolve(target);
    return f ? f->body : std::string("(none)");
  };
  EXPECT_EQ(body("/pay/dvp_0123456789abcdefghij"), "<!doctype html><title>pay</title>");
  EXPECT_EQ(body("/pay/dvp_x?lang=ko"), "<!doctype html><title>pay</title>");
  EXPECT_EQ(body("/master"), "<!doctype html><title>master</title>");
  EXPECT_EQ(body("/master/"), "<!doctype html><title>master</title>");
  EXPECT_EQ(body("/master/accounts/dva_1"), "<!doctype html><title>master</title>");
  EXPECT_EQ(body("/assets/pay-1a2b3c.js"), "console.log(1)");
  EXPECT_EQ(body("/favicon.svg"), "<svg/>");
  for (std::string_view bad :
       {"/", "/pay", "/pay/", "/assets/", "/assets", "/assets/../favicon.svg", "/assets/%2e%2e/favicon.svg",
        "/./favicon.svg", "/%2E/favicon.svg", "/assets%2fpay-1a2b3c.js", "/assets%5cpay-1a2b3c.js",
        "/favicon.svg%00", "/favicon.svg%0", "/favicon.svg%zz", "//favicon.svg", "/assets//pay-1a2b3c.js",
        "favicon.svg", "", "/etc/passwd", "/../../etc/passwd", "/v1/merchants"}) {
    EXPECT_EQ(body(bad), "(none)") << bad;
  }
}

// Proves the headers each file is served with: its type, a year's immutable caching for hashed
// assets and revalidation for HTML, an ETag, and the security headers on every file.
TEST(StaticFilesTest, ServesWithCachingAndSecurityHeaders) {
  auto dist = Dist();
  auto page = dist.Answer("GET", "/pay/dvp_1", "");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(Header(*page, "Cache-Control"), "no-cache");
  EXPECT_EQ(Header(*page, "Content-Security-Policy"),
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  EXPECT_EQ(Header(*page, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(Header(*page, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(Header(*page, "ETag").size(), 34u);

  auto script = dist.Answer("HEAD", "/assets/pay-1a2b3c.js", "");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(Header(*script, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(script->body, "console.log(1)");  // the server drops it from a HEAD answer, keeping the length
  EXPECT_EQ(dist.Answer("GET", "/assets/style-9f8e.css", "")->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(dist.Answer("GET", "/favicon.svg", "")->content_type, "image/svg+xml");

  EXPECT_FALSE(dist.Answer("POST", "/pay/dvp_1", ""));
  EXPECT_FALSE(dist.Answer("DELETE", "/assets/pay-1a2b3c.js", ""));
  EXPECT_FALSE(dist.Answer("GET", "/assets/missing.js", ""));
}

// Proves a request naming the current ETag (alone, in a list, weak, or *) gets 304 and no body,
// and one naming another gets the file.
TEST(StaticFilesTest, AnswersNotModifiedForTheCurrentEtag) {
  auto dist = Dist();
  auto etag = Header(*dist.Answer("GET", "/master/", ""), "ETag");
  for (const std::string& inm : {etag, "\"old\", " + etag, "W/" + etag, std::string("*")}) {
    auto r = dist.Answer("GET", "/master/", inm);
    EXPECT_EQ(r->status, 304) << inm;
    EXPECT_TRUE(r->body.empty());
    EXPECT_EQ(Header(*r, "ETag"), etag);
  }
  EXPECT_EQ(dist.Answer("GET", "/master/", "\"old\"")->status, 200);
}

class StaticFilesLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("varelay-web-" + std::to_string(::getpid()));
    fs::remove_all(base_);
    fs::create_directories(base_ / "dist" / "assets");
    Write(base_ / "dist" / "assets" / "a-1.js", "a");
    Write(base_ / "dist" / "pay" / "index.html", "<p>");
    Write(base_ / "secret.txt", "outside");
  }
  void TearDown() override { fs::remove_all(base_); }
  static void Write(const fs::path& p, std::string_view text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
  }
  fs::path base_;
};

// Proves a build folder is read whole into memory (later changes on disk are not served), and
// that a symlink out of the root, too many bytes, or a missing folder refuse the start.
TEST_F(StaticFilesLoadTest, LoadsTheTreeAndRefusesWhatLeadsOut) {
  auto dist = StaticFiles::Load(base_ / "dist");
  ASSERT_TRUE(dist) << dist.error();
  EXPECT_EQ(dist->file_count(), 2u);
  fs::remove(base_ / "dist" / "assets" / "a-1.js");
  EXPECT_EQ(dist->Resolve("/assets/a-1.js")->body, "a");

  fs::create_directories(base_ / "dist" / "assets");
  fs::create_symlink(base_ / "secret.txt", base_ / "dist" / "assets" / "leak.txt");
  auto leaked = StaticFiles::Load(base_ / "dist");
  ASSERT_FALSE(leaked);
  EXPECT_NE(leaked.error().find("leads out of the web root"), std::string::npos) << leaked.error();
  fs::remove(base_ / "dist" / "assets" / "leak.txt");

  fs::create_directory_symlink(base_, base_ / "dist" / "up");
  EXPECT_FALSE(StaticFiles::Load(base_ / "dist"));
  fs::remove(base_ / "dist" / "up");

  Write(base_ / "dist" / "big.bin", std::string(kMaxWebRootBytes, 'x'));
  auto big = StaticFiles::Load(base_ / "dist");
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().find("MiB"), std::string::npos) << big.error();
  EXPECT_FALSE(StaticFiles::Load(base_ / "missing"));
}

// Proves the service serves the pages only where no API route matches, answers GET and HEAD
// only, and serves nothing when no web root was given.
TEST(StaticFilesServiceTest, PagesOnlyWhereNoRouteMatches) {
  EngineStats stats;
  Service service(stats, {});
  auto dist = Dist();
  auto get = [&](std::string_view method, std::string_view target) {
    HttpRequestView r;
    r.method = method;
    r.target = target;
    return service.Prepare(r);
  };
  EXPECT_EQ(get("GET", "/pay/dvp_1").response->status, 404);  // no web root
  service.SetStaticFiles(&dist);
  auto page = get("GET", "/pay/dvp_1");
  ASSERT_TRUE(page.response);
  EXPECT_EQ(page.response->status, 200);
  EXPECT_EQ(page.response->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(get("HEAD", "/master/").response->status, 200);
  EXPECT_FALSE(service.Admit("GET", "/master/", "", {}).refusal);
  EXPECT_EQ(get("POST", "/pay/dvp_1").response->status, 404);
  EXPECT_EQ(get("GET", "/healthz").response->body, R"({"status":"ok"})");
  EXPECT_EQ(get("GET", "/v1/merchants").response->status, 401);
  EXPECT_EQ(service.Admit("GET", "/v1/nothing", "", {}).refusal->status, 404);
}

}  // namespace
}  // namespace varelay::api
