// `crier templates put|get|list|delete`: the tenant's stored content
// (/v1/templates), which `crier send --template ID` and jobs refer to.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <memory>

#include "app/cli/command.h"
#include "app/cli/job_spec.h"
#include "app/cli/listing.h"

namespace crier::cli {

namespace json = boost::json;

namespace {

std::string template_path(const std::string& id) { return "/v1/templates/" + path_segment(id); }

std::string text(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : "-";
}

// "email,sms (+2 locales)"
std::string channels_of(const json::object& t) {
  std::string out;
  std::size_t locales = 0;
  if (auto* c = t.if_contains("content"); c && c->is_object())
    for (const auto& [key, value] : c->as_object()) {
      if (key == "locales") {
        if (value.is_object()) locales = value.as_object().size();
        continue;
      }
      if (!out.empty()) out += ',';
      out += key;
    }
  if (locales) out += fmt::format(" (+{} locale{})", locales, locales == 1 ? "" : "s");
  return out;
}

int show_template(const Reply& reply, const CliState& state, const char* verb) {
  if (!reply.ok()) return report_failure(reply, state.common.connection);
  auto v = reply.json();
  if (!v.is_object()) return report_input_error("the server's answer is not a JSON object");
  if (state.common.mode() == OutputMode::json) {
    print_json(v);
  } else if (*verb) {
    fmt::print("{} template {}: {}\n", verb, text(v.as_object(), "template_id"), channels_of(v.as_object()));
  } else {
    const auto& t = v.as_object();
    fmt::print("template {}: {}  (updated {})\n", text(t, "template_id"), channels_of(t), text(t, "updated_at"));
    if (auto* c = t.if_contains("content")) fmt::print("{}\n", json::serialize(*c));
  }
  return exit_code::ok;
}

}  // namespace

void add_templates_commands(CLI::App& app, CliState& state) {
  auto* templates = app.add_subcommand("templates", "Store and read reusable content (crier templates --help)");
  templates->require_subcommand(1);
  {
    auto id = std::make_shared<std::string>();
    auto content = std::make_shared<std::string>();
    auto* cmd = add_command(
        templates, "put", "Create or replace a template from a Content JSON (see docs/api.md#content)", state,
        [&state, id, content](ApiClient& api) {
          auto v = json_argument(*content, "CONTENT");
          if (!v) return report_input_error(v.error().message);
          // A file may hold the Content itself or the whole body {"content": ...}.
          json::object body;
          if (v->is_object() && v->as_object().size() == 1 && v->as_object().contains("content"))
            body = std::move(v->as_object());
          else
            body["content"] = std::move(*v);
          auto reply = api.call("PUT", template_path(*id), json::serialize(body));
          return show_template(reply, state, reply.status == 201 ? "created" : "replaced");
        });
    cmd->add_option("ID", *id, "template id: 1-128 of A-Z a-z 0-9 . _ -")->required();
    cmd->add_option("CONTENT", *content, "the content: JSON text, or a file holding it (- = stdin)")->required();
  }
  {
    auto id = std::make_shared<std::string>();
    auto* cmd = add_command(templates, "get", "Show a template's content", state, [&state, id](ApiClient& api) {
      return show_template(api.get(template_path(*id)), state, "");
    });
    cmd->add_option("ID", *id, "template id")->required();
  }
  {
    auto all = std::make_shared<bool>(false);
    auto limit = std::make_shared<int>(0);
    auto* cmd = add_command(templates, "list", "List templates in id order", state, [&state, all, limit](ApiClient& api) {
      return list_pages(api, state, "/v1/templates", "templates", "", *limit, *all,
                        fmt::format("{:<32} {:<36} {}", "TEMPLATE", "CHANNELS", "UPDATED"), [](const json::object& t) {
                          fmt::print("{:<32} {:<36} {}\n", text(t, "template_id"), channels_of(t), text(t, "updated_at"));
                        });
    });
    cmd->add_option("--limit", *limit, "page size, 1-1000 (default 100)")->check(CLI::Range(1, 1000));
    cmd->add_flag("--all", *all, "follow the cursor to the last page");
  }
  {
    auto id = std::make_shared<std::string>();
    auto* cmd = add_command(templates, "delete", "Delete a template (jobs made from it keep their copy)", state,
                            [&state, id](ApiClient& api) {
                              auto reply = api.call("DELETE", template_path(*id));
                              if (!reply.ok()) return report_failure(reply, state.common.connection);
                              if (state.common.mode() == OutputMode::json)
                                print_json(reply.json());
                              else
                                fmt::print("deleted template {}\n", *id);
                              return exit_code::ok;
                            });
    cmd->add_option("ID", *id, "template id")->required();
  }
}

}  // namespace crier::cli
