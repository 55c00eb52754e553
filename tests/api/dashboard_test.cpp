// GET / and /assets/{file}: the dashboard's embedded files, served without a
// key, each with its type, a validator that answers 304, and a CSP that
// allows no inline script; anything else under /assets/ is a 404.
#include <fstream>
#include <sstream>

#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

using DashboardTest = ApiTest;

std::string source_file(const std::string& name) {
  std::ifstream in(std::string(CRIER_SOURCE_DIR) + "/web/" + name, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_F(DashboardTest, ServesEachFileAsWrittenWithItsTypeAndNoKey) {
  struct Case {
    const char* path;
    const char* file;
    const char* type;
  };
  for (const auto& c : {Case{"/", "index.html", "text/html; charset=utf-8"},
                        Case{"/assets/app.js", "app.js", "text/javascript; charset=utf-8"},
                        Case{"/assets/app.css", "app.css", "text/css; charset=utf-8"},
                        Case{"/assets/favicon.svg", "favicon.svg", "image/svg+xml"}}) {
    auto r = send("GET", c.path, "", "");
    EXPECT_EQ(r.status, 200) << c.path;
    EXPECT_EQ(r.content_type, c.type) << c.path;
    EXPECT_EQ(r.body, source_file(c.file)) << c.path;
    EXPECT_EQ(header(r, "Cache-Control"), std::optional<std::string>("no-cache")) << c.path;
    EXPECT_EQ(header(r, "X-Content-Type-Options"), std::optional<std::string>("nosniff")) << c.path;
    auto csp = header(r, "Content-Security-Policy").value_or("");
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  }
}

TEST_F(DashboardTest, AMatchingIfNoneMatchIs304WithoutBody) {
  auto first = send("GET", "/assets/app.js", "", "");
  auto etag = header(first, "ETag").value_or("");
  ASSERT_EQ(etag.size(), 34u) << etag;  // a quoted 128-bit hex digest

  for (const std::string& sent : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    auto req = request("GET", "/assets/app.js", "", "");
    req.headers.emplace("if-none-match", sent);
    auto r = send(std::move(req));
    EXPECT_EQ(r.status, 304) << sent;
    EXPECT_TRUE(r.body.empty()) << sent;
    EXPECT_EQ(header(r, "ETag"), std::optional<std::string>(etag)) << sent;
  }
  // Another file's ETag, or a stale one: the whole file again.
  auto index_etag = header(send("GET", "/", "", ""), "ETag").value_or("");
  EXPECT_NE(index_etag, etag);
  auto req = request("GET", "/assets/app.js", "", "");
  req.headers.emplace("if-none-match", index_etag);
  auto r = send(std::move(req));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, source_file("app.js"));
}

// The handler answers HEAD as GET; the server sends the headers only
// (tests/e2e/raw_socket_test.cpp, HeadAnswersCarryNoBody).
TEST_F(DashboardTest, HeadIsAnsweredAsGet) {
  auto get = send("GET", "/", "", "");
  auto head = send("HEAD", "/", "", "");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(head.body, get.body);
  EXPECT_EQ(header(head, "ETag"), header(get, "ETag"));
}

TEST_F(DashboardTest, UnknownFilesAre404AndOtherMethods405) {
  for (const char* path : {"/assets/nope.js", "/assets/", "/assets/app.js/x", "/assets/../api/router.cpp"}) {
    auto r = send("GET", path, "", "");
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(error_code(r), "route_not_found") << path;
  }
  auto r = send("POST", "/", "", "");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(error_code(r), "method_not_allowed");
  EXPECT_EQ(header(r, "Allow"), std::optional<std::string>("GET, HEAD"));
}

TEST_F(DashboardTest, TheApiStillNeedsItsKey) {
  auto r = send("GET", "/v1/jobs", "", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(error_code(r), "missing_api_key");
}

}  // namespace
}  // namespace crier::testing
