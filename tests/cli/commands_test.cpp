// The client commands as scripts use them: --output json on stdout, one
// error line on stderr, and the documented exit codes (docs/cli.md).
#include <fmt/format.h>

#include "tests/cli/cli_fixture.h"

namespace crier::cli_test {
namespace {

class CommandsTest : public CliTest {};

const char* kContent = R"({"email":{"subject":"Hi {{name}}","text":"Dear {{name}}, {{code}}"}})";

TEST_F(CommandsTest, TemplatesPutGetListDeleteAsJson) {
  auto put = crier({"templates", "put", "welcome", kContent, "-o", "json"});
  ASSERT_EQ(put.exit_code, 0) << put.describe();
  EXPECT_EQ(str(stdout_object(put), "template_id"), "welcome");

  auto file = write_file("content.json", R"({"content":{"sms":{"body":"Hi {{name}}"}}})");
  auto put_file = crier({"templates", "put", "short", file.string()});
  ASSERT_EQ(put_file.exit_code, 0) << put_file.describe();
  EXPECT_EQ(put_file.out, "created template short: sms\n");

  auto get = crier({"templates", "get", "welcome", "-o", "json"});
  ASSERT_EQ(get.exit_code, 0) << get.describe();
  auto content = stdout_object(get).at("content").as_object();
  EXPECT_EQ(str(content.at("email").as_object(), "subject"), "Hi {{name}}");

  // Listings in json are one object per line.
  auto list = crier({"templates", "list", "-o", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.describe();
  EXPECT_EQ(list.out.find("\"template_id\":\"short\""), list.out.rfind("\"template_id\":\"short\"")) << list.out;
  EXPECT_EQ(std::count(list.out.begin(), list.out.end(), '\n'), 2) << list.out;

  auto del = crier({"templates", "delete", "short"});
  ASSERT_EQ(del.exit_code, 0) << del.describe();
  auto gone = crier({"templates", "get", "short"});
  EXPECT_EQ(gone.exit_code, 1) << gone.describe();
  EXPECT_TRUE(gone.err.starts_with("error: template_not_found: ")) << gone.err;
}

TEST_F(CommandsTest, ServerErrorsAreOneLineWithCodeAndRequestId) {
  auto r = crier({"jobs", "create", "--channel", "email", "--content", R"({"email":{"text":"{{#open}}"}})"});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_TRUE(r.out.empty()) << r.describe();
  EXPECT_TRUE(r.err.starts_with("error: invalid_template: ")) << r.err;
  EXPECT_NE(r.err.find("field content.email.text"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("request id req_"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.find('{'), std::string::npos) << "no JSON in the error line: " << r.err;

  auto conflict = crier({"jobs", "pause", "job_01M93MTT3ZHZJWVHT2K067A5CA"});
  EXPECT_EQ(conflict.exit_code, 1);
  EXPECT_TRUE(conflict.err.starts_with("error: job_not_found: ")) << conflict.err;

  auto bad_key = crier({"jobs", "list"}, {"CRIER_API_KEY=not-the-key-0000"});
  EXPECT_EQ(bad_key.exit_code, 1);
  EXPECT_TRUE(bad_key.err.starts_with("error: invalid_api_key: ")) << bad_key.err;
}

TEST_F(CommandsTest, ConnectionComesFromFlagsOverEnvironment) {
  // No URL anywhere: a local error, exit 2.
  auto none = crier({"jobs", "list"}, {"CRIER_URL="});
  EXPECT_EQ(none.exit_code, 2) << none.describe();
  EXPECT_NE(none.err.find("CRIER_URL"), std::string::npos) << none.err;

  auto ftp = crier({"jobs", "list", "--url", "ftp://127.0.0.1:21"});
  EXPECT_EQ(ftp.exit_code, 2) << ftp.describe();
  EXPECT_NE(ftp.err.find("http:// or https://"), std::string::npos) << ftp.err;

  // An https URL goes through TLS: our plain-HTTP server cannot answer a handshake.
  auto tls = crier({"jobs", "list", "--url", "https" + url().substr(4)});
  EXPECT_EQ(tls.exit_code, 3) << tls.describe();
  EXPECT_NE(tls.err.find("tls_failed"), std::string::npos) << tls.err;

  // --url and --api-key win over the environment.
  auto flags = crier({"jobs", "list", "--url", url(), "--api-key", kApiKey},
                     {"CRIER_URL=http://127.0.0.1:1", "CRIER_API_KEY=wrong-key-0000"});
  EXPECT_EQ(flags.exit_code, 0) << flags.describe();

  // Nobody listening: exit 3, naming the URL.
  auto unreachable = crier({"jobs", "list"}, {"CRIER_URL=http://127.0.0.1:1"});
  EXPECT_EQ(unreachable.exit_code, 3) << unreachable.describe();
  EXPECT_TRUE(unreachable.err.starts_with("error: cannot reach http://127.0.0.1:1: connect_failed")) << unreachable.err;
}

TEST_F(CommandsTest, JobLifecycleAsJson) {
  auto created = crier({"jobs", "create", "--channel", "email", "--content", kContent, "--data", "name=there",
                        "--data", "code=X1", "--data", "n:=3", "--rate", "500", "-o", "json"});
  ASSERT_EQ(created.exit_code, 0) << created.describe();
  auto view = stdout_object(created);
  const auto id = str(view, "job_id");
  EXPECT_EQ(str(view, "status"), "CREATED");
  EXPECT_EQ(num(view, "rate_limit"), 500);
  EXPECT_EQ(json::serialize(view.at("data")), R"({"name":"there","code":"X1","n":3})");

  auto users = write_file("users.ndjson", ndjson_users(0, 5));
  auto ingested = crier({"ingest", id, users.string(), "-o", "json"});
  ASSERT_EQ(ingested.exit_code, 0) << ingested.describe();
  EXPECT_EQ(num(stdout_object(ingested), "accepted"), 5);

  auto paused = crier({"jobs", "pause", id});
  EXPECT_EQ(paused.exit_code, 1) << "a CREATED job cannot pause: " << paused.describe();
  EXPECT_NE(paused.err.find("job is CREATED"), std::string::npos) << paused.err;

  auto ran = crier({"jobs", "run", id, "--watch", "-o", "json"});
  ASSERT_EQ(ran.exit_code, 0) << ran.describe();
  auto final_view = stdout_object(ran);
  EXPECT_EQ(str(final_view, "status"), "COMPLETED");
  EXPECT_EQ(num(final_view, "sent"), 5);

  auto get = crier({"jobs", "get", id, "-o", "json"});
  ASSERT_EQ(get.exit_code, 0);
  EXPECT_EQ(str(stdout_object(get), "status"), "COMPLETED");

  auto listed = crier({"jobs", "users", id, "--limit", "2", "--all", "-o", "json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.describe();
  EXPECT_EQ(std::count(listed.out.begin(), listed.out.end(), '\n'), 5) << "every page followed: " << listed.out;
  EXPECT_NE(listed.out.find("\"user_id\":\"u4\""), std::string::npos);

  auto text = crier({"jobs", "list"});
  ASSERT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find(id + "  COMPLETED"), std::string::npos) << text.out;
}

TEST_F(CommandsTest, SendRunsTheWholeCampaignAndWatchesIt) {
  ASSERT_EQ(crier({"templates", "put", "welcome", kContent}).exit_code, 0);
  auto users = write_file("users.csv", csv_users(0, 30) + "bad,not-an-email,1\n");
  auto r = crier({"send", "--template", "welcome", "--channel", "email", "--csv", users.string(), "--data", "code=Z",
                  "--rate", "1000", "--batch-rows", "7", "--watch", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  auto out = stdout_object(r);
  auto ingest = out.at("ingest").as_object();
  EXPECT_EQ(num(ingest, "rows"), 31);
  EXPECT_EQ(num(ingest, "batches"), 5);
  EXPECT_EQ(num(ingest, "accepted"), 30);
  ASSERT_EQ(ingest.at("rejected").as_array().size(), 1u);
  auto rejected = ingest.at("rejected").as_array()[0].as_object();
  EXPECT_EQ(num(rejected, "line"), 32) << "the file's row (the header is row 1): " << json::serialize(rejected);
  EXPECT_EQ(str(rejected, "code"), "invalid_email");
  auto job_view = out.at("job").as_object();
  EXPECT_EQ(str(job_view, "status"), "COMPLETED");
  EXPECT_EQ(num(job_view, "sent"), 30);
  EXPECT_EQ(str(job_view, "template"), "welcome");
}

// A job whose every webhook is refused ends FAILED (exit 5); one where only
// some are ends PARTIAL (exit 4); --no-fail turns both into 0.
TEST_F(CommandsTest, WatchExitCodesFollowTheJobsOutcome) {
  SinkProcess ok;
  SinkProcess refusing({"--fail-first", "1000", "--fail-status", "400"});
  auto spec = [](const std::string& url) {
    return fmt::format(R"({{"channel":"webhook","provider":"webhook","webhook_url":"{}","content":{{"webhook":{{"body":{{"hi":"{{{{n}}}}"}}}}}}}})", url);
  };
  auto failed_users = write_file("failed.ndjson", ndjson_users(0, 3));
  auto failed = crier({"send", "--spec", spec(refusing.url("/hook")), "--ndjson", failed_users.string(), "--watch"});
  EXPECT_EQ(failed.exit_code, 5) << failed.describe();
  EXPECT_NE(failed.out.find("FAILED"), std::string::npos) << failed.out;

  // Users of their own webhook_url: one to the refusing sink, two to the good one.
  auto mixed = write_file("mixed.ndjson",
                          fmt::format("{{\"user_id\":\"a\",\"webhook_url\":\"{}\"}}\n"
                                      "{{\"user_id\":\"b\",\"webhook_url\":\"{}\"}}\n"
                                      "{{\"user_id\":\"c\",\"webhook_url\":\"{}\"}}\n",
                                      refusing.url("/hook"), ok.url("/hook"), ok.url("/hook")));
  auto partial = crier({"send", "--spec", spec(ok.url("/hook")), "--ndjson", mixed.string(), "--watch", "-o", "json"});
  EXPECT_EQ(partial.exit_code, 4) << partial.describe();
  auto view = stdout_object(partial).at("job").as_object();
  EXPECT_EQ(str(view, "status"), "PARTIAL");
  EXPECT_EQ(num(view, "failed"), 1);
  EXPECT_EQ(num(view, "sent"), 2);

  auto no_fail = crier({"watch", str(view, "job_id"), "--no-fail"});
  EXPECT_EQ(no_fail.exit_code, 0) << no_fail.describe();
  auto again = crier({"watch", str(view, "job_id")});
  EXPECT_EQ(again.exit_code, 4) << again.describe();
}

}  // namespace
}  // namespace crier::cli_test
