#include "app/cli/commands.h"

#include <CLI/CLI.hpp>

#include "app/cli/command.h"
#include "app/cli/interrupt.h"

namespace crier::cli {

CLI::App* add_command(CLI::App* parent, const std::string& name, const std::string& about, CliState& state,
                      std::function<int(ApiClient&)> run) {
  auto* cmd = parent->add_subcommand(name, about);
  cmd->add_option("--url", state.common.connection.url, "server URL, e.g. http://127.0.0.1:8080 (default: $CRIER_URL)");
  cmd->add_option("--api-key", state.common.connection.api_key, "API key (default: $CRIER_API_KEY)");
  cmd->add_option("--output,-o", state.common.output, "text (for people, default) or json (for scripts)")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->footer(
      "Exit codes: 0 done; 1 the server refused (error: <code>: <message> on stderr); 2 bad local input; "
      "3 server unreachable; 4/5/6 a watched job ended PARTIAL/FAILED/CANCELLED; 130 Ctrl-C. See docs/cli.md.");
  cmd->callback([&state, run = std::move(run)] { state.action = run; });
  return cmd;
}

ClientCommands::ClientCommands(CLI::App& app) : state_(std::make_unique<CliState>()) {
  add_jobs_commands(app, *state_);
  add_templates_commands(app, *state_);
  add_ingest_command(app, *state_);
  add_watch_command(app, *state_);
  add_send_command(app, *state_);
}

ClientCommands::~ClientCommands() = default;

bool ClientCommands::chosen() const { return static_cast<bool>(state_->action); }

int ClientCommands::run() {
  catch_interrupts();
  if (!resolve_connection(state_->common)) return exit_code::bad_input;
  ApiClient api(state_->common.connection);
  return state_->action(api);
}

}  // namespace crier::cli
