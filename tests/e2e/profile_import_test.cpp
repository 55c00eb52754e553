// POST /v1/profiles/import through the real server: NDJSON and CSV bodies
// upserted into the tenant's profiles (merged into stored ones as PATCH
// merges), refused lines listed while the rest is stored, an alias held by
// another profile refusing its line only, a line over the limit ending the
// stream with 413 and what was committed before it kept; and the imported
// profiles sent to at their imported addresses (a real webhook sink).
#include <fmt/format.h>

#include <fstream>
#include <map>
#include <set>

#include "tests/e2e/channels_fixture.h"
#include "tests/e2e/e2e_fixture.h"

namespace crier::e2e {
namespace {

// Small limits, so that a test crosses them: batches of 10, lines of 4 KiB.
class ProfileImportTest : public CrierTest {
 protected:
  void SetUp() override {
    std::ofstream(scratch_file("crier.toml")) << "[limits]\nstream_commit_users = 10\nmax_line_bytes = 4096\n";
    CrierTest::SetUp();
  }
  std::vector<std::string> server_args() const override {
    return {"--config", scratch_file("crier.toml").string()};
  }

  HttpResponse import(std::string_view body, std::string_view type, HttpClient* client = nullptr) {
    return (client ? *client : api()).post("/v1/profiles/import", body, type);
  }
  json::object profile(std::string_view user_id, HttpClient* client = nullptr) {
    return require((client ? *client : api()).get("/v1/profiles/" + std::string(user_id)), 200,
                   "profile " + std::string(user_id));
  }
};

TEST_F(ProfileImportTest, NdjsonLinesCreateProfilesAndMergeIntoStoredOnes) {
  require(api().put_json("/v1/profiles/ann", json::object{{"email", "ann@example.com"},
                                                         {"phone", "+14155550100"},
                                                         {"attributes", {{"plan", "free"}, {"visits", 4}}},
                                                         {"subscriptions", {{"sms", "opted_in"}}}}),
          201, "put ann");
  const std::string body =
      "{\"user_id\":\"ann\",\"email\":\"ann.new@example.com\",\"attributes\":{\"plan\":\"pro\"},\"subscriptions\":{\"email\":\"unsubscribed\"}}\n"
      "\n"
      "{\"user_id\":\"bob\",\"email\":\"Bob@Example.COM\",\"locale\":\"fr\",\"attributes\":{\"plan\":\"free\",\"tags\":[\"a\",\"b\"]}}\n"
      "{\"user_id\":\"ann\",\"phone\":null}\n";
  auto r = require(import(body, "application/x-ndjson"), 200, "import");
  EXPECT_EQ(num(r, "received"), 3);
  EXPECT_EQ(num(r, "created"), 1);
  EXPECT_EQ(num(r, "updated"), 2);
  EXPECT_EQ(num(r, "rejected_count"), 0);
  EXPECT_TRUE(r.at("rejected").as_array().empty());

  auto ann = profile("ann");
  EXPECT_EQ(str(ann, "email"), "ann.new@example.com");
  EXPECT_TRUE(ann.at("phone").is_null()) << "null removes, as PATCH does";
  EXPECT_EQ(ann.at("attributes"), (json::object{{"plan", "pro"}, {"visits", 4}})) << "attributes merge member by member";
  EXPECT_EQ(ann.at("subscriptions"), (json::object{{"email", "unsubscribed"}, {"sms", "opted_in"}}));
  auto bob = profile("bob");
  EXPECT_EQ(str(bob, "email"), "Bob@example.com");
  EXPECT_EQ(str(bob, "locale"), "fr");
  EXPECT_EQ(bob.at("attributes").as_object().at("tags"), (json::array{"a", "b"}));
  expect_error(api_b().get("/v1/profiles/bob"), 404, "profile_not_found");  // tenant A's only
}

TEST_F(ProfileImportTest, CsvRowsCarryMembersSubscriptionsAndTypedAttributes) {
  require(api().put_json("/v1/profiles/u1", json::object{{"email", "old@example.com"}, {"attributes", {{"city", "Lyon"}}}}),
          201, "put u1");
  std::string body = "user_id,email,phone,subscriptions.sms,plan,attributes.visits,vip\r\n"
                     "u1,,+33 6 12 34 56 78,opted_in,pro,12,true\r\n";
  for (int i = 2; i <= 25; ++i) body += fmt::format("u{},u{}@example.com,,,free,{},false\r\n", i, i, i);
  auto r = require(import(body, "text/csv"), 200, "import CSV");
  EXPECT_EQ(num(r, "received"), 25);
  EXPECT_EQ(num(r, "created"), 24);
  EXPECT_EQ(num(r, "updated"), 1);
  auto u1 = profile("u1");
  EXPECT_EQ(str(u1, "email"), "old@example.com") << "an empty cell sets nothing";
  EXPECT_EQ(str(u1, "phone"), "+33612345678");
  EXPECT_EQ(u1.at("subscriptions"), (json::object{{"sms", "opted_in"}}));
  EXPECT_EQ(u1.at("attributes"), (json::object{{"city", "Lyon"}, {"plan", "pro"}, {"visits", 12}, {"vip", true}}));
  auto u25 = profile("u25");
  EXPECT_EQ(u25.at("attributes"), (json::object{{"plan", "free"}, {"visits", 25}, {"vip", false}}));
  auto page = require(api().get("/v1/profiles?limit=100"), 200, "list");
  EXPECT_EQ(page.at("profiles").as_array().size(), 25u);
}

TEST_F(ProfileImportTest, BadLinesAreListedAndTheRestIsStored) {
  std::string body;
  for (int i = 0; i < 12; ++i) body += fmt::format("{{\"user_id\":\"good-{}\",\"email\":\"g{}@example.com\"}}\n", i, i);
  body += "{\"user_id\":\"broken\",\n";                                     // line 13: not JSON
  body += "[\"an array\"]\n";                                               // 14: not an object
  body += "{\"email\":\"nobody@example.com\"}\n";                           // 15: no user_id
  body += "{\"user_id\":\"bad-email\",\"email\":\"not an address\"}\n";     // 16: invalid email
  body += "{\"user_id\":\"bad-member\",\"colour\":\"blue\"}\n";             // 17: unknown member
  body += "{\"user_id\":\"bad-sub\",\"subscriptions\":{\"email\":\"maybe\"}}\n";  // 18
  body += "{\"user_id\":\"last\",\"email\":\"last@example.com\"}\n";
  auto r = require(import(body, "application/x-ndjson"), 200, "import");
  EXPECT_EQ(num(r, "received"), 19);
  EXPECT_EQ(num(r, "created"), 13);
  EXPECT_EQ(num(r, "rejected_count"), 6);
  EXPECT_FALSE(r.at("rejected_truncated").as_bool());
  std::map<std::int64_t, std::pair<std::string, std::string>> by_line;  // line -> code, field
  for (const auto& v : r.at("rejected").as_array()) {
    const auto& o = v.as_object();
    EXPECT_EQ(num(o, "index"), num(o, "line") - 1) << "no blank lines here";
    EXPECT_FALSE(str(o, "message").empty());
    by_line[num(o, "line")] = {str(o, "code"), str(o, "field")};
  }
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(by_line, (std::map<std::int64_t, P>{{13, P{"invalid_json", ""}},
                                                {14, P{"invalid_profile", ""}},
                                                {15, P{"invalid_user_id", "user_id"}},
                                                {16, P{"invalid_email", "email"}},
                                                {17, P{"invalid_profile", "colour"}},
                                                {18, P{"invalid_subscription", "subscriptions.email"}}}));
  EXPECT_EQ(str(profile("good-11"), "email"), "g11@example.com");
  EXPECT_EQ(str(profile("last"), "email"), "last@example.com");
  for (const auto* id : {"bad-email", "bad-member", "bad-sub"})
    expect_error(api().get(std::string("/v1/profiles/") + id), 404, "profile_not_found");

  // A CSV row with the wrong number of fields is listed with its row.
  auto csv = require(import("user_id,email\nc1,c1@example.com\nc2\nc3,c3@example.com\n", "text/csv"), 200, "CSV");
  EXPECT_EQ(num(csv, "created"), 2);
  ASSERT_EQ(csv.at("rejected").as_array().size(), 1u);
  const auto& row = csv.at("rejected").as_array()[0].as_object();
  EXPECT_EQ(str(row, "code"), "invalid_csv_row");
  EXPECT_EQ(num(row, "line"), 3);
  EXPECT_EQ(num(row, "index"), 1);
}

TEST_F(ProfileImportTest, AnAliasHeldByAnotherProfileRefusesItsLineOnly) {
  require(api().put_json("/v1/profiles/holder", json::object{{"aliases", json::array{json::object{
                                                                          {"alias_name", "a-1"}, {"alias_label", "crm"}}}}}),
          201, "put holder");
  auto alias = [](std::string_view name) {
    return fmt::format("[{{\"alias_name\":\"{}\",\"alias_label\":\"crm\"}}]", name);
  };
  const std::string body = fmt::format(
      "{{\"user_id\":\"u1\",\"email\":\"u1@example.com\",\"aliases\":{}}}\n"   // a-1 is holder's
      "{{\"user_id\":\"u2\",\"email\":\"u2@example.com\",\"aliases\":{}}}\n"   // a-2: free, taken
      "{{\"user_id\":\"u3\",\"email\":\"u3@example.com\",\"aliases\":{}}}\n"   // a-2: u2's now
      "{{\"user_id\":\"u4\",\"email\":\"u4@example.com\"}}\n",
      alias("a-1"), alias("a-2"), alias("a-2"));
  auto r = require(import(body, "application/x-ndjson"), 200, "import");
  EXPECT_EQ(num(r, "created"), 2);
  EXPECT_EQ(num(r, "rejected_count"), 2);
  const auto& rejected = r.at("rejected").as_array();
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(str(rejected[0].as_object(), "user_id"), "u1");
  EXPECT_EQ(str(rejected[0].as_object(), "code"), "alias_in_use");
  EXPECT_EQ(str(rejected[1].as_object(), "user_id"), "u3");
  EXPECT_EQ(str(rejected[1].as_object(), "code"), "alias_in_use");
  expect_error(api().get("/v1/profiles/u1"), 404, "profile_not_found");
  expect_error(api().get("/v1/profiles/u3"), 404, "profile_not_found");
  EXPECT_EQ(profile("u2").at("aliases"), json::parse(alias("a-2")));
  EXPECT_EQ(str(profile("u4"), "email"), "u4@example.com");
  // Another tenant's profiles may hold the same alias.
  auto b = require(import(fmt::format("{{\"user_id\":\"b1\",\"aliases\":{}}}\n", alias("a-1")), "application/x-ndjson", &api_b()),
                   200, "B's import");
  EXPECT_EQ(num(b, "created"), 1);
}

TEST_F(ProfileImportTest, ALineOverTheLimitEndsTheImportWith413AndEarlierBatchesStay) {
  std::string body;
  for (int i = 0; i < 25; ++i) body += fmt::format("{{\"user_id\":\"p{:02}\",\"email\":\"p{}@example.com\"}}\n", i, i);
  body += "{\"user_id\":\"huge\",\"attributes\":{\"blob\":\"" + std::string(8000, 'x') + "\"}}\n";
  body += "{\"user_id\":\"after\"}\n";
  auto r = import(body, "application/x-ndjson");
  auto e = expect_error(r, 413, "line_too_long");
  auto answer = r.object();
  ASSERT_TRUE(answer.contains("imported")) << r.describe();
  const auto& imported = answer.at("imported").as_object();
  // Batches of 10: the first two were committed before the long line; the
  // five after them were read but not committed.
  EXPECT_EQ(num(imported, "created"), 20);
  EXPECT_EQ(str(profile("p19"), "email"), "p19@example.com");
  expect_error(api().get("/v1/profiles/huge"), 404, "profile_not_found");
  expect_error(api().get("/v1/profiles/after"), 404, "profile_not_found");
  // The server keeps serving; other types are refused.
  expect_error(api().post_json("/v1/profiles/import", json::array{json::object{{"user_id", "j"}}}), 415,
               "unsupported_media_type");
  auto csv_row = import("user_id,blob\nr1," + std::string(5000, 'y') + "\n", "text/csv");
  expect_error(csv_row, 413, "line_too_long");
  EXPECT_EQ(num(require(import("{\"user_id\":\"fine\"}\n", "application/x-ndjson"), 200, "again"), "created"), 1);
}

// The imported profiles are who a job sends to: an audience filter over the
// imported attributes, and bare user ids, each delivered at the webhook URL
// the import gave it, through the built-in webhook provider to a real sink.
class ImportedProfilesDispatchTest : public ChannelTest {};

TEST_F(ImportedProfilesDispatchTest, ImportedProfilesAreSentToAtTheirImportedAddresses) {
  start_with_config("");
  auto options = sink_options(tenant_secret(api()));
  options.keep_requests = 1000;
  auto sink = start_sink(options);
  // 40 profiles by NDJSON, every fourth on the pro plan; then a CSV import
  // moves p-008 to another URL and unsubscribes p-012 from webhooks.
  std::string ndjson;
  for (int i = 0; i < 40; ++i)
    ndjson += json::serialize(json::object{{"user_id", fmt::format("p-{:03}", i)},
                                           {"webhook_url", sink->url(fmt::format("/hooks/{}", i))},
                                           {"attributes", {{"plan", i % 4 == 0 ? "pro" : "free"}, {"name", fmt::format("P{}", i)}}}}) +
              "\n";
  auto first = require(api().post("/v1/profiles/import", ndjson, "application/x-ndjson"), 200, "import");
  ASSERT_EQ(num(first, "created"), 40) << json::serialize(first);
  auto second = require(api().post("/v1/profiles/import",
                                   fmt::format("user_id,webhook_url,subscriptions.webhook\np-008,{},\np-012,,unsubscribed\n",
                                               sink->url("/moved/8")),
                                   "text/csv"),
                        200, "CSV import");
  ASSERT_EQ(num(second, "updated"), 2) << json::serialize(second);

  const json::object pro{{"custom_attribute",
                          {{"custom_attribute_name", "plan"}, {"comparison", "equals"}, {"value", "pro"}}}};
  json::object spec{{"channel", "webhook"},
                    {"provider", "webhook"},
                    {"content", {{"webhook", {{"body", {{"text", "Hello {{name}}"}}}}}}},
                    {"audience", {{"filter", pro}}}};
  const std::string id = create_job(api(), spec);
  run_job(api(), id);
  auto done = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  EXPECT_EQ(num(done, "received"), 10);
  EXPECT_EQ(num(done, "sent"), 9);
  EXPECT_EQ(num(done, "skipped"), 1);  // p-012
  EXPECT_TRUE(counters_add_up(done));

  // Where each message arrived, by its rendered text.
  auto arrivals = [&](const std::string& job_id) {
    std::map<std::string, std::string> at;  // target -> text
    for (const auto& req : sink->requests()) {
      auto env = json::parse(req.body).as_object();
      if (str(env, "job_id") != job_id) continue;
      at[req.target] = json::serialize(env.at("data"));
    }
    return at;
  };
  ASSERT_TRUE(poll_until(20s, [&] { return arrivals(id).size() >= 9; }));
  std::map<std::string, std::string> expected;
  for (int i = 0; i < 40; i += 4) {
    if (i == 12) continue;
    const std::string target = i == 8 ? "/moved/8" : fmt::format("/hooks/{}", i);
    expected[target] = json::serialize(json::object{{"text", fmt::format("Hello P{}", i)}});
  }
  EXPECT_EQ(arrivals(id), expected);

  // By user_id alone: resolved against the imported profile at dispatch.
  spec.erase("audience");
  const std::string by_id = create_job(api(), spec);
  ingest_json(api(), by_id, json::array{json::object{{"user_id", "p-001"}}, json::object{{"user_id", "p-008"}}});
  run_job(api(), by_id);
  auto sent = wait_for_status(api(), by_id, {"COMPLETED", "PARTIAL", "FAILED"});
  EXPECT_EQ(num(sent, "sent"), 2);
  ASSERT_TRUE(poll_until(20s, [&] { return arrivals(by_id).size() >= 2; }));
  EXPECT_EQ(arrivals(by_id), (std::map<std::string, std::string>{
                                 {"/hooks/1", json::serialize(json::object{{"text", "Hello P1"}})},
                                 {"/moved/8", json::serialize(json::object{{"text", "Hello P8"}})}}));
}

}  // namespace
}  // namespace crier::e2e
