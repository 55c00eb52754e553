// Validation and normalisation of ingested users, and the identity used to
// detect duplicates within a job.
#include "engine/user_validation.h"

#include <gtest/gtest.h>

#include <string>

namespace crier {
namespace {

JobSpec spec_for(Channel channel, std::string webhook_url = {}) {
  JobSpec spec;
  spec.channel = channel;
  spec.webhook_url = std::move(webhook_url);
  return spec;
}

// Asserts `r` failed with `code` on `field`.
template <typename T>
void expect_invalid(const Result<T>& r, std::string_view code, std::string_view field) {
  ASSERT_FALSE(r.ok()) << "expected " << code;
  EXPECT_EQ(r.error().kind, ErrorKind::invalid);
  EXPECT_EQ(r.error().code, code);
  EXPECT_EQ(r.error().field, field);
  EXPECT_FALSE(r.error().message.empty());
}

// ---- phone ------------------------------------------------------------------

TEST(NormalizePhoneTest, StripsSeparators) {
  for (std::string_view in : {"+14155550100", "+1 415 555 0100", "+1-415-555-0100",
                              "+1 (415) 555-0100", "+1.415.555.0100", "  +14155550100  "}) {
    auto r = normalize_phone(in);
    ASSERT_TRUE(r.ok()) << in;
    EXPECT_EQ(*r, "+14155550100") << in;
  }
}

TEST(NormalizePhoneTest, AcceptsTheShortestAndLongestE164) {
  EXPECT_TRUE(normalize_phone("+12").ok());
  EXPECT_TRUE(normalize_phone("+123456789012345").ok());  // 15 digits
}

TEST(NormalizePhoneTest, RejectsNonE164) {
  for (std::string_view in :
       {"", "+", "+1", "14155550100", "0044 20 7946 0958", "+04155550100", "+1234567890123456",
        "+1415555010a", "+1 415 CALL NOW", "++14155550100", "+1/415/555/0100"}) {
    expect_invalid(normalize_phone(in), "invalid_phone_number", "phone");
  }
}

// ---- email ------------------------------------------------------------------

TEST(NormalizeEmailTest, AcceptsAndLowerCasesTheDomainOnly) {
  auto r = normalize_email("Ada.Lovelace@EXAMPLE.Org");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "Ada.Lovelace@example.org");
  auto plain = normalize_email("a@b.co");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, "a@b.co");
  auto trimmed = normalize_email("  user+tag@mail.example.com ");
  ASSERT_TRUE(trimmed.ok());
  EXPECT_EQ(*trimmed, "user+tag@mail.example.com");
}

TEST(NormalizeEmailTest, RejectsMalformed) {
  const std::string too_long = std::string(64, 'a') + "@" + std::string(186, 'b') + ".com";  // 255
  ASSERT_EQ(too_long.size(), 255u);
  for (const std::string& in :
       {std::string("plainaddress"), std::string("@example.com"), std::string("user@"),
        std::string("user name@example.com"), std::string("user@exam ple.com"),
        std::string("a@b@example.com"), std::string("user@localhost"), std::string("user@.com"),
        std::string("user@example."), std::string("user@example..com"),
        std::string("user\t@example.com"), std::string(65, 'a') + "@example.com", too_long}) {
    SCOPED_TRACE(in);
    expect_invalid(normalize_email(in), "invalid_email", "email");
  }
}

TEST(NormalizeEmailTest, AcceptsExactly254Bytes) {
  const std::string at_limit = std::string(64, 'a') + "@" + std::string(185, 'b') + ".com";
  ASSERT_EQ(at_limit.size(), 254u);
  EXPECT_TRUE(normalize_email(at_limit).ok());
}

// ---- webhook url ------------------------------------------------------------

TEST(NormalizeWebhookUrlTest, AcceptsHttpAndHttps) {
  for (std::string_view in : {"http://example.com/hook", "https://example.com",
                              "https://127.0.0.1:8443/a?b=c", "HTTPS://Example.com/x"}) {
    auto r = normalize_webhook_url(in);
    ASSERT_TRUE(r.ok()) << in;
    EXPECT_EQ(*r, in);
  }
}

TEST(NormalizeWebhookUrlTest, RejectsOtherSchemesAndRelativeUrls) {
  for (std::string_view in : {"ftp://example.com/file", "mailto:a@example.com", "/relative/path",
                              "example.com/hook", "http://", "https:///path", "not a url", ""}) {
    SCOPED_TRACE(in);
    expect_invalid(normalize_webhook_url(in), "invalid_webhook_url", "webhook_url");
  }
}

// ---- locale -----------------------------------------------------------------

TEST(LocaleTest, AcceptsCommonTags) {
  for (std::string_view l : {"en", "fr", "pt-BR", "pt_BR", "zh-Hant-TW", "es-419", "haw"})
    EXPECT_TRUE(is_valid_locale(l)) << l;
}

TEST(LocaleTest, RejectsMalformedTags) {
  for (std::string_view l :
       {"", "e", "engl", "en-", "-en", "en--US", "e1", "en US", "en-toolongsubtag", "12"})
    EXPECT_FALSE(is_valid_locale(l)) << l;
}

// ---- validate_user ----------------------------------------------------------

TEST(ValidateUserTest, NormalisesEveryField) {
  RawUser raw;
  raw.user_id = "  u-1  ";
  raw.email = "Ada@EXAMPLE.com";
  raw.phone = "+44 (20) 7946-0958";
  raw.push_token = " tok123 ";
  raw.webhook_url = "https://example.com/h";
  raw.locale = "pt_BR";
  raw.data_json = R"({"name":"Ada"})";
  raw.preferences_json = R"({"quiet":true})";
  auto r = validate_user(raw, spec_for(Channel::email));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->user_id, "u-1");
  EXPECT_EQ(r->email, "Ada@example.com");
  EXPECT_EQ(r->phone, "+442079460958");
  EXPECT_EQ(r->push_token, "tok123");
  EXPECT_EQ(r->webhook_url, "https://example.com/h");
  EXPECT_EQ(r->locale, "pt-BR");
  EXPECT_EQ(r->data_json, R"({"name":"Ada"})");
  EXPECT_EQ(r->preferences_json, R"({"quiet":true})");
}

TEST(ValidateUserTest, EmptyObjectsAreStoredAsNothing) {
  RawUser raw;
  raw.email = "a@example.com";
  raw.data_json = "{}";
  raw.preferences_json = "{}";
  auto r = validate_user(raw, spec_for(Channel::email));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->data_json.empty());
  EXPECT_TRUE(r->preferences_json.empty());
}

TEST(ValidateUserTest, ReportsTheFirstBadFieldWithItsCode) {
  struct Case {
    RawUser raw;
    std::string code, field;
  };
  auto with = [](auto setter) {
    RawUser raw;
    raw.email = "ok@example.com";
    setter(raw);
    return raw;
  };
  const std::string long_id(257, 'x');
  const std::string control_id = std::string("a") + '\x01' + "b";
  const std::string big_data = "{\"a\":\"" + std::string(kMaxUserDataBytes, 'x') + "\"}";
  const Case cases[] = {
      {with([&](RawUser& r) { r.user_id = long_id; }), "invalid_user_id", "user_id"},
      {with([&](RawUser& r) { r.user_id = control_id; }), "invalid_user_id", "user_id"},
      {with([](RawUser& r) { r.user_id = "   "; }), "invalid_user_id", "user_id"},
      {with([](RawUser& r) { r.email = "nope"; }), "invalid_email", "email"},
      {with([](RawUser& r) { r.phone = "4155550100"; }), "invalid_phone_number", "phone"},
      {with([](RawUser& r) { r.push_token = "has space"; }), "invalid_push_token", "push_token"},
      {with([](RawUser& r) { r.webhook_url = "ftp://x.example"; }), "invalid_webhook_url",
       "webhook_url"},
      {with([](RawUser& r) { r.locale = "english"; }), "invalid_locale", "locale"},
      {with([](RawUser& r) { r.data_json = "[1,2]"; }), "invalid_data", "data"},
      {with([](RawUser& r) { r.data_json = "\"text\""; }), "invalid_data", "data"},
      {with([&](RawUser& r) { r.data_json = big_data; }), "invalid_data", "data"},
      {with([](RawUser& r) { r.preferences_json = "42"; }), "invalid_preferences", "preferences"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.code);
    expect_invalid(validate_user(tc.raw, spec_for(Channel::email)), tc.code, tc.field);
  }
}

TEST(ValidateUserTest, AcceptsUserIdAtTheLimit) {
  const std::string id(kMaxUserIdBytes, 'x');
  RawUser raw;
  raw.user_id = id;
  raw.email = "a@example.com";
  EXPECT_TRUE(validate_user(raw, spec_for(Channel::email)).ok());
}

TEST(ValidateUserTest, EveryChannelNeedsItsOwnAddress) {
  struct Case {
    Channel channel;
    std::string field;
  };
  const Case cases[] = {{Channel::email, "email"},
                        {Channel::sms, "phone"},
                        {Channel::whatsapp, "phone"},
                        {Channel::push, "push_token"},
                        {Channel::webhook, "webhook_url"}};
  for (const auto& tc : cases) {
    SCOPED_TRACE(std::string(to_string(tc.channel)));
    RawUser nothing;
    nothing.user_id = "u1";
    expect_invalid(validate_user(nothing, spec_for(tc.channel)), "missing_address", tc.field);
  }
  // An address on another channel does not count.
  RawUser phone_only;
  phone_only.phone = "+14155550100";
  expect_invalid(validate_user(phone_only, spec_for(Channel::email)), "missing_address", "email");
  EXPECT_TRUE(validate_user(phone_only, spec_for(Channel::sms)).ok());
  EXPECT_TRUE(validate_user(phone_only, spec_for(Channel::whatsapp)).ok());
}

TEST(ValidateUserTest, ABareUserIdIsAcceptedWhenTheTenantKeepsProfiles) {
  RawUser bare;
  bare.user_id = "u1";
  auto r = validate_user(bare, spec_for(Channel::email), UserRules{.bare_user_ids = true});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->user_id, "u1");
  EXPECT_TRUE(r->email.empty()) << "its profile gives the address at dispatch";
  // Still needs an identity to look up.
  RawUser nothing;
  expect_invalid(validate_user(nothing, spec_for(Channel::email), UserRules{.bare_user_ids = true}), "missing_address",
                 "email");
}

TEST(ValidateUserTest, WebhookJobWithItsOwnUrlAcceptsUsersWithoutAddress) {
  RawUser raw;
  raw.user_id = "u1";
  auto r = validate_user(raw, spec_for(Channel::webhook, "https://hooks.example.com/in"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->webhook_url.empty());

  RawUser anonymous;  // not even a user_id: it could not be deduplicated, found or traced
  expect_invalid(validate_user(anonymous, spec_for(Channel::webhook, "https://hooks.example.com/in")),
                 "missing_identity", "user_id");
  RawUser data_only;
  data_only.data_json = R"({"name":"Ann"})";
  expect_invalid(validate_user(data_only, spec_for(Channel::webhook, "https://hooks.example.com/in")),
                 "missing_identity", "user_id");
}

std::string nested_object(std::size_t depth) {
  std::string s;
  for (std::size_t i = 1; i < depth; ++i) s += R"({"a":)";
  s += R"({"s":"{[\"{"})";
  for (std::size_t i = 1; i < depth; ++i) s += "}";
  return s;
}

TEST(ValidateUserTest, DataDepthIsLimitedToWhatRenderingAccepts) {
  EXPECT_EQ(json_depth(nested_object(1)), 1u);
  EXPECT_EQ(json_depth(R"({"a":[1,{"b":[]}],"s":"[[[["})"), 4u);
  EXPECT_EQ(json_depth(nested_object(kMaxUserDataDepth)), kMaxUserDataDepth);
  RawUser raw;
  raw.email = "a@example.com";
  std::string ok = nested_object(kMaxUserDataDepth), deep = nested_object(kMaxUserDataDepth + 1);
  raw.data_json = ok;
  EXPECT_TRUE(validate_user(raw, spec_for(Channel::email)).ok());
  raw.data_json = deep;
  expect_invalid(validate_user(raw, spec_for(Channel::email)), "invalid_data", "data");
  raw.data_json = {};
  raw.preferences_json = deep;
  expect_invalid(validate_user(raw, spec_for(Channel::email)), "invalid_preferences", "preferences");
}

// ---- dedupe_key -------------------------------------------------------------

Recipient validated(RawUser raw, Channel channel = Channel::email) {
  auto r = validate_user(raw, spec_for(channel, "https://hooks.example.com/in"));
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : Recipient{};
}

TEST(DedupeKeyTest, SameUserIdIsTheSameUserWhateverTheAddresses) {
  RawUser a, b;
  a.user_id = b.user_id = "user-7";
  a.email = "one@example.com";
  b.email = "two@example.com";
  b.phone = "+14155550100";
  auto ka = dedupe_key(validated(a), Channel::email), kb = dedupe_key(validated(b), Channel::email);
  ASSERT_TRUE(ka && kb);
  EXPECT_EQ(*ka, *kb);
}

TEST(DedupeKeyTest, WithoutUserIdTheChannelAddressDecides) {
  RawUser a, b, c;
  a.email = b.email = "same@example.com";
  a.phone = "+14155550100";
  b.phone = "+14155550199";  // a different phone does not matter on an email job
  c.email = "other@example.com";
  c.phone = "+14155550100";
  auto ka = dedupe_key(validated(a), Channel::email);
  auto kb = dedupe_key(validated(b), Channel::email);
  auto kc = dedupe_key(validated(c), Channel::email);
  ASSERT_TRUE(ka && kb && kc);
  EXPECT_EQ(*ka, *kb);
  EXPECT_NE(*ka, *kc);
  // On an sms job the phone decides instead.
  auto sa = dedupe_key(validated(a, Channel::sms), Channel::sms);
  auto sc = dedupe_key(validated(c, Channel::sms), Channel::sms);
  ASSERT_TRUE(sa && sc);
  EXPECT_EQ(*sa, *sc);
}

TEST(DedupeKeyTest, NormalisedEmailsCollide) {
  RawUser upper, lower;
  upper.email = "A@EXAMPLE.com";
  lower.email = "A@example.com";
  auto ku = dedupe_key(validated(upper), Channel::email);
  auto kl = dedupe_key(validated(lower), Channel::email);
  ASSERT_TRUE(ku && kl);
  EXPECT_EQ(*ku, *kl);
}

TEST(DedupeKeyTest, NormalisedPhonesCollide) {
  RawUser spaced, plain;
  spaced.phone = "+1 (415) 555-0100";
  plain.phone = "+14155550100";
  auto ks = dedupe_key(validated(spaced, Channel::sms), Channel::sms);
  auto kp = dedupe_key(validated(plain, Channel::sms), Channel::sms);
  ASSERT_TRUE(ks && kp);
  EXPECT_EQ(*ks, *kp);
}

TEST(DedupeKeyTest, UserWithNothingHasNoKey) {
  // validate_user refuses such a user (missing_identity); a damaged record
  // still gets no key rather than a shared one.
  EXPECT_FALSE(dedupe_key(Recipient{}, Channel::webhook).has_value());
  EXPECT_FALSE(dedupe_key(Recipient{}, Channel::email).has_value());
}

TEST(DedupeKeyTest, UserIdDoesNotCollideWithAnEqualAddress) {
  Recipient by_id, by_email;
  by_id.user_id = "x@y.com";
  by_email.email = "x@y.com";
  auto ki = dedupe_key(by_id, Channel::email), ke = dedupe_key(by_email, Channel::email);
  ASSERT_TRUE(ki && ke);
  EXPECT_NE(*ki, *ke);
}

TEST(DedupeKeyTest, FallsBackToAnotherAddressWhenTheChannelsIsMissing) {
  // A webhook job posting to its own URL: users without a URL are still
  // told apart by whatever address they have.
  Recipient a, b, a_again;
  a.email = a_again.email = "a@example.com";
  b.email = "b@example.com";
  auto ka = dedupe_key(a, Channel::webhook), kb = dedupe_key(b, Channel::webhook),
       ka2 = dedupe_key(a_again, Channel::webhook);
  ASSERT_TRUE(ka && kb && ka2);
  EXPECT_NE(*ka, *kb);
  EXPECT_EQ(*ka, *ka2);
}

}  // namespace
}  // namespace crier

namespace crier {
namespace {

TEST(CanonicalLocaleTest, CasesSubtagsTheBcp47Way) {
  EXPECT_EQ(canonical_locale("pt_br"), "pt-BR");
  EXPECT_EQ(canonical_locale("PT-br"), "pt-BR");
  EXPECT_EQ(canonical_locale("zh-hant-tw"), "zh-Hant-TW");
  EXPECT_EQ(canonical_locale("EN"), "en");
  EXPECT_EQ(canonical_locale("es-419"), "es-419");
}

TEST(CanonicalLocaleTest, ValidatedUsersCarryTheCanonicalLocale) {
  JobSpec job;
  job.channel = Channel::email;
  RawUser raw;
  raw.email = "a@example.com";
  raw.locale = "pt_br";
  auto r = validate_user(raw, job);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->locale, "pt-BR");
}

}  // namespace
}  // namespace crier
