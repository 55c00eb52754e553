// The JSON shape of message content: what parses, what is refused (with the
// field named), and that writing then reading gives the same content.
#include "engine/content_json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace crier {
namespace {

namespace json = boost::json;

Result<LocalizedContent> parse(std::string_view text) {
  return content_from_json(json::parse(text), "content");
}

void expect_invalid(const Result<LocalizedContent>& r, std::string_view field) {
  ASSERT_FALSE(r.ok()) << "expected an error on " << field;
  EXPECT_EQ(r.error().kind, ErrorKind::invalid);
  EXPECT_EQ(r.error().code, "invalid_content");
  EXPECT_EQ(r.error().field, field) << r.error().message;
}

constexpr std::string_view kFull = R"({
  "email": {"subject": "Hi {{name}}", "text": "Hello {{name}}", "html": "<p>Hello {{name}}</p>"},
  "sms": {"body": "Hi {{name}} & co"},
  "push": {"title": "T", "body": "B"},
  "webhook": {"body": {"event": "promo", "user": "{{user.id}}", "n": [1, 2.5, true, null]}},
  "whatsapp": {"template": "promo_v1", "language": "pt_BR", "parameters": ["{{name}}", "x"]},
  "locales": {
    "fr": {"email": {"subject": "Salut", "text": "Bonjour"}},
    "pt-BR": {"sms": {"body": "Oi"}}
  }
})";

TEST(ContentJsonTest, ParsesEveryChannelAndLocale) {
  auto r = parse(kFull);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& base = r->base;
  ASSERT_TRUE(base.email && base.sms && base.push && base.webhook && base.whatsapp);
  EXPECT_EQ(base.email->subject, "Hi {{name}}");
  EXPECT_EQ(base.email->html, "<p>Hello {{name}}</p>");
  EXPECT_EQ(base.sms->body, "Hi {{name}} & co");
  EXPECT_EQ(base.push->title, "T");
  EXPECT_EQ(json::parse(base.webhook->body_json),
            json::parse(R"({"event":"promo","user":"{{user.id}}","n":[1,2.5,true,null]})"));
  EXPECT_EQ(base.whatsapp->template_name, "promo_v1");
  EXPECT_EQ(base.whatsapp->language, "pt_BR");
  EXPECT_EQ(base.whatsapp->parameters, (std::vector<std::string>{"{{name}}", "x"}));
  ASSERT_EQ(r->locales.size(), 2u);
  ASSERT_TRUE(r->locales.at("fr").email);
  EXPECT_EQ(r->locales.at("fr").email->subject, "Salut");
  EXPECT_FALSE(r->locales.at("fr").sms);
  ASSERT_TRUE(r->locales.at("pt-BR").sms);
  EXPECT_EQ(r->locales.at("pt-BR").sms->body, "Oi");
}

TEST(ContentJsonTest, WriteThenReadGivesTheSameContent) {
  auto first = parse(kFull);
  ASSERT_TRUE(first.ok());
  json::value written = content_to_json(*first);
  auto second = content_from_json(written, "content");
  ASSERT_TRUE(second.ok()) << second.error().message;
  // The same JSON again: nothing lost, nothing added.
  EXPECT_EQ(json::value(content_to_json(*second)), written);
  EXPECT_EQ(second->base.email->text, first->base.email->text);
  EXPECT_EQ(second->base.webhook->body_json, first->base.webhook->body_json);
  EXPECT_EQ(second->locales.size(), first->locales.size());
}

TEST(ContentJsonTest, WebhookBodyMayBeAnyJson) {
  for (std::string_view body :
       {R"("just {{a}} string")", "[1,2,3]", "42", "null", R"({"a":{"b":[]}})"}) {
    std::string doc = std::string(R"({"webhook":{"body":)") + std::string(body) + "}}";
    auto r = parse(doc);
    ASSERT_TRUE(r.ok()) << doc;
    EXPECT_EQ(json::parse(r->base.webhook->body_json), json::parse(body));
  }
}

TEST(ContentJsonTest, WhatsappLanguageDefaultsToEnglish) {
  auto r = parse(R"({"whatsapp":{"template":"t"}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->base.whatsapp->language, "en");
  EXPECT_TRUE(r->base.whatsapp->parameters.empty());
}

TEST(ContentJsonTest, EmailNeedsTextOrHtml) {
  EXPECT_TRUE(parse(R"({"email":{"html":"<b>x</b>"}})").ok());
  EXPECT_TRUE(parse(R"({"email":{"text":"x"}})").ok());
  expect_invalid(parse(R"({"email":{"subject":"only a subject"}})"), "content.email.text");
}

TEST(ContentJsonTest, RefusesUnknownChannelsAndWrongTypes) {
  expect_invalid(parse(R"({"fax":{"body":"x"}})"), "content.fax");
  expect_invalid(parse(R"({"sms":"hello"})"), "content.sms");
  expect_invalid(parse(R"({"sms":{"body":42}})"), "content.sms.body");
  expect_invalid(parse(R"({"email":{"subject":["a"],"text":"x"}})"), "content.email.subject");
  expect_invalid(parse(R"({"whatsapp":{"template":"t","parameters":"x"}})"),
                 "content.whatsapp.parameters");
  expect_invalid(parse(R"({"whatsapp":{"template":"t","parameters":[1]}})"),
                 "content.whatsapp.parameters");
  expect_invalid(parse(R"({"whatsapp":{"language":"en"}})"), "content.whatsapp.template");
  expect_invalid(parse(R"({"webhook":{}})"), "content.webhook.body");
  expect_invalid(parse("[]"), "content");
  expect_invalid(parse(R"("text")"), "content");
}

TEST(ContentJsonTest, RefusesEmptyContent) {
  expect_invalid(parse("{}"), "content");
  expect_invalid(parse(R"({"sms":{"body":""}})"), "content.sms.body");
  expect_invalid(parse(R"({"push":{}})"), "content.push.body");
  // Locales alone do not make a base.
  expect_invalid(parse(R"({"locales":{"fr":{"sms":{"body":"x"}}}})"), "content");
}

TEST(ContentJsonTest, RefusesBadLocales) {
  expect_invalid(parse(R"({"sms":{"body":"x"},"locales":[]})"), "content.locales");
  expect_invalid(parse(R"({"sms":{"body":"x"},"locales":{"not a locale":{"sms":{"body":"y"}}}})"),
                 "content.locales.not a locale");
  expect_invalid(parse(R"({"sms":{"body":"x"},"locales":{"fr":{}}})"), "content.locales.fr");
  // No locales within a locale.
  expect_invalid(
      parse(R"({"sms":{"body":"x"},"locales":{"fr":{"sms":{"body":"y"},"locales":{}}}})"),
      "content.locales.fr.locales");
}

TEST(ContentJsonTest, NullFieldsReadAsEmpty) {
  auto r = parse(R"({"email":{"subject":null,"text":"t","html":null}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->base.email->subject, "");
  EXPECT_EQ(r->base.email->html, "");
}

TEST(LocalizedContentTest, PicksExactThenLanguageThenBase) {
  LocalizedContent c;
  c.base.sms = SmsContent{"base"};
  c.locales["pt"].sms = SmsContent{"pt"};
  c.locales["pt-BR"].sms = SmsContent{"pt-BR"};
  EXPECT_EQ(c.for_locale("pt-BR").sms->body, "pt-BR");
  EXPECT_EQ(c.for_locale("pt-PT").sms->body, "pt");
  EXPECT_EQ(c.for_locale("pt").sms->body, "pt");
  EXPECT_EQ(c.for_locale("fr").sms->body, "base");
  EXPECT_EQ(c.for_locale("").sms->body, "base");
}

}  // namespace
}  // namespace crier
