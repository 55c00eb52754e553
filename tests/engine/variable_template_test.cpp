// The fast path for templates of text and variables: what it accepts, and
// that it renders exactly what kainjow-mustache renders for the same
// template and data (kainjow is made to render by a trailing comment tag,
// which the fast path does not take and which renders nothing).
#include "engine/variable_template.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "engine/render.h"

namespace crier {
namespace {

TEST(VariableTemplateTest, CompilesTextAndVariablesOnly) {
  EXPECT_TRUE(VariableTemplate::compile("plain text"));
  EXPECT_TRUE(VariableTemplate::compile(""));
  EXPECT_TRUE(VariableTemplate::compile("Hi {{name}}, {{{raw}}} {{& amp }} {{ a.b.c }}!"));
  for (const char* s : {"{{#list}}x{{/list}}", "{{^missing}}x{{/missing}}", "{{> partial}}", "{{! note }}",
                        "{{=<% %>=}}", "{{.}}", "{{}}", "{{unclosed", "{{{unclosed}}"})
    EXPECT_FALSE(VariableTemplate::compile(s)) << s;
}

TEST(VariableTemplateTest, SplitsIntoTextAndDottedPaths) {
  auto t = VariableTemplate::compile("Dear {{ user.name }}, {{{x}}}.");
  ASSERT_TRUE(t);
  const auto& s = t->segments();
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0].text, "Dear ");
  EXPECT_EQ(s[1].path, (std::vector<std::string>{"user", "name"}));
  EXPECT_TRUE(s[1].escape);
  EXPECT_EQ(s[2].text, ", ");
  EXPECT_EQ(s[3].path, (std::vector<std::string>{"x"}));
  EXPECT_FALSE(s[3].escape);
  EXPECT_EQ(s[4].text, ".");
}

// Renders `subject`/`text`/`html` and a webhook body through the fast path,
// and again with a comment appended so kainjow renders them.
struct Pair {
  RenderedMessage fast, slow;
};

Pair render_both(const std::string& tmpl, const std::string& job_data, const Recipient& r) {
  auto render = [&](const std::string& suffix) {
    JobSpec spec;
    spec.channel = Channel::email;
    spec.content.base.email = EmailContent{tmpl + suffix, "text: " + tmpl + suffix, "<p>" + tmpl + suffix};
    spec.data_json = job_data;
    auto renderer = JobRenderer::compile(spec);
    EXPECT_TRUE(renderer.ok());
    auto m = (*renderer)->render(r);
    EXPECT_TRUE(m.ok()) << m.error().message;
    return m.ok() ? *m : RenderedMessage{};
  };
  return {render(""), render("{{! kainjow }}")};
}

TEST(VariableTemplateTest, RendersWhatKainjowRenders) {
  const std::string job = R"({"brand":"Acme & Co","amount":12,"rate":9.5,"big":18446744073709551615,
    "neg":-3,"flag":true,"off":false,"none":null,"list":[1,2],"obj":{"k":"job-k","deep":{"x":"job-x"}},
    "user":{"tier":"gold","id":"job-user-id"},"quote":"<b>\"it's\"</b>"})";
  Recipient r;
  r.user_id = "u-1";
  r.email = "ada@example.com";
  r.phone = "+15550100";
  r.locale = "";
  const std::vector<std::string> data = {
      "",
      R"({"name":"Ada <Lovelace>","amount":"7.50"})",
      R"({"brand":"Own brand","obj":"scalar now","user":"hidden by the user fields"})",
      R"({"obj":{"k":"user-k"}})",  // both objects: merged, not layered
      R"({"name":3.25,"n":1e300,"i":-42})",
      // A repeated key (the last counts), escapes, and numbers at and past
      // the ends of 64-bit integers (past them, read the boost::json way).
      R"({"name":"first","name":"second \"q\" \u00e9 \\","i":18446744073709551615,"n":-9223372036854775808})",
      R"({"i":18446744073709551616,"name":0.1,"amount":-0.0,"obj":{"deep":{"x":"user-x"}},"a":{"b":1}})",
      R"({"obj":"x","c":{"d":{"e":"f"}},"list":[{"a":1}],"brand":{"nested":"object"}})",
  };
  const std::vector<std::string> templates = {
      "no tags at all",
      "{{brand}} {{{brand}}} {{& brand}} {{ brand }}",
      "{{amount}} {{rate}} {{big}} {{neg}} {{name}} {{n}} {{i}}",
      "[{{flag}}][{{off}}][{{none}}][{{list}}][{{obj}}][{{missing}}]",
      "{{obj.k}} {{obj.deep.x}} {{obj.deep}} {{obj.k.z}} {{obj.nope}}",
      "{{user.id}} {{user.email}} {{user.phone}} {{user.locale}} {{user}} {{user.tier}} {{user.id.x}}",
      "{{quote}} {{{quote}}} {{name}}",
      "{{ a }}{{b}}{{c.d}}",
  };
  for (const auto& d : data) {
    r.data_json = d;
    for (const auto& t : templates) {
      auto [fast, slow] = render_both(t, job, r);
      EXPECT_EQ(fast.subject, slow.subject) << "template " << t << " data " << d;
      EXPECT_EQ(fast.text, slow.text) << "template " << t << " data " << d;
      EXPECT_EQ(fast.html, slow.html) << "template " << t << " data " << d;
    }
  }
}

TEST(VariableTemplateTest, WebhookBodiesRenderLikeKainjow) {
  auto render = [](const std::string& suffix) {
    JobSpec spec;
    spec.channel = Channel::webhook;
    spec.content.base.webhook =
        WebhookContent{R"({"greeting":"Hi {{name}})" + suffix + R"(","n":1,"nested":{"list":["{{obj.k}})" + suffix +
                       R"(","plain"],"amp":"{{brand}})" + suffix + R"("}})"};
    spec.data_json = R"({"brand":"A & B","obj":{"k":"v"}})";
    Recipient r;
    r.data_json = R"({"name":"Ada \"the first\""})";
    auto renderer = JobRenderer::compile(spec);
    EXPECT_TRUE(renderer.ok());
    auto m = (*renderer)->render(r);
    EXPECT_TRUE(m.ok());
    return m.ok() ? m->json_body : std::string();
  };
  const std::string fast = render("");
  EXPECT_EQ(fast, render("{{! kainjow }}"));
  EXPECT_EQ(boost::json::parse(fast),
            boost::json::parse(R"({"greeting":"Hi Ada \"the first\"","n":1,"nested":{"list":["v","plain"],"amp":"A & B"}})"));
}

}  // namespace
}  // namespace crier
