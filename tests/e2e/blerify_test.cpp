// Blerify's bulk items end to end through the real `crier serve`: a webhook
// notification group stored natively, a bulk call sent as the PHP client
// sends it (bearer token, correlation-id, JSON items), every item delivered
// once to a real loopback receiver, signed, with its own template values,
// then each read back as SENT under the id the receiver saw.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>

#include "tests/e2e/channels_fixture.h"

namespace crier::e2e {
namespace {

constexpr const char* kGroup = "a844ede0-7a6a-4c00-8d2a-9b69cd8b4d3b";
constexpr std::size_t kItems = 25;

TEST_F(ChannelTest, BlerifyBulkItemsAreDeliveredAndReadBackAsSent) {
  auto sink = start_sink(sink_options(kSigningSecret));
  // A provider with a secret of its own carries credentials: it names its
  // tenants and sends only to its own url.
  start_with_config(fmt::format("[providers.hooks]\ntype = \"webhook\"\nsigning_secret = \"{}\"\nurl = \"{}\"\n"
                                "tenants = [\"acme\"]\n",
                                kSigningSecret, sink->url("/blerify")));

  json::object group{{"channel", "webhook"},
                     {"provider", "hooks"},
                     {"webhook_url", sink->url("/blerify")},
                     {"content", {{"webhook", {{"body", {{"text", "Pay {{Amount}}"}, {"due", "{{due}}"}}}}}}}};
  require(api().put_json(std::string("/v1/notification-groups/") + kGroup, group), 201, "PUT group");

  json::array items;
  for (std::size_t i = 0; i < kItems; ++i)
    items.push_back(json::object{{"receiverData", {{"id", user_id_for(i)}, {"Amount", fmt::format("{}.5", i)}, {"due", "2026-12-01"}}}});
  const std::string base = std::string("/api/v1/organizations/") + kTenantA + "/notifications/" + kGroup + "/items";
  auto created = require(api().request("POST", base + "/bulk", json::serialize(json::object{{"items", items}}),
                                       {{"Content-Type", "application/json"}, {"correlation-id", "corr-e2e-1"}}),
                         201, "bulk");
  EXPECT_EQ(num(created, "total"), static_cast<std::int64_t>(kItems));
  const auto& list = created.at("items").as_array();
  ASSERT_EQ(list.size(), kItems);

  ASSERT_TRUE(poll_until(20s, [&] { return sink->stats().unique >= kItems; })) << sink->stats().unique;
  std::map<std::string, std::string> id_of_user;  // receiver id → the webhook-id the sink saw
  for (const auto& r : sink->requests()) {
    SCOPED_TRACE(r.body);
    auto envelope = json::parse(r.body).as_object();
    EXPECT_EQ(str(envelope, "correlation_id"), "corr-e2e-1");
    auto user = str(envelope, "user_id");
    const auto& data = envelope.at("data").as_object();
    EXPECT_EQ(str(data, "text"), fmt::format("Pay {}.5", std::stoul(user.substr(5))));
    EXPECT_EQ(str(data, "due"), "2026-12-01");
    EXPECT_TRUE(id_of_user.emplace(user, r.message_id).second) << user << " arrived twice";
  }
  EXPECT_EQ(sink->stats().bad_signatures, 0u);

  for (const auto& v : list) {
    const auto& item = v.as_object();
    auto id = str(item, "id");
    auto user = str(item.at("receiverData").as_object(), "id");
    EXPECT_EQ(id_of_user[user], id) << "the item id is the message id the receiver saw";
    json::object read;
    ASSERT_TRUE(poll_until(10s, [&] {
      read = require(api().get(base + "/" + id), 200, "GET item");
      return str(read, "status") == "SENT";
    })) << json::serialize(read);
    EXPECT_EQ(str(read, "notificationGroupId"), kGroup);
    EXPECT_FALSE(str(read, "sentAt").empty());
    EXPECT_TRUE(read.at("receivedAt").is_null());
  }

  auto listed = require(api().get(base + "?limit=10&offset=20"), 200, "list items");
  EXPECT_EQ(num(listed, "total"), static_cast<std::int64_t>(kItems));
  ASSERT_EQ(listed.at("items").as_array().size(), kItems - 20);
  EXPECT_EQ(str(listed.at("items").as_array()[0].as_object(), "id"), str(list[20].as_object(), "id"));

  // Tenant B's token names its own organization: A's is not found.
  auto foreign = api_b().get(base + "/" + str(list[0].as_object(), "id"));
  EXPECT_EQ(foreign.status, 404) << foreign.describe();
  EXPECT_EQ(str(foreign.object(), "code"), "organization_not_found");
}

}  // namespace
}  // namespace crier::e2e
