// The egress guard of a server started without --egress-allow: tenants'
// URLs that lead to the machine itself or a private network are refused,
// at create when the URL says so, else when connecting (after resolving),
// and the recipient fails egress_denied with nothing sent. The allow-list
// from the config file opens them.
#include <fmt/format.h>

#include "tests/e2e/channels_fixture.h"

namespace crier::e2e {
namespace {

class EgressTest : public ChannelTest {
 protected:
  bool allow_loopback_egress() const override { return false; }
};

json::object hook_spec() {
  return json::object{{"channel", "webhook"}, {"content", {{"webhook", {{"body", {{"hello", "{{name}}"}}}}}}}};
}

TEST_F(EgressTest, InternalDestinationsAreRefusedAtCreateOrWhenConnecting) {
  auto sink = start_sink(sink_options());
  start_with_config("");

  // At create: the job's URL names loopback.
  auto spec = hook_spec();
  spec["webhook_url"] = sink->url("/h");
  auto e = expect_error(api().post_json("/v1/jobs", spec), 422, "egress_denied");
  EXPECT_EQ(str(e, "field"), "webhook_url");
  auto with_callback = email_job_spec();
  with_callback["callback_url"] = "http://169.254.169.254/latest/meta-data/";
  expect_error(api().post_json("/v1/jobs", with_callback), 422, "egress_denied");

  // When connecting: users' own URLs, by a name that resolves to loopback.
  auto id = create_job(api(), hook_spec());
  json::array users;
  for (int i = 0; i < 5; ++i)
    users.push_back(json::object{{"user_id", fmt::format("u{}", i)},
                                 {"webhook_url", fmt::format("http://localhost:{}/h{}", sink->port(), i)}});
  ASSERT_EQ(num(ingest_json(api(), id, users), "accepted"), 5);
  run_job(api(), id);
  auto job = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  EXPECT_EQ(str(job, "status"), "FAILED") << counters_snapshot(job);
  for (const auto& u : list_all_users(api(), id)) {
    SCOPED_TRACE(json::serialize(u));
    EXPECT_EQ(str(u, "status"), "FAILED");
    EXPECT_EQ(num(u, "attempts"), 1) << "refused for good, not retried";
    EXPECT_EQ(str(u.at("error").as_object(), "code"), "egress_denied");
  }
  EXPECT_EQ(sink->stats().requests, 0u);
  EXPECT_EQ(sink->stats().connections, 0u);
}

TEST_F(EgressTest, TheConfigsAllowListOpensAnAddressRange) {
  auto sink = start_sink(sink_options());
  start_with_config("[egress]\nallow = [\"127.0.0.0/8\"]\n");
  auto spec = hook_spec();
  spec["webhook_url"] = sink->url("/h");
  spec["callback_url"] = sink->url("/callbacks");
  auto id = create_job(api(), spec);
  ingest_json(api(), id, json::array{json::object{{"user_id", "u1"}}});
  run_job(api(), id);
  auto job = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  EXPECT_EQ(str(job, "status"), "COMPLETED") << counters_snapshot(job);
  EXPECT_TRUE(poll_until(20s, [&] { return sink->stats().paths["/callbacks"] > 0; })) << sink->stats_json();
  EXPECT_EQ(sink->stats().paths["/h"], 1u);
}

}  // namespace
}  // namespace crier::e2e
