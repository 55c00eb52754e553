// A job spec (the body of POST /v1/jobs) from command-line flags, shared by
// `crier jobs create` and `crier send`. Flags cover the common fields;
// --spec takes any JSON spec and the flags then override its members.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

#include "engine/result.h"

namespace CLI {
class App;
}

namespace crier::cli {

struct JobSpecOptions {
  std::string spec;  // a JSON object, or the path of a file holding one
  std::string channel, template_id, content, provider, locale;
  std::string webhook_url, callback_url, correlation_id, schedule_at, expires_at;
  std::vector<std::string> data;  // k=v (a string) or k:=JSON; dotted keys nest
  std::optional<double> rate;
};

// Declares the flags on `command`.
void add_job_spec_options(CLI::App* command, JobSpecOptions& options);

// The spec to send. Errors (code invalid_input): unreadable --spec/--content,
// JSON that does not parse, a --data item that is neither k=v nor k:=JSON.
Result<boost::json::object> build_job_spec(const JobSpecOptions& options);

// `text` when it starts with '{' (inline JSON), else the contents of the file
// it names ("-": stdin), parsed. For --spec, --content and `templates put`.
Result<boost::json::value> json_argument(const std::string& text, const char* what);

// Adds one --data item to `data`: "a.b=v" sets {"a":{"b":"v"}}, "n:=3" sets {"n":3}.
Result<void> add_data_item(boost::json::object& data, const std::string& item);

}  // namespace crier::cli
