// What every CLI command shares: the connection options and the action the
// parsed command line chose. Each family file (jobs.cpp, templates.cpp,
// ingest.cpp, watch_command.cpp, send.cpp) declares its commands on the app
// and sets `action` from the chosen command's callback.
#pragma once

#include <functional>
#include <string>

#include "app/cli/api_client.h"
#include "app/cli/output.h"

namespace CLI {
class App;
}

namespace crier::cli {

struct CliState {
  CommonOptions common;
  std::function<int(ApiClient&)> action;  // set by the command chosen
};

// A command that talks to the server: adds --url, --api-key and --output,
// and makes `run` the action when the command is chosen.
CLI::App* add_command(CLI::App* parent, const std::string& name, const std::string& about, CliState& state,
                      std::function<int(ApiClient&)> run);

// The families.
void add_jobs_commands(CLI::App& app, CliState& state);
void add_templates_commands(CLI::App& app, CliState& state);
void add_ingest_command(CLI::App& app, CliState& state);
void add_watch_command(CLI::App& app, CliState& state);
void add_send_command(CLI::App& app, CliState& state);

}  // namespace crier::cli
