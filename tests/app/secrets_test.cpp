// The secrets `crier serve` keeps for itself: the API key it generates when
// none is configured (created 0600 from the start, never written through a
// planted symlink, shown once) and the rule that no key ever appears in an
// error or a log line.
#include <sys/stat.h>

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "tests/e2e/channels_fixture.h"

namespace crier::e2e {
namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string first_line(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  return line;
}

TEST(GeneratedApiKey, IsCreated0600AndShownOnlyWhenGenerated) {
  crier::testing::TempDir dir;
  const auto data = dir.path() / "data";
  std::string key;
  {
    ServerProcess server(data);
    key = first_line(data / "api_key");
    ASSERT_TRUE(key.starts_with("crier_")) << key;
    struct stat st {};
    ASSERT_EQ(::stat((data / "api_key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    HttpClient api(server.port(), key);
    EXPECT_EQ(api.get("/v1/jobs").status, 200);
    ASSERT_TRUE(poll_until(10s, [&] { return server.output_tail(100000).find("API key (tenant 'default'): " + key) != std::string::npos; }))
        << server.output_tail();
    EXPECT_EQ(server.stop(), 0);
  }
  // The second start reads the same key back, and names the file without showing it.
  std::filesystem::remove(data / "server-output.log");
  ServerProcess again(data);
  HttpClient api(again.port(), key);
  EXPECT_EQ(api.get("/v1/jobs").status, 200);
  EXPECT_EQ(again.stop(), 0);
  const std::string output = read_file(again.output_path());
  EXPECT_EQ(output.find(key), std::string::npos) << "the key was shown again:\n" << output;
  EXPECT_NE(output.find("api_key"), std::string::npos) << output;
}

TEST(GeneratedApiKey, IsNeverWrittenThroughAPlantedSymlink) {
  crier::testing::TempDir dir;
  const auto data = dir.path() / "data";
  std::filesystem::create_directories(data);
  const auto elsewhere = dir.path() / "world-readable";
  { std::ofstream(elsewhere).flush(); }
  std::filesystem::permissions(elsewhere, std::filesystem::perms(0644));
  std::filesystem::create_symlink(elsewhere, data / "api_key");

  auto r = run_crier({"serve", "--listen", "127.0.0.1:0", "--data-dir", data.string()}, dir.path() / "out.log",
                     std::chrono::seconds(10));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_EQ(read_file(elsewhere), "") << "the key went through the symlink";
  EXPECT_NE(r.output.find("api_key"), std::string::npos) << r.output;
}

TEST(ApiKeys, NeverAppearInStartUpErrors) {
  crier::testing::TempDir dir;
  const std::string secret = "topsecret-key-0123456789";
  for (const auto& entry : {secret, secret + "=not a tenant!", secret.substr(0, 5) + "=acme"}) {
    SCOPED_TRACE(entry);
    auto r = run_crier({"serve", "--listen", "127.0.0.1:0", "--data-dir", (dir.path() / "data").string(),
                        "--api-key", entry},
                       dir.path() / "out.log", std::chrono::seconds(10));
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_EQ(r.output.find(secret.substr(0, 5)), std::string::npos) << r.output;
  }
}

}  // namespace
}  // namespace crier::e2e
