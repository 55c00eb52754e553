// Rendering a job's content for one recipient: data merging, escaping per
// channel, locale variants, webhook bodies, and template errors.
#include "engine/render.h"
#include "engine/user_validation.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace crier {
namespace {

namespace json = boost::json;

json::object obj(std::string_view text) { return json::parse(text).as_object(); }

JobSpec email_spec(std::string subject, std::string text, std::string html,
                   std::string data_json = "{}") {
  JobSpec spec;
  spec.channel = Channel::email;
  spec.content.base.email = EmailContent{std::move(subject), std::move(text), std::move(html)};
  spec.data_json = std::move(data_json);
  return spec;
}

std::unique_ptr<JobRenderer> compile_ok(const JobSpec& spec) {
  auto r = JobRenderer::compile(spec);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? std::move(r).value() : nullptr;
}

Recipient user_with(std::string data_json, std::string locale = {}) {
  Recipient r;
  r.user_id = "u1";
  r.email = "ada@example.com";
  r.data_json = std::move(data_json);
  r.locale = std::move(locale);
  return r;
}

// ---- merge_data -------------------------------------------------------------

TEST(MergeDataTest, NestedObjectsMergeKeyByKey) {
  auto base = obj(R"({"user":{"name":"Job default","tier":"gold"},"brand":"Acme"})");
  merge_data(base, obj(R"({"user":{"name":"Ada"}})"));
  EXPECT_EQ(json::value(base),
            json::parse(R"({"user":{"name":"Ada","tier":"gold"},"brand":"Acme"})"));
}

TEST(MergeDataTest, ScalarsAndArraysAreReplacedAndTheOverrideWins) {
  auto base = obj(R"({"n":1,"list":[1,2,3],"obj":{"a":1},"keep":true})");
  merge_data(base, obj(R"({"n":"two","list":[9],"obj":5,"new":null})"));
  EXPECT_EQ(json::value(base),
            json::parse(R"({"n":"two","list":[9],"obj":5,"keep":true,"new":null})"));
}

TEST(MergeDataTest, AnObjectReplacesAScalar) {
  auto base = obj(R"({"a":"scalar"})");
  merge_data(base, obj(R"({"a":{"b":1}})"));
  EXPECT_EQ(json::value(base), json::parse(R"({"a":{"b":1}})"));
}

// ---- rendering --------------------------------------------------------------

TEST(JobRendererTest, RendersEmailFieldsFromMergedData) {
  auto renderer = compile_ok(email_spec(
      "Hi {{name}}", "Dear {{name}} of {{company.name}} ({{company.city}})", "<p>{{name}}</p>",
      R"({"name":"friend","company":{"name":"Acme","city":"Paris"}})"));
  ASSERT_TRUE(renderer);
  auto m = renderer->render(user_with(R"({"name":"Ada","company":{"city":"London"}})"));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->subject, "Hi Ada");
  EXPECT_EQ(m->text, "Dear Ada of Acme (London)");
  EXPECT_EQ(m->html, "<p>Ada</p>");

  // Without user data the job's data is used as is.
  auto plain = renderer->render(user_with(""));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->subject, "Hi friend");
  EXPECT_EQ(plain->text, "Dear friend of Acme (Paris)");
}

TEST(JobRendererTest, ExposesTheRecipientUnderUser) {
  auto renderer = compile_ok(email_spec("{{user.id}}", "{{user.email}}", ""));
  ASSERT_TRUE(renderer);
  auto m = renderer->render(user_with(""));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->subject, "u1");
  EXPECT_EQ(m->text, "ada@example.com");
}

TEST(JobRendererTest, RendersUserDataAsDeepAsIngestAccepts) {
  // The deepest data validate_user accepts (kMaxUserDataDepth) renders on
  // both paths: layered over the job's nested data, and with sections.
  std::string data;
  for (std::size_t i = 1; i < kMaxUserDataDepth; ++i) data += R"({"a":)";
  data += R"({"name":"Ada"})";
  for (std::size_t i = 1; i < kMaxUserDataDepth; ++i) data += "}";
  ASSERT_EQ(json_depth(data), kMaxUserDataDepth);
  for (const char* text : {"Hi {{a.a.a}}", "{{#a}}in{{/a}}"}) {
    auto r = compile_ok(email_spec("s", text, "", R"({"a":{"b":1}})"));
    ASSERT_TRUE(r);
    auto m = r->render(user_with(data));
    EXPECT_TRUE(m.ok()) << text << ": " << m.error().message;
  }
}

TEST(JobRendererTest, SupportsSectionsAndNumbers) {
  auto renderer = compile_ok(email_spec("{{#vip}}VIP {{/vip}}{{points}} pts",
                                        "{{#items}}[{{.}}]{{/items}}{{^items}}none{{/items}}", ""));
  ASSERT_TRUE(renderer);
  auto vip = renderer->render(user_with(R"({"vip":true,"points":42,"items":["a","b"]})"));
  ASSERT_TRUE(vip.ok());
  EXPECT_EQ(vip->subject, "VIP 42 pts");
  EXPECT_EQ(vip->text, "[a][b]");
  auto plain = renderer->render(user_with(R"({"vip":false,"points":-7,"items":[],"unused":null})"));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->subject, "-7 pts");
  EXPECT_EQ(plain->text, "none");
}

TEST(JobRendererTest, RendersDecimalNumbersAsWritten) {
  auto renderer = compile_ok(email_spec("{{price}} EUR", "{{ratio}}", ""));
  ASSERT_TRUE(renderer);
  auto m = renderer->render(user_with(R"({"price":9.99,"ratio":1.5})"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->subject, "9.99 EUR");
  EXPECT_EQ(m->text, "1.5");
}

TEST(JobRendererTest, EscapesHtmlOnlyInHtml) {
  auto renderer = compile_ok(email_spec("{{v}}", "{{v}}", "<b>{{v}}</b>"));
  ASSERT_TRUE(renderer);
  auto m = renderer->render(user_with(R"({"v":"Tom & \"Jerry\" <3"})"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->subject, "Tom & \"Jerry\" <3");
  EXPECT_EQ(m->text, "Tom & \"Jerry\" <3");
  EXPECT_NE(m->html.find("&amp;"), std::string::npos) << m->html;
  EXPECT_NE(m->html.find("&lt;3"), std::string::npos) << m->html;
  EXPECT_EQ(m->html.find("& "), std::string::npos) << m->html;
}

TEST(JobRendererTest, SmsAndPushAreNotEscaped) {
  JobSpec sms;
  sms.channel = Channel::sms;
  sms.content.base.sms = SmsContent{"{{a}} & {{b}}"};
  auto s = compile_ok(sms);
  ASSERT_TRUE(s);
  auto m = s->render(user_with(R"({"a":"Fish & Chips","b":"<ok>"})"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->body, "Fish & Chips & <ok>");

  JobSpec push;
  push.channel = Channel::push;
  push.content.base.push = PushContent{"{{a}}", "{{b}}"};
  auto p = compile_ok(push);
  ASSERT_TRUE(p);
  auto pm = p->render(user_with(R"({"a":"A&B","b":"'quoted'"})"));
  ASSERT_TRUE(pm.ok());
  EXPECT_EQ(pm->title, "A&B");
  EXPECT_EQ(pm->body, "'quoted'");
}

TEST(JobRendererTest, ChoosesTheLocaleVariantExactThenLanguageThenBase) {
  JobSpec spec;
  spec.channel = Channel::sms;
  spec.content.base.sms = SmsContent{"base {{n}}"};
  spec.content.locales["pt"].sms = SmsContent{"pt {{n}}"};
  spec.content.locales["pt-BR"].sms = SmsContent{"pt-BR {{n}}"};
  spec.content.locales["de"].email = EmailContent{"s", "no sms here", ""};  // other channel only
  auto renderer = compile_ok(spec);
  ASSERT_TRUE(renderer);
  struct Case {
    std::string locale, want;
  };
  for (const auto& [locale, want] : std::vector<Case>{{"pt-BR", "pt-BR 1"},
                                                      {"pt-PT", "pt 1"},
                                                      {"pt", "pt 1"},
                                                      {"fr", "base 1"},
                                                      {"", "base 1"},
                                                      {"de", "base 1"}}) {
    auto m = renderer->render(user_with(R"({"n":1})", locale));
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->body, want) << "locale '" << locale << "'";
  }
}

TEST(JobRendererTest, RenderIntoAReusedMessageLeavesNothingOfTheMessageBefore) {
  // Dispatch renders each lane's messages into the same storage turn after
  // turn: a field the earlier message had and this one lacks must be empty.
  JobSpec spec = email_spec("Hi {{name}}", "Dear {{name}}, {{amount}}", "<p>{{name}}</p>");
  spec.content.locales["fr"].email = EmailContent{"Salut {{name}}", "Bonjour", ""};  // no HTML
  auto renderer = compile_ok(spec);
  ASSERT_TRUE(renderer);
  RenderedMessage m;
  ASSERT_TRUE(renderer->render_into(user_with(R"({"name":"Ada","amount":"12.50"})"), m).ok());
  EXPECT_EQ(m.subject, "Hi Ada");
  EXPECT_EQ(m.html, "<p>Ada</p>");
  ASSERT_TRUE(renderer->render_into(user_with(R"({"name":"Bo"})", "fr"), m).ok());
  EXPECT_EQ(m.subject, "Salut Bo");
  EXPECT_EQ(m.text, "Bonjour");
  EXPECT_EQ(m.html, "");
  // And the same as a fresh render of that recipient, field by field.
  auto fresh = renderer->render(user_with(R"({"name":"Bo"})", "fr"));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(m.subject, fresh->subject);
  EXPECT_EQ(m.text, fresh->text);
  EXPECT_EQ(m.html, fresh->html);
}

TEST(JobRendererTest, SmsIsMeasuredOnEveryPathAndOnlyOnTheSmsChannel) {
  // The fast path (variables only), the merged fast path (a nested object
  // of the job's data) and kainjow (a section) all measure the body.
  for (std::string body : {"{{a}} {{o.x}}", "{{#a}}{{a}}{{/a}} {{o.x}}"}) {
    SCOPED_TRACE(body);
    JobSpec spec;
    spec.channel = Channel::sms;
    spec.content.base.sms = SmsContent{body};
    spec.data_json = R"({"o":{"x":"€"}})";
    auto r = compile_ok(spec);
    ASSERT_TRUE(r);
    for (std::string data : {R"({"a":"hi"})", R"({"a":"hi","o":{"y":1}})"}) {
      auto m = r->render(user_with(data));
      ASSERT_TRUE(m.ok()) << m.error().message;
      EXPECT_EQ(m->body, "hi €");
      ASSERT_TRUE(m->sms.has_value());
      EXPECT_EQ(*m->sms, (SmsSegments{SmsEncoding::gsm7, 5, 1}));
    }
    auto emoji = r->render(user_with(R"({"a":"😀"})"));
    ASSERT_TRUE(emoji.ok());
    ASSERT_TRUE(emoji->sms.has_value());
    EXPECT_EQ(*emoji->sms, (SmsSegments{SmsEncoding::ucs2, 4, 1}));
  }
  auto email = compile_ok(email_spec("s", "t", ""));
  ASSERT_TRUE(email);
  auto m = email->render(user_with("{}"));
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->sms.has_value());
}

TEST(JobRendererTest, ReusedMessageDropsTheSmsMeasureOfTheMessageBefore) {
  JobSpec spec;
  spec.channel = Channel::sms;
  spec.content.base.sms = SmsContent{"{{a}}"};
  spec.data_json = "{}";
  auto r = compile_ok(spec);
  ASSERT_TRUE(r);
  RenderedMessage m;
  ASSERT_TRUE(r->render_into(user_with(R"({"a":"hi"})"), m).ok());
  ASSERT_TRUE(m.sms.has_value());
  EXPECT_FALSE(r->render_into(user_with("[1]"), m).ok());  // data that is not an object
  EXPECT_FALSE(m.sms.has_value());
}

TEST(JobRendererTest, UsersWithoutALocaleGetTheJobsLocale) {
  JobSpec spec;
  spec.channel = Channel::sms;
  spec.locale = "fr";
  spec.content.base.sms = SmsContent{"hello"};
  spec.content.locales["fr"].sms = SmsContent{"bonjour"};
  spec.content.locales["de"].sms = SmsContent{"hallo"};
  auto renderer = compile_ok(spec);
  ASSERT_TRUE(renderer);
  auto plain = renderer->render(user_with("{}"));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->body, "bonjour");
  auto german = renderer->render(user_with("{}", "de"));
  ASSERT_TRUE(german.ok());
  EXPECT_EQ(german->body, "hallo");  // the user's own locale wins
  // A user locale no variant has falls back to the job's (its language
  // too), and only then to the base content.
  auto swiss = renderer->render(user_with("{}", "it-CH"));
  ASSERT_TRUE(swiss.ok());
  EXPECT_EQ(swiss->body, "bonjour");
  spec.locale = "fr-CA";
  auto canadian = compile_ok(spec);
  auto other = canadian->render(user_with("{}", "it"));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->body, "bonjour");
  spec.locale = "es";
  auto spanish = compile_ok(spec);
  auto base = spanish->render(user_with("{}", "it"));
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(base->body, "hello");
}

TEST(JobRendererTest, WebhookBodyRendersStringLeavesAndStaysValidJson) {
  JobSpec spec;
  spec.channel = Channel::webhook;
  spec.content.base.webhook =
      WebhookContent{R"({"to":"{{user.id}}","msg":"Hi {{name}}","n":3,"tags":["{{tag}}","fixed"],)"
                     R"("nested":{"note":"{{note}}"},"ok":true})"};
  auto renderer = compile_ok(spec);
  ASSERT_TRUE(renderer);
  // Values with quotes, backslashes, newlines and '&' must not break the JSON.
  auto m = renderer->render(
      user_with(R"({"name":"Ada \"The Countess\" & co","tag":"a\\b","note":"line1\nline2"})"));
  ASSERT_TRUE(m.ok()) << m.error().message;
  boost::system::error_code ec;
  auto body = json::parse(m->json_body, ec);
  ASSERT_FALSE(ec) << m->json_body;
  EXPECT_EQ(body,
            json::parse(R"({"to":"u1","msg":"Hi Ada \"The Countess\" & co","n":3,)"
                        R"("tags":["a\\b","fixed"],"nested":{"note":"line1\nline2"},"ok":true})"));
}

TEST(JobRendererTest, WhatsappRendersParametersInOrder) {
  JobSpec spec;
  spec.channel = Channel::whatsapp;
  spec.content.base.whatsapp =
      WhatsappContent{"order_ready", "pt_BR", {"{{name}}", "#{{order}}", "fixed"}};
  auto renderer = compile_ok(spec);
  ASSERT_TRUE(renderer);
  auto m = renderer->render(user_with(R"({"name":"Ana & Bia","order":17})"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->template_name, "order_ready");
  EXPECT_EQ(m->language, "pt_BR");
  EXPECT_EQ(m->parameters, (std::vector<std::string>{"Ana & Bia", "#17", "fixed"}));
}

// Dynamic buttons come from the data key whatsapp_buttons: the recipient's,
// else the job's; as given (not rendered), index defaulting to the position
// and sub_type to url. A malformed list fails that recipient only.
TEST(JobRendererTest, WhatsappButtonsComeFromTheRecipientsDataElseTheJobs) {
  JobSpec spec;
  spec.channel = Channel::whatsapp;
  spec.content.base.whatsapp = WhatsappContent{"welcome", "es", {"{{name}}"}};
  spec.data_json = R"({"whatsapp_buttons":[{"text":"JOB-1"}]})";
  auto renderer = compile_ok(spec);
  ASSERT_TRUE(renderer);

  auto own = renderer->render(user_with(
      R"({"name":"Juan","whatsapp_buttons":[{"index":0,"sub_type":"url","text":"ABC-{{x}}"},{"text":"P","sub_type":"quick_reply"}]})"));
  ASSERT_TRUE(own.ok()) << own.error().message;
  EXPECT_EQ(own->parameters, (std::vector<std::string>{"Juan"}));
  ASSERT_EQ(own->buttons.size(), 2u);
  EXPECT_EQ(own->buttons[0].index, 0u);
  EXPECT_EQ(own->buttons[0].sub_type, "url");
  EXPECT_EQ(own->buttons[0].text, "ABC-{{x}}");
  EXPECT_EQ(own->buttons[1].index, 1u);
  EXPECT_EQ(own->buttons[1].sub_type, "quick_reply");

  auto inherited = renderer->render(user_with(R"({"name":"Maria"})"));
  ASSERT_TRUE(inherited.ok());
  ASSERT_EQ(inherited->buttons.size(), 1u);
  EXPECT_EQ(inherited->buttons[0].text, "JOB-1");

  // Rendering into a reused message leaves no button of the one before.
  RenderedMessage reused = *own;
  ASSERT_TRUE(renderer->render_into(user_with(R"({"name":"Bo","whatsapp_buttons":[]})"), reused).ok());
  EXPECT_TRUE(reused.buttons.empty());

  for (const char* bad : {R"({"whatsapp_buttons":{"button_0":"x"}})", R"({"whatsapp_buttons":[{"index":0}]})",
                          R"({"whatsapp_buttons":[{"index":12,"text":"x"}]})",
                          R"({"whatsapp_buttons":[{"sub_type":"call","text":"x"}]})"}) {
    auto m = renderer->render(user_with(bad));
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.error().code, "invalid_data") << bad;
  }
}

TEST(JobRendererTest, OtherChannelsIgnoreWhatsappButtons) {
  auto renderer = compile_ok(email_spec("s", "t", ""));
  ASSERT_TRUE(renderer);
  auto m = renderer->render(user_with(R"({"whatsapp_buttons":"not even a list"})"));
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->buttons.empty());
}

// ---- missing variables --------------------------------------------------------

// The three ways a message is rendered: text and variables read in place
// (fast), the same with the user's data merged into a nested object of the
// job's (fast, merged), and kainjow for sections.
TEST(JobRendererTest, MissingVariablesRenderEmptyAndAreCountedOnEveryPath) {
  struct Case {
    const char* name;
    const char* subject;
    const char* job_data;
    const char* user_data;
    std::uint32_t missing;
    const char* first;
    const char* rendered;
  };
  const Case cases[] = {
      {"fast", "Hi {{name}} {{order.id}}{{coupon}}", R"({"order":{"id":"7"}})", R"({"name":"Ada"})", 1, "coupon",
       "Hi Ada 7"},
      {"merged", "{{order.id}}/{{order.total}}/{{order.tax}}", R"({"order":{"id":"7"}})",
       R"({"order":{"total":"9"}})", 1, "order.tax", "7/9/"},
      {"kainjow", "{{#vip}}VIP {{level}}{{/vip}}{{^vip}}no{{/vip}} {{name}}{{missing.deep}}", "{}",
       R"({"vip":{"stars":2},"name":"Ada"})", 2, "level", "VIP  Ada"},
      {"kainjow, a false section is no warning", "{{#promo}}{{code}}{{/promo}}{{name}}", "{}", R"({"name":"Ada"})", 0,
       "", "Ada"},
      {"present but empty or null values are no warning", "{{a}}{{b}}{{user.email}}", R"({"b":null})",
       R"({"a":""})", 0, "", "ada@example.com"},
  };
  for (const auto& c : cases) {
    auto r = compile_ok(email_spec(c.subject, "t", "h", c.job_data));
    ASSERT_TRUE(r);
    RenderedMessage m;
    ASSERT_TRUE(r->render_into(user_with(c.user_data), Channel::email, m).ok()) << c.name;
    EXPECT_EQ(m.subject, c.rendered) << c.name;
    EXPECT_EQ(m.missing_variables, c.missing) << c.name;
    EXPECT_EQ(m.first_missing, c.first) << c.name;
  }
}

TEST(JobRendererTest, AVariableMissingInsideASectionIsCountedOnlyWhenNoContextHasIt) {
  // {{name}} inside the list is found in the outer data; {{sku}} in the
  // item; {{color}} nowhere (once per item).
  auto r = compile_ok(email_spec("{{#items}}{{name}}:{{sku}}{{color}};{{/items}}", "t", "h"));
  RenderedMessage m;
  ASSERT_TRUE(r->render_into(user_with(R"({"name":"Ada","items":[{"sku":"a"},{"sku":"b"}]})"), Channel::email, m).ok());
  EXPECT_EQ(m.subject, "Ada:a;Ada:b;");
  EXPECT_EQ(m.missing_variables, 2u);
  EXPECT_EQ(m.first_missing, "color");
}

TEST(JobRendererTest, StrictVariablesFailsTheRecipientNamingTheVariable) {
  auto spec = email_spec("Hi {{name}}", "{{order.id}} {{order.total}}", "h");
  spec.strict_variables = true;
  auto r = compile_ok(spec);
  RenderedMessage m;
  auto bad = r->render_into(user_with(R"({"name":"Ada"})"), Channel::email, m);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "missing_variable");
  EXPECT_NE(bad.error().message.find("'order.id'"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("2 in all"), std::string::npos) << bad.error().message;
  // With every variable given it renders, and a reused message forgets the
  // count of the one before.
  ASSERT_TRUE(r->render_into(user_with(R"({"name":"Ada","order":{"id":"1","total":"2"}})"), Channel::email, m).ok());
  EXPECT_EQ(m.text, "1 2");
  EXPECT_EQ(m.missing_variables, 0u);
  EXPECT_TRUE(m.first_missing.empty());
}

TEST(JobRendererTest, WebhookBodyStringsCountMissingVariablesToo) {
  JobSpec spec;
  spec.channel = Channel::webhook;
  spec.content.base.webhook = WebhookContent{R"({"a":"{{x}}","b":["{{y}}","{{#s}}{{/s}}"]})"};
  auto r = compile_ok(spec);
  RenderedMessage m;
  ASSERT_TRUE(r->render_into(user_with(R"({"x":"1"})"), Channel::webhook, m).ok());
  EXPECT_EQ(m.missing_variables, 1u);
  EXPECT_EQ(m.first_missing, "y");
}

TEST(CheckTemplatesTest, SectionNamesFollowSetDelimiters) {
  std::set<std::string, std::less<>> names;
  collect_section_names("{{# a }}{{/a}}{{=<% %>=}}<%^b%><%/b%>{{#c}}", names);
  EXPECT_EQ(names, (std::set<std::string, std::less<>>{"a", "b"}));
}

TEST(JobRendererTest, RecipientDataThatIsNotAnObjectIsAnError) {
  auto renderer = compile_ok(email_spec("s", "t", ""));
  ASSERT_TRUE(renderer);
  auto m = renderer->render(user_with("[1]"));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, "invalid_data");
}

TEST(JobRendererTest, CompileNeedsContentForTheJobsChannel) {
  JobSpec spec;
  spec.channel = Channel::sms;
  spec.content.base.email = EmailContent{"s", "t", ""};
  auto r = JobRenderer::compile(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::unprocessable);
  EXPECT_EQ(r.error().code, "content_missing_channel");
  EXPECT_EQ(r.error().field, "content.sms");
}

// ---- check_templates --------------------------------------------------------

TEST(CheckTemplatesTest, AcceptsValidTemplatesOnEveryChannel) {
  LocalizedContent c;
  c.base.email = EmailContent{"{{a}}", "{{#b}}x{{/b}}", "<i>{{{c}}}</i>"};
  c.base.sms = SmsContent{"{{a}}"};
  c.base.webhook = WebhookContent{R"({"k":"{{a}}"})"};
  c.locales["fr"].push = PushContent{"{{t}}", "{{b}}"};
  EXPECT_TRUE(check_templates(c).ok());
}

namespace {
std::string nested_sections(std::size_t depth) {
  std::string s;
  for (std::size_t i = 0; i < depth; ++i) s += "{{#a}}";
  s += "x";
  for (std::size_t i = 0; i < depth; ++i) s += "{{/a}}";
  return s;
}
}  // namespace

TEST(CheckTemplatesTest, SectionDepthFollowsSetDelimiters) {
  EXPECT_EQ(section_depth("plain {{a}}"), 0u);
  EXPECT_EQ(section_depth("{{#a}}{{^b}}{{/b}}{{/a}}{{#c}}{{/c}}"), 2u);
  EXPECT_EQ(section_depth("{{=<% %>=}}<%#a%><%#b%><%/b%><%/a%>{{#c}}"), 2u);
  EXPECT_EQ(section_depth(nested_sections(40)), 40u);
}

TEST(CheckTemplatesTest, SectionsNestedDeeperThanTheLimitAreRefused) {
  LocalizedContent ok;
  ok.base.sms = SmsContent{nested_sections(kMaxTemplateSectionDepth)};
  EXPECT_TRUE(check_templates(ok).ok());
  LocalizedContent deep;
  deep.locales["fr"].sms = SmsContent{nested_sections(20000)};
  auto r = check_templates(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_template");
  EXPECT_EQ(r.error().field, "content.locales.fr.sms.body");
  LocalizedContent hidden;  // behind other delimiters
  hidden.base.email = EmailContent{"s", "{{=<% %>=}}" + std::string(40, ' ') + "<%#a%><%#a%><%#a%>" +
                                            [] { std::string s; for (int i = 0; i < 40; ++i) s += "<%#b%>"; return s; }(),
                                   ""};
  EXPECT_EQ(check_templates(hidden).error().code, "invalid_template");
}

TEST(CheckTemplatesTest, TemplatesOverTheSizeLimitsAreRefused) {
  LocalizedContent big;
  big.base.sms = SmsContent{std::string(kMaxTemplateFieldBytes + 1, 'x')};
  auto r = check_templates(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_template");
  EXPECT_EQ(r.error().field, "content.sms.body");
  LocalizedContent many;  // each field within its limit, all of them over the total
  for (int i = 0; i < 5; ++i) many.locales["l" + std::to_string(i)].sms = SmsContent{std::string(kMaxTemplateFieldBytes, 'x')};
  EXPECT_EQ(check_templates(many).error().code, "invalid_template");
}

TEST(CheckTemplatesTest, UnclosedSectionIsAnInvalidTemplateNamingTheField) {
  LocalizedContent c;
  c.base.email = EmailContent{"fine", "{{#a}} never closed", ""};
  auto r = check_templates(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::unprocessable);
  EXPECT_EQ(r.error().code, "invalid_template");
  EXPECT_EQ(r.error().field, "content.email.text");
}

TEST(CheckTemplatesTest, ChecksChannelsAndLocalesBeyondTheJobs) {
  LocalizedContent unclosed_tag;
  unclosed_tag.base.sms = SmsContent{"ok"};
  unclosed_tag.base.push = PushContent{"{{title", ""};
  auto r = check_templates(unclosed_tag);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_template");
  EXPECT_EQ(r.error().field, "content.push.title");

  LocalizedContent in_locale;
  in_locale.base.sms = SmsContent{"ok"};
  in_locale.locales["fr"].sms = SmsContent{"{{/a}}"};
  auto l = check_templates(in_locale);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code, "invalid_template");
  EXPECT_EQ(l.error().field, "content.locales.fr.sms.body");
}

TEST(CheckTemplatesTest, WebhookBodyMustBeJsonWithValidStringTemplates) {
  LocalizedContent not_json;
  not_json.base.webhook = WebhookContent{"{not json"};
  auto a = check_templates(not_json);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, "invalid_template");
  EXPECT_EQ(a.error().field, "content.webhook.body");

  LocalizedContent bad_leaf;
  bad_leaf.base.webhook = WebhookContent{R"({"a":"ok","b":["{{#x}}"]})"};
  auto b = check_templates(bad_leaf);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, "invalid_template");
  EXPECT_EQ(b.error().field, "content.webhook.body");
}

}  // namespace
}  // namespace crier
