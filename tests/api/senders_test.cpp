// /v1/senders: WhatsApp sender numbers per tenant (CRUD, validation,
// defaults), and whatsapp jobs that name one: provider and pace from the
// sender, quota consumed when they start and shown in the sender's view,
// a start over quota refused with 429 and nothing stored.
#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

using SendersTest = ApiTest;

constexpr const char* kSender = R"({"display_phone_number":"+54 9 223 675-0780","verified_name":"Mindo Software",
  "quality_rating":"GREEN","messaging_limit_tier":"TIER_250","provider":"null"})";

// A whatsapp job body naming `sender`, with phones `from`..`to` and `run`.
std::string sender_job(std::string_view sender, int from, int to, std::string extra = {}, bool run = true) {
  json::array users;
  for (int i = from; i < to; ++i) users.push_back(json::object{{"phone", fmt::format("+1415555{:04}", i)}});
  json::object body{{"channel", "whatsapp"},
                    {"content", {{"whatsapp", {{"template", "welcome"}, {"language", "es"}, {"parameters", json::array{"{{name}}"}}}}}},
                    {"sender", sender},
                    {"users", std::move(users)},
                    {"run", run}};
  std::string s = json::serialize(body);
  if (!extra.empty()) s.insert(s.size() - 1, "," + extra);
  return s;
}

TEST_F(SendersTest, PutGetListDelete) {
  auto created = send("PUT", "/v1/senders/813497231850626", kSender);
  ASSERT_EQ(created.status, 201) << created.body;
  auto b = body_of(created);
  EXPECT_EQ(b.at("phone_number_id"), "813497231850626");
  EXPECT_EQ(b.at("display_phone_number"), "+54 9 223 675-0780");
  EXPECT_EQ(b.at("verified_name"), "Mindo Software");
  EXPECT_EQ(b.at("quality_rating"), "GREEN");
  EXPECT_EQ(b.at("messaging_limit_tier"), "TIER_250");
  EXPECT_EQ(b.at("provider"), "null");
  EXPECT_EQ(int_of(b, "messages_per_second"), 80);  // Meta's default throughput
  EXPECT_EQ(int_of(b, "quota_total"), 250);
  EXPECT_EQ(int_of(b, "quota_used_24h"), 0);
  EXPECT_EQ(int_of(b, "quota_available"), 250);
  const std::string created_at(b.at("created_at").as_string());

  auto replaced = send("PUT", "/v1/senders/813497231850626",
                       R"({"display_phone_number":"+54 9 223 675-0780","verified_name":"Mindo",
                           "quality_rating":"yellow","messaging_limit_tier":"TIER_1000","messages_per_second":12.5})");
  ASSERT_EQ(replaced.status, 200) << replaced.body;
  auto r = body_of(replaced);
  EXPECT_EQ(r.at("quality_rating"), "YELLOW");
  EXPECT_EQ(r.at("messaging_limit_tier"), "TIER_1K");  // Mindo's spelling read, Meta's written
  EXPECT_EQ(r.at("provider"), nullptr);                // the whatsapp channel's configured provider
  EXPECT_EQ(r.at("messages_per_second").to_number<double>(), 12.5);
  EXPECT_EQ(int_of(r, "quota_total"), 1000);
  EXPECT_EQ(text(r.at("created_at")), created_at);

  auto got = send("GET", "/v1/senders/813497231850626");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(body_of(got).at("verified_name"), "Mindo");

  ASSERT_EQ(send("PUT", "/v1/senders/111", kSender).status, 201);
  auto list = send("GET", "/v1/senders?limit=1");
  ASSERT_EQ(list.status, 200) << list.body;
  auto page = body_of(list);
  ASSERT_EQ(page.at("senders").as_array().size(), 1u);
  EXPECT_EQ(page.at("senders").as_array()[0].at("phone_number_id"), "111");
  ASSERT_EQ(page.at("paging").at("more"), true);
  auto next = body_of(send("GET", "/v1/senders?limit=1&cursor=" + text(page.at("paging").at("cursor"))));
  ASSERT_EQ(next.at("senders").as_array().size(), 1u);
  EXPECT_EQ(next.at("senders").as_array()[0].at("phone_number_id"), "813497231850626");
  EXPECT_EQ(next.at("paging").at("more"), false);

  auto deleted = send("DELETE", "/v1/senders/111");
  ASSERT_EQ(deleted.status, 200);
  EXPECT_EQ(body_of(deleted), (json::object{{"phone_number_id", "111"}, {"deleted", true}}));
  EXPECT_EQ(error_code(send("GET", "/v1/senders/111")), "sender_not_found");
  EXPECT_EQ(error_code(send("DELETE", "/v1/senders/111")), "sender_not_found");
  EXPECT_EQ(send("POST", "/v1/senders/111", kSender).status, 405);
}

TEST_F(SendersTest, DefaultsAreGreenTier250AndTheChannelsProvider) {
  auto r = send("PUT", "/v1/senders/1", R"({"display_phone_number":"+1 415 555 0100","verified_name":"Acme"})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(b.at("quality_rating"), "GREEN");
  EXPECT_EQ(b.at("messaging_limit_tier"), "TIER_250");
  EXPECT_EQ(b.at("provider"), nullptr);
  EXPECT_EQ(int_of(b, "messages_per_second"), 80);

  auto unlimited = body_of(send("PUT", "/v1/senders/2",
                                R"({"display_phone_number":"x","verified_name":"y","messaging_limit_tier":"TIER_UNLIMITED"})"));
  EXPECT_EQ(unlimited.at("quota_total"), nullptr);
  EXPECT_EQ(unlimited.at("quota_available"), nullptr);
  EXPECT_EQ(int_of(unlimited, "quota_used_24h"), 0);
}

TEST_F(SendersTest, InvalidSendersAreRefusedAndNothingStored) {
  struct Case {
    const char* name;
    std::string id, body;
    int status;
    const char* code;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"id with a space", "a%20b", kSender, 400, "invalid_sender_id", "phone_number_id"},
      {"id too long", std::string(65, '1'), kSender, 400, "invalid_sender_id", "phone_number_id"},
      {"no display number", "9", R"({"verified_name":"y"})", 400, "missing_field", "display_phone_number"},
      {"empty verified name", "9", R"({"display_phone_number":"x","verified_name":""})", 400, "missing_field", "verified_name"},
      {"rating", "9", R"({"display_phone_number":"x","verified_name":"y","quality_rating":"BLUE"})", 400,
       "invalid_quality_rating", "quality_rating"},
      {"tier", "9", R"({"display_phone_number":"x","verified_name":"y","messaging_limit_tier":"TIER_5"})", 400,
       "invalid_messaging_limit_tier", "messaging_limit_tier"},
      {"unknown provider", "9", R"({"display_phone_number":"x","verified_name":"y","provider":"pigeon"})", 422,
       "unknown_provider", "provider"},
      {"rate zero", "9", R"({"display_phone_number":"x","verified_name":"y","messages_per_second":0})", 400,
       "invalid_messages_per_second", "messages_per_second"},
      {"rate a string", "9", R"({"display_phone_number":"x","verified_name":"y","messages_per_second":"fast"})", 400,
       "invalid_messages_per_second", "messages_per_second"},
      {"unknown field", "9", R"({"display_phone_number":"x","verified_name":"y","colour":"green"})", 400,
       "unknown_field", "colour"},
      {"not an object", "9", "[1]", 400, "invalid_body", ""},
      {"not JSON", "9", "{", 400, "invalid_json", ""},
  };
  for (const auto& c : cases) {
    auto req = request("PUT", "/v1/senders/" + c.id, c.body);
    if (c.id == "a%20b") req.path = "/v1/senders/a b";
    auto r = send(std::move(req));
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    EXPECT_EQ(error_code(r), c.code) << c.name << ": " << r.body;
    EXPECT_EQ(error_field(r, "field"), c.field) << c.name << ": " << r.body;
  }
  EXPECT_TRUE(body_of(send("GET", "/v1/senders")).at("senders").as_array().empty());
}

TEST_F(SendersTest, TenantsSeeOnlyTheirOwnSenders) {
  ASSERT_EQ(send("PUT", "/v1/senders/8134", kSender).status, 201);
  EXPECT_EQ(send("GET", "/v1/senders/8134", "", kKeyOther).status, 404);
  EXPECT_TRUE(body_of(send("GET", "/v1/senders", "", kKeyOther)).at("senders").as_array().empty());
  EXPECT_EQ(send("DELETE", "/v1/senders/8134", "", kKeyOther).status, 404);
  auto job = send("POST", "/v1/jobs", sender_job("8134", 0, 1), kKeyOther);
  EXPECT_EQ(job.status, 422) << job.body;
  EXPECT_EQ(error_code(job), "unknown_sender");
}

TEST_F(SendersTest, AJobWithASenderTakesItsProviderAndPaceAndConsumesItsQuota) {
  ASSERT_EQ(send("PUT", "/v1/senders/8134", kSender).status, 201);
  auto users = sender_job("8134", 0, 10);
  // A duplicate phone: deduped, not counted against the quota.
  users.insert(users.rfind("]"), R"(,{"phone":"+1 415 555 0000"})");
  auto r = send("POST", "/v1/jobs", users);
  ASSERT_EQ(r.status, 201) << r.body;
  auto job = body_of(r);
  EXPECT_EQ(job.at("sender"), "8134");
  EXPECT_EQ(job.at("provider"), "null");
  EXPECT_EQ(int_of(job, "rate_limit"), 80);
  EXPECT_EQ(int_of(job.at("ingested").as_object(), "accepted"), 10);
  EXPECT_EQ(int_of(job.at("ingested").as_object(), "duplicates"), 1);

  auto s = body_of(send("GET", "/v1/senders/8134"));
  EXPECT_EQ(int_of(s, "quota_used_24h"), 10);
  EXPECT_EQ(int_of(s, "quota_available"), 240);
  EXPECT_EQ(wait_for_status(text(job.at("job_id")), "COMPLETED"), "COMPLETED");

  // A CREATED job takes nothing until it runs.
  auto created = send("POST", "/v1/jobs", sender_job("8134", 100, 140, {}, false));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(int_of(body_of(send("GET", "/v1/senders/8134")), "quota_used_24h"), 10);
  auto run = send("POST", "/v1/jobs/" + text(body_of(created).at("job_id")) + "/run");
  ASSERT_EQ(run.status, 202) << run.body;
  EXPECT_EQ(int_of(body_of(send("GET", "/v1/senders/8134")), "quota_used_24h"), 50);
}

TEST_F(SendersTest, AStartOverQuotaIs429WithTheNumbersAndStoresNothing) {
  ASSERT_EQ(send("PUT", "/v1/senders/8134", kSender).status, 201);
  ASSERT_EQ(send("POST", "/v1/jobs", sender_job("8134", 0, 200)).status, 201);
  auto before = body_of(send("GET", "/v1/jobs")).at("jobs").as_array().size();

  auto r = send("POST", "/v1/jobs", sender_job("8134", 1000, 1051));
  ASSERT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(error_code(r), "sender_quota_exceeded");
  EXPECT_EQ(error_field(r, "type"), "quota_exceeded");
  auto details = body_of(r).at("error").at("details").as_object();
  EXPECT_EQ(int_of(details, "quota_needed"), 51);
  EXPECT_EQ(int_of(details, "quota_available"), 50);
  EXPECT_EQ(int_of(details, "quota_total"), 250);
  EXPECT_EQ(int_of(details, "quota_used_24h"), 200);
  auto retry = int_of(details, "retry_after_seconds");
  EXPECT_GT(retry, 23 * 3600);
  EXPECT_LE(retry, 24 * 3600);
  EXPECT_EQ(header(r, "Retry-After"), std::optional<std::string>(std::to_string(retry)));

  EXPECT_EQ(body_of(send("GET", "/v1/jobs")).at("jobs").as_array().size(), before);
  EXPECT_EQ(int_of(body_of(send("GET", "/v1/senders/8134")), "quota_used_24h"), 200);

  // Larger than the whole tier: refused with no Retry-After (no wait helps).
  auto huge = send("POST", "/v1/jobs", sender_job("8134", 2000, 2251));
  ASSERT_EQ(huge.status, 429);
  EXPECT_FALSE(header(huge, "Retry-After"));
}

TEST_F(SendersTest, ASenderIsForWhatsappJobsAndMustExist) {
  auto unknown = send("POST", "/v1/jobs", sender_job("nope", 0, 1));
  EXPECT_EQ(unknown.status, 422);
  EXPECT_EQ(error_code(unknown), "unknown_sender");
  EXPECT_EQ(error_field(unknown, "field"), "sender");
  ASSERT_EQ(send("PUT", "/v1/senders/8134", kSender).status, 201);
  auto email = send("POST", "/v1/jobs", email_job_body(R"("sender":"8134")"));
  EXPECT_EQ(email.status, 400);
  EXPECT_EQ(error_code(email), "invalid_sender");
  auto mismatch = send("POST", "/v1/jobs", sender_job("8134", 0, 1, R"("provider":"log")"));
  EXPECT_EQ(mismatch.status, 422);
  EXPECT_EQ(error_code(mismatch), "sender_provider_mismatch");
}

}  // namespace
}  // namespace crier::testing
