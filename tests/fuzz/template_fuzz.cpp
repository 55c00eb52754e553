// Mustache templates: the input is one template source, checked as every
// template is (check_templates: size, section depth, compiles), then used as
// every field of an email job (subject, text, HTML) and rendered for a
// recipient with nested data (VariableTemplate for text-and-variables
// templates, kainjow-mustache for the rest).
#include <cstdint>
#include <string>

#include "engine/render.h"
#include "engine/variable_template.h"
#include "tests/fuzz/fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace crier;
  std::string source(reinterpret_cast<const char*>(data), size);
  if (auto compiled = VariableTemplate::compile(source)) {
    // A template of text and variables: its literal text renders as given.
    std::string out;
    compiled->render([](auto, bool, std::string&) {}, false, out);
    if (out.size() > source.size()) fuzz::fail("literal text grew in rendering", source);
  }

  JobSpec spec;
  spec.channel = Channel::email;
  spec.content.base.email = EmailContent{source, source, source};
  spec.data_json = R"({"name":"Ada","n":1.5,"list":[1,"two",{"three":3}],"user":{"name":"<b>&'\""}})";
  if (!check_templates(spec.content)) return 0;  // refused: invalid_template
  auto renderer = JobRenderer::compile(spec);
  if (!renderer) fuzz::fail("a checked template does not compile", source);
  Recipient r;
  r.email = "a@example.com";
  r.data_json = R"({"name":"Bob","user":{"id":7},"flag":true,"empty":[]})";
  (void)(*renderer)->render(r);  // a render error fails that recipient only: an answer, not a crash
  return 0;
}
