// Jobs routed across channels through the native API: `routing` on create,
// how a job and its users show it, ingest validation, and a run that sends
// each user on its own channel.
#include <fstream>
#include <map>

#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

using ChannelRoutingTest = ApiTest;

// Email and webhook content, routed email first.
std::string routed_body(std::string routing = R"({"method":"single","channels":["email","webhook"]})",
                        std::string extra = {}) {
  std::string body = R"({"routing":)" + routing +
                     R"(,"content":{"email":{"subject":"Hi {{name}}","text":"Hello {{name}}"},)"
                     R"("webhook":{"body":{"text":"Hook {{name}}"}}})";
  if (!extra.empty()) body += "," + extra;
  return body + "}";
}

TEST_F(ChannelRoutingTest, CreateStoresAndShowsTheRouting) {
  auto r = send("POST", "/v1/jobs", routed_body());
  ASSERT_EQ(r.status, 201) << r.body;
  auto created = body_of(r);
  EXPECT_TRUE(created.at("channel").is_null()) << r.body;
  EXPECT_EQ(created.at("routing"), json::parse(R"({"method":"single","channels":["email","webhook"]})"));
  auto fetched = get_job(text(created.at("job_id")));
  EXPECT_TRUE(fetched.at("channel").is_null());
  EXPECT_EQ(fetched.at("routing"), created.at("routing"));

  // The method may be left out; a routing of one channel is still a routing.
  auto one = body_of(send("POST", "/v1/jobs", routed_body(R"({"channels":["webhook"]})", R"("webhook_url":"https://h.example.com/")")));
  EXPECT_EQ(one.at("routing"), json::parse(R"({"method":"single","channels":["webhook"]})"));
  EXPECT_TRUE(one.at("channel").is_null());

  // A single-channel job shows its channel and no routing.
  auto single = body_of(send("POST", "/v1/jobs", email_job_body()));
  EXPECT_EQ(single.at("channel"), "email");
  EXPECT_TRUE(single.at("routing").is_null());
}

TEST_F(ChannelRoutingTest, CreateRefusesABadRouting) {
  struct Case {
    std::string body;
    int status;
    std::string code, field;
  };
  const std::string both = R"({"channel":"email","routing":{"channels":["email"]},"content":{"email":{"subject":"s","text":"t"}}})";
  const std::string neither = R"({"content":{"email":{"subject":"s","text":"t"}}})";
  const Case cases[] = {
      {both, 400, "invalid_routing", "routing"},
      {neither, 400, "missing_field", "channel"},
      {routed_body(R"("email")"), 400, "invalid_routing", "routing"},
      {routed_body(R"(["email","webhook"])"), 400, "invalid_routing", "routing"},
      {routed_body(R"({"method":"single"})"), 400, "invalid_routing", "routing"},
      {routed_body(R"({"channels":[]})"), 400, "invalid_routing", "routing"},
      {routed_body(R"({"channels":["email","email"]})"), 400, "invalid_routing", "routing"},
      {routed_body(R"({"channels":["email","fax"]})"), 400, "invalid_routing", "routing"},
      {routed_body(R"({"channels":["email","sms","push","webhook","whatsapp","email"]})"), 400, "invalid_routing", "routing"},
      {routed_body(R"({"method":"all","channels":["email"]})"), 400, "invalid_routing", "routing"},
      {routed_body(R"({"channels":["email"],"order":"random"})"), 400, "invalid_routing", "routing"},
      // One provider cannot carry several channels.
      {routed_body(R"({"channels":["email","webhook"]})", R"("provider":"null")"), 400, "invalid_field", "provider"},
      // Every routed channel needs base content.
      {routed_body(R"({"channels":["email","sms"]})"), 422, "content_missing_channel", "content.sms"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.body);
    auto r = send("POST", "/v1/jobs", tc.body);
    EXPECT_EQ(r.status, tc.status) << r.body;
    EXPECT_EQ(error_code(r), tc.code) << r.body;
    EXPECT_EQ(error_field(r, "field"), tc.field) << r.body;
  }
  // Nothing was stored.
  EXPECT_EQ(body_of(send("GET", "/v1/jobs")).at("jobs").as_array().size(), 0u);
  // A provider with a routing of one channel carries that channel.
  EXPECT_EQ(send("POST", "/v1/jobs", routed_body(R"({"channels":["email"]})", R"("provider":"null")")).status, 201);
}

TEST_F(ChannelRoutingTest, IngestNeedsAnAddressOnOneOfTheChannels) {
  std::string id = create_job(routed_body());
  auto r = ingest(id, R"({"users":[
      {"email":"a@example.com"},
      {"webhook_url":"https://hooks.example.com/b"},
      {"phone":"+14155550100"},
      {"email":"a@example.com","webhook_url":"https://hooks.example.com/a"},
      {"webhook_url":"https://hooks.example.com/b","phone":"+14155550100"},
      {"email":"bad@","webhook_url":"https://hooks.example.com/c"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body_of(r);
  // Identity is the routed channel's address: the 4th is a@ again (email
  // first), the 5th the URL of the 2nd.
  EXPECT_EQ(int_of(b, "accepted"), 2) << r.body;
  EXPECT_EQ(int_of(b, "duplicates"), 2) << r.body;
  const auto& rejected = b.at("rejected").as_array();
  ASSERT_EQ(rejected.size(), 2u) << r.body;
  EXPECT_EQ(int_of(rejected[0].as_object(), "index"), 2);
  EXPECT_EQ(rejected[0].at("code"), "missing_address");
  EXPECT_EQ(rejected[0].at("field"), "email");
  const std::string message = text(rejected[0].at("message"));
  EXPECT_NE(message.find("email needs email"), std::string::npos) << message;
  EXPECT_NE(message.find("webhook needs webhook_url"), std::string::npos) << message;
  EXPECT_EQ(int_of(rejected[1].as_object(), "index"), 5);
  EXPECT_EQ(rejected[1].at("code"), "invalid_email") << "addresses are validated as before";
}

TEST_F(ChannelRoutingTest, ListingShowsEachUsersChannelAndARunSendsOnIt) {
  std::string id = create_job(R"({"routing":{"channels":["sms","email","webhook"]},"data":{"name":"friend"},
      "content":{"sms":{"body":"Text {{name}}"},"email":{"subject":"Hi {{name}}","text":"Hello {{name}}"},
                 "webhook":{"body":{"text":"Hook {{name}}"}}}})");
  ASSERT_FALSE(id.empty());
  auto r = ingest(id, R"({"users":[
      {"user_id":"e","email":"e@example.com","webhook_url":"https://hooks.example.com/e"},
      {"user_id":"w","webhook_url":"https://hooks.example.com/w"},
      {"user_id":"s","phone":"+14155550100","email":"s@example.com"},
      {"user_id":"e2","email":"e2@example.com"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(int_of(body_of(r), "accepted"), 4) << r.body;

  const std::map<std::string, std::string> expected = {{"e", "email"}, {"w", "webhook"}, {"s", "sms"}, {"e2", "email"}};
  auto users = all_users(id);
  ASSERT_EQ(users.size(), 4u);
  for (const auto& u : users) EXPECT_EQ(text(u.at("channel")), expected.at(text(u.at("user_id")))) << json::serialize(u);

  // The fixture's default provider (log) takes every channel: each message
  // was rendered for, and addressed on, its user's channel.
  ASSERT_EQ(send("POST", "/v1/jobs/" + id + "/run").status, 202);
  ASSERT_EQ(wait_for_status(id, "COMPLETED"), "COMPLETED");
  users = all_users(id);
  std::map<std::uint64_t, std::string> user_of_seq;
  for (const auto& u : users) {
    EXPECT_EQ(u.at("status"), "SENT") << json::serialize(u);
    EXPECT_EQ(text(u.at("channel")), expected.at(text(u.at("user_id")))) << json::serialize(u);
    user_of_seq[u.at("seq").to_number<std::uint64_t>()] = text(u.at("user_id"));
  }
  std::ifstream log(dir_.path() / "delivery.log");
  std::string line;
  std::map<std::string, json::object> sent;  // user_id → the logged message
  while (std::getline(log, line)) {
    auto o = json::parse(line).as_object();
    sent[user_of_seq.at(o.at("seq").to_number<std::uint64_t>())] = o;
  }
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent["e"].at("channel"), "email");
  EXPECT_EQ(sent["e"].at("to"), "e@example.com");
  EXPECT_EQ(sent["e"].at("subject"), "Hi friend");
  EXPECT_EQ(sent["w"].at("channel"), "webhook");
  EXPECT_EQ(sent["w"].at("to"), "https://hooks.example.com/w");
  EXPECT_EQ(sent["w"].at("body"), json::parse(R"({"text":"Hook friend"})"));
  EXPECT_EQ(sent["s"].at("channel"), "sms");
  EXPECT_EQ(sent["s"].at("to"), "+14155550100");
  EXPECT_EQ(sent["s"].at("body"), "Text friend");
  EXPECT_EQ(sent["e2"].at("channel"), "email");
}

TEST_F(ChannelRoutingTest, ASingleChannelJobsUsersShowItsChannel) {
  std::string id = create_job();
  ASSERT_EQ(ingest(id, users_body(0, 3)).status, 200);
  for (const auto& u : all_users(id)) EXPECT_EQ(u.at("channel"), "email") << json::serialize(u);
}

}  // namespace
}  // namespace crier::testing
