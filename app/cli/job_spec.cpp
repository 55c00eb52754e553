#include "app/cli/job_spec.h"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace crier::cli {

namespace json = boost::json;

namespace {
Error input_error(std::string message) { return make_error(ErrorKind::invalid, "invalid_input", std::move(message)); }
}  // namespace

void add_job_spec_options(CLI::App* command, JobSpecOptions& o) {
  command->add_option("--spec", o.spec, "a whole job spec: JSON text or a file (- = stdin); the flags below override its members");
  command->add_option("--channel", o.channel, "email, sms, push, webhook or whatsapp");
  command->add_option("--template", o.template_id, "id of a stored template (crier templates put)");
  command->add_option("--content", o.content, "inline content instead of a template: JSON text or a file");
  command->add_option("--data", o.data, "template variable for every user: KEY=VALUE (a string) or KEY:=JSON; "
                                        "a.b=... nests; repeatable")->allow_extra_args(false);
  command->add_option("--rate", o.rate, "messages per second for this job (default: unlimited)");
  command->add_option("--schedule-at", o.schedule_at, "RFC 3339 time to start at, e.g. 2030-03-01T09:00:00Z");
  command->add_option("--expires-at", o.expires_at, "RFC 3339 time after which unsent recipients are skipped");
  command->add_option("--provider", o.provider, "a configured provider (default: the channel's)");
  command->add_option("--webhook-url", o.webhook_url, "destination of a webhook job");
  command->add_option("--callback-url", o.callback_url, "where the server posts this job's events");
  command->add_option("--locale", o.locale, "the job's default locale (BCP 47)");
  command->add_option("--correlation-id", o.correlation_id, "copied onto every message");
}

Result<json::value> json_argument(const std::string& text, const char* what) {
  std::string body;
  if (!text.empty() && text.front() == '{') {
    body = text;
  } else if (text == "-") {
    body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(text, std::ios::binary);
    if (!in) return input_error(fmt::format("{}: cannot read {}", what, text));
    std::ostringstream s;
    s << in.rdbuf();
    body = s.str();
  }
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec) return input_error(fmt::format("{}: not valid JSON ({})", what, ec.message()));
  return v;
}

Result<void> add_data_item(json::object& data, const std::string& item) {
  auto eq = item.find('=');
  if (eq == std::string::npos || eq == 0)
    return input_error(fmt::format("--data '{}': want KEY=VALUE or KEY:=JSON", item));
  bool raw = item[eq - 1] == ':';
  std::string key = item.substr(0, raw ? eq - 1 : eq);
  std::string text = item.substr(eq + 1);
  json::value value;
  if (raw) {
    boost::system::error_code ec;
    value = json::parse(text, ec);
    if (ec) return input_error(fmt::format("--data '{}': the value after := is not JSON", item));
  } else {
    value = json::string(text);
  }
  // a.b.c: objects on the way, created or reused.
  json::object* at = &data;
  std::size_t start = 0;
  for (;;) {
    auto dot = key.find('.', start);
    auto part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) return input_error(fmt::format("--data '{}': empty key", item));
    if (dot == std::string::npos) {
      (*at)[part] = std::move(value);
      return {};
    }
    auto& next = (*at)[part];
    if (!next.is_object()) next = json::object();
    at = &next.as_object();
    start = dot + 1;
  }
}

Result<json::object> build_job_spec(const JobSpecOptions& o) {
  json::object spec;
  if (!o.spec.empty()) {
    auto v = json_argument(o.spec, "--spec");
    if (!v) return v.error();
    if (!v->is_object()) return input_error("--spec: not a JSON object");
    spec = std::move(v->as_object());
  }
  auto set = [&](const char* key, const std::string& value) {
    if (!value.empty()) spec[key] = value;
  };
  set("channel", o.channel);
  set("template", o.template_id);
  set("provider", o.provider);
  set("locale", o.locale);
  set("webhook_url", o.webhook_url);
  set("callback_url", o.callback_url);
  set("correlation_id", o.correlation_id);
  set("schedule_at", o.schedule_at);
  set("expires_at", o.expires_at);
  if (!o.content.empty()) {
    auto v = json_argument(o.content, "--content");
    if (!v) return v.error();
    spec["content"] = std::move(*v);
  }
  if (o.rate) {
    // Whole rates as integers: the API echoes what it gets, and 500 reads better than 5E2.
    if (*o.rate == static_cast<double>(static_cast<std::int64_t>(*o.rate)))
      spec["rate_limit"] = static_cast<std::int64_t>(*o.rate);
    else
      spec["rate_limit"] = *o.rate;
  }
  if (!o.data.empty()) {
    json::object data;
    if (auto* d = spec.if_contains("data"); d && d->is_object()) data = d->as_object();
    for (const auto& item : o.data)
      if (auto r = add_data_item(data, item); !r) return r.error();
    spec["data"] = std::move(data);
  }
  return spec;
}

}  // namespace crier::cli
