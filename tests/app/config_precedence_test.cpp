// docs/configuration.md § precedence, through the real binary: API keys from
// the file, CRIER_API_KEYS and --api-key add up; a flag replaces the file's
// key; --default-provider also clears the file's channel routing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fmt/format.h>

#include <fstream>
#include <memory>

#include "sink/webhook_sink.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace crier::e2e {
namespace {

using testing::ServerProcess;
using testing::TempDir;

TEST(ConfigPrecedenceTest, KeysAddUpAndFlagsReplaceWhatTheFileSays) {
  TempDir dir;
  WebhookSink sink;
  ASSERT_TRUE(sink.start().ok());
  const auto toml = dir.path() / "crier.toml";
  {
    std::ofstream out(toml);
    // listen: replaced by the --listen 127.0.0.1:0 that ServerProcess passes.
    out << "[server]\nlisten = \"127.0.0.1:1\"\n\n"
           "[auth.api_keys]\n\"file-key-0001\" = \"from-file\"\n\n"
           "[dispatch.channels]\nwebhook = \"webhook\"\n";
  }
  ::setenv("CRIER_API_KEYS", "env-key-00001=from-env", 1);
  std::unique_ptr<ServerProcess> server;
  try {
    server = std::make_unique<ServerProcess>(
        dir.path() / "data", std::vector<std::string>{"--config", toml.string(), "--api-key",
                                                      "flag-key-0001=from-flag", "--default-provider", "null"});
  } catch (...) {
    ::unsetenv("CRIER_API_KEYS");
    throw;
  }
  ::unsetenv("CRIER_API_KEYS");
  EXPECT_NE(server->port(), 1) << "the flag's listen address won over the file's";

  // Every source's key works, each as its own tenant.
  HttpClient file_api(server->port(), "file-key-0001"), env_api(server->port(), "env-key-00001"),
      flag_api(server->port(), "flag-key-0001");
  const json::object spec{{"channel", "webhook"},
                          {"webhook_url", sink.url("/hooks")},
                          {"content", {{"webhook", {{"body", {{"text", "hi"}}}}}}}};
  const std::string id = create_job(file_api, spec);
  EXPECT_EQ(env_api.get("/v1/jobs/" + id).status, 404) << "another tenant's job";
  EXPECT_EQ(flag_api.get("/v1/jobs/" + id).status, 404) << "another tenant's job";
  EXPECT_EQ(env_api.get("/v1/jobs").status, 200);
  EXPECT_EQ(flag_api.get("/v1/jobs").status, 200);

  // --default-provider null cleared [dispatch.channels]: a webhook job that
  // names no provider goes to null, so the sink never hears of it.
  json::array users;
  for (int i = 0; i < 5; ++i) users.push_back(json::object{{"user_id", fmt::format("u{}", i)}});
  ingest_json(file_api, id, users);
  run_job(file_api, id);
  auto done = wait_for_status(file_api, id, {"COMPLETED", "PARTIAL", "FAILED"});
  EXPECT_EQ(str(done, "status"), "COMPLETED") << json::serialize(done);
  EXPECT_EQ(num(done, "sent"), 5);
  EXPECT_EQ(sink.stats().requests, 0u) << "the file's webhook routing was cleared by the flag";
}

}  // namespace
}  // namespace crier::e2e
