// PUT/PATCH/GET/DELETE /v1/profiles/{user_id} and GET /v1/profiles.
#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

using ProfilesTest = ApiTest;

const std::string kAnn = R"({"email":"ann@example.com","phone":"+14155550100","locale":"fr",
  "aliases":[{"alias_name":"ann-1","alias_label":"crm"}],
  "attributes":{"plan":"pro","visits":3,"address":{"city":"Lyon","zip":"69001"}},
  "subscriptions":{"email":"opted_in"}})";

TEST_F(ProfilesTest, PutCreatesThenReplacesKeepingCreatedAt) {
  auto created = send("PUT", "/v1/profiles/ann", kAnn);
  ASSERT_EQ(created.status, 201) << created.body;
  auto c = body_of(created);
  EXPECT_EQ(c.at("user_id"), "ann");
  EXPECT_EQ(c.at("attributes").at("address").at("city"), "Lyon");
  EXPECT_EQ(c.at("subscriptions").at("email"), "opted_in");
  EXPECT_EQ(c.at("aliases").at(0).at("alias_label"), "crm");

  auto replaced = send("PUT", "/v1/profiles/ann", R"({"phone":"+14155550199"})");
  ASSERT_EQ(replaced.status, 200) << replaced.body;
  auto r = body_of(replaced);
  EXPECT_EQ(r.at("created_at"), c.at("created_at"));
  EXPECT_EQ(r.at("email"), nullptr) << "PUT replaces the whole profile";
  EXPECT_TRUE(r.at("attributes").as_object().empty());

  auto got = send("GET", "/v1/profiles/ann");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(body_of(got).at("phone"), "+14155550199");
}

TEST_F(ProfilesTest, PatchMergesMemberByMemberAndNullRemoves) {
  ASSERT_EQ(send("PUT", "/v1/profiles/ann", kAnn).status, 201);
  auto req = request("PATCH", "/v1/profiles/ann",
                     R"({"attributes":{"visits":4,"plan":null,"address":{"zip":null}},
                        "subscriptions":{"sms":"unsubscribed"},"locale":null})");
  req.content_type = "application/merge-patch+json";
  auto patched = send(std::move(req));
  ASSERT_EQ(patched.status, 200) << patched.body;
  auto p = body_of(patched);
  EXPECT_EQ(p.at("attributes"), json::parse(R"({"visits":4,"address":{"city":"Lyon"}})"));
  EXPECT_EQ(p.at("subscriptions"), json::parse(R"({"email":"opted_in","sms":"unsubscribed"})"));
  EXPECT_EQ(p.at("locale"), nullptr);
  EXPECT_EQ(p.at("email"), "ann@example.com") << "members the patch leaves out stay";
  EXPECT_EQ(body_of(send("GET", "/v1/profiles/ann")), p);

  auto missing = send("PATCH", "/v1/profiles/bob", R"({"email":"bob@example.com"})");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(error_code(missing), "profile_not_found");
  EXPECT_EQ(send("GET", "/v1/profiles/bob").status, 404) << "PATCH does not create";
}

TEST_F(ProfilesTest, InvalidChangesAreRefusedAndLeaveTheProfileAsItWas) {
  ASSERT_EQ(send("PUT", "/v1/profiles/ann", kAnn).status, 201);
  const auto before = body_of(send("GET", "/v1/profiles/ann"));

  auto bad_email = send("PATCH", "/v1/profiles/ann", R"({"email":"not-an-email"})");
  EXPECT_EQ(bad_email.status, 400);
  EXPECT_EQ(error_code(bad_email), "invalid_email");
  auto bad_state = send("PUT", "/v1/profiles/ann", R"({"subscriptions":{"sms":"sure"}})");
  EXPECT_EQ(bad_state.status, 400);
  EXPECT_EQ(error_field(bad_state, "field"), "subscriptions.sms");
  auto typo = send("PUT", "/v1/profiles/ann", R"({"emial":"x@example.com"})");
  EXPECT_EQ(error_code(typo), "invalid_profile");
  auto not_json = send("PUT", "/v1/profiles/ann", R"({"email":)");
  EXPECT_EQ(error_code(not_json), "invalid_json");
  auto array = send("PUT", "/v1/profiles/ann", "[]");
  EXPECT_EQ(error_code(array), "invalid_profile");
  auto req = request("PUT", "/v1/profiles/ann", kAnn);
  req.content_type = "text/plain";
  EXPECT_EQ(send(std::move(req)).status, 415);
  auto other_id = send("PUT", "/v1/profiles/ann", R"({"user_id":"bob"})");
  EXPECT_EQ(error_field(other_id, "field"), "user_id");

  EXPECT_EQ(body_of(send("GET", "/v1/profiles/ann")), before);
}

TEST_F(ProfilesTest, AnAliasBelongsToOneProfile) {
  ASSERT_EQ(send("PUT", "/v1/profiles/ann", kAnn).status, 201);
  auto taken = send("PUT", "/v1/profiles/bob", R"({"aliases":[{"alias_name":"ann-1","alias_label":"crm"}]})");
  EXPECT_EQ(taken.status, 409);
  EXPECT_EQ(error_code(taken), "alias_in_use");
  EXPECT_EQ(send("GET", "/v1/profiles/bob").status, 404);
  // Another tenant has aliases of its own.
  EXPECT_EQ(send("PUT", "/v1/profiles/bob", R"({"aliases":[{"alias_name":"ann-1","alias_label":"crm"}]})", kKeyOther)
                .status,
            201);
}

TEST_F(ProfilesTest, DeleteRemovesAndTenantsDoNotSeeEachOther) {
  ASSERT_EQ(send("PUT", "/v1/profiles/ann", kAnn).status, 201);
  EXPECT_EQ(send("GET", "/v1/profiles/ann", "", kKeyOther).status, 404);
  EXPECT_EQ(send("DELETE", "/v1/profiles/ann", "", kKeyOther).status, 404);
  auto del = send("DELETE", "/v1/profiles/ann");
  EXPECT_EQ(del.status, 200);
  EXPECT_EQ(body_of(del).at("deleted"), true);
  EXPECT_EQ(send("GET", "/v1/profiles/ann").status, 404);
  EXPECT_EQ(send("DELETE", "/v1/profiles/ann").status, 404);
  EXPECT_EQ(send("PUT", "/v1/profiles/x", R"({"aliases":[{"alias_name":"ann-1","alias_label":"crm"}]})").status, 201)
      << "the deleted profile's alias is free";
}

TEST_F(ProfilesTest, ListingPagesInUserIdOrder) {
  for (int i = 0; i < 5; ++i) ASSERT_EQ(send("PUT", fmt::format("/v1/profiles/u{}", i), "{}").status, 201);
  ASSERT_EQ(send("PUT", "/v1/profiles/z", "{}", kKeyOther).status, 201);
  std::vector<std::string> seen;
  std::string cursor;
  for (int pages = 0; pages < 5; ++pages) {
    auto page = send("GET", "/v1/profiles?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(page.status, 200) << page.body;
    auto b = body_of(page);
    for (const auto& p : b.at("profiles").as_array()) seen.emplace_back(p.at("user_id").as_string());
    if (!b.at("paging").at("more").as_bool()) break;
    cursor = std::string(b.at("paging").at("cursor").as_string());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"u0", "u1", "u2", "u3", "u4"}));
  auto foreign = send("GET", "/v1/profiles?cursor=" + cursor, "", kKeyOther);
  EXPECT_EQ(error_code(foreign), "invalid_cursor") << "a cursor is the tenant's own";
}

TEST_F(ProfilesTest, MethodsAndIdsAreChecked) {
  EXPECT_EQ(send("POST", "/v1/profiles/ann", kAnn).status, 405);
  EXPECT_EQ(send("DELETE", "/v1/profiles").status, 405);
  EXPECT_EQ(error_code(send("PUT", "/v1/profiles/" + std::string(257, 'a'), "{}")), "invalid_user_id");
  EXPECT_EQ(send("GET", "/v1/profiles/ann", "", "").status, 401);
}

}  // namespace
}  // namespace crier::testing
