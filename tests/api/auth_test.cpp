// api/auth: the API keys kept as digests, and the two ways a request
// presents one (a bearer token, a key header), shared by the router and the
// vendors' façades.
#include <gtest/gtest.h>

#include "api/auth.h"

namespace crier::api {
namespace {

TEST(ApiKeys, FindsTheTenantOfAKeyAndNothingElse) {
  ApiKeys keys{{"key-aaaaaaaa", "acme"}, {"key-bbbbbbbb", "globex"}};
  ASSERT_NE(keys.tenant_of("key-aaaaaaaa"), nullptr);
  EXPECT_EQ(*keys.tenant_of("key-aaaaaaaa"), "acme");
  EXPECT_EQ(*keys.tenant_of("key-bbbbbbbb"), "globex");
  EXPECT_EQ(keys.tenant_of("key-aaaaaaa"), nullptr);    // a prefix
  EXPECT_EQ(keys.tenant_of("key-aaaaaaaaa"), nullptr);  // longer
  EXPECT_EQ(keys.tenant_of(""), nullptr);
  keys.add("key-aaaaaaaa", "initech");  // the last tenant wins
  EXPECT_EQ(*keys.tenant_of("key-aaaaaaaa"), "initech");
  EXPECT_EQ(keys.size(), 2u);
}

TEST(ApiKeys, KeepsDigestsNotKeys) {
  // SHA-256("abc"), FIPS 180-2's example.
  auto d = ApiKeys::digest("abc");
  EXPECT_EQ(d[0], 0xba);
  EXPECT_EQ(d[1], 0x78);
  EXPECT_EQ(d[31], 0xad);
}

TEST(Authenticate, BearerAndKeyHeader) {
  ApiKeys keys{{"key-aaaaaaaa", "acme"}};
  ApiRequest req;
  EXPECT_EQ(authenticate_bearer(keys, req).error().code, "missing_api_key");
  req.authorization = "Basic key-aaaaaaaa";
  EXPECT_EQ(authenticate_bearer(keys, req).error().code, "invalid_api_key");
  req.authorization = "bEaReR key-wrong-one";
  auto wrong = authenticate_bearer(keys, req);
  EXPECT_EQ(wrong.error().code, "invalid_api_key");
  EXPECT_EQ(wrong.error().message.find("key-wrong-one"), std::string::npos) << "an error never quotes a key";
  req.authorization = "bEaReR key-aaaaaaaa";
  ASSERT_TRUE(authenticate_bearer(keys, req).ok());
  EXPECT_EQ(req.tenant, "acme");

  ApiRequest h;
  EXPECT_EQ(authenticate_key_header(keys, h, "x-api-key").error().code, "missing_api_key");
  h.headers["x-api-key"] = "key-aaaaaaaa";
  ASSERT_TRUE(authenticate_key_header(keys, h, "x-api-key").ok());
  EXPECT_EQ(h.tenant, "acme");
}

}  // namespace
}  // namespace crier::api
