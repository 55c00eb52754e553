#include "app/cli/watch.h"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <memory>

#include "app/cli/command.h"
#include "app/cli/interrupt.h"
#include "app/cli/progress.h"

namespace crier::cli {

namespace json = boost::json;

bool is_final(const std::string& s) {
  return s == "COMPLETED" || s == "PARTIAL" || s == "FAILED" || s == "CANCELLED";
}

int final_status_code(const std::string& status, bool no_fail) {
  if (no_fail || status == "COMPLETED") return exit_code::ok;
  if (status == "PARTIAL") return exit_code::job_partial;
  if (status == "FAILED") return exit_code::job_failed;
  return exit_code::job_cancelled;
}

int watch_job(ApiClient& api, const std::string& job_id, const WatchOptions& options, OutputMode mode,
              json::object& final_view) {
  const bool text = mode == OutputMode::text;
  StatusLine line(text && stdout_is_terminal());
  const std::string path = "/v1/jobs/" + path_segment(job_id);
  const int interval_ms = static_cast<int>(options.interval * 1000);
  std::string last;
  if (line.terminal()) fmt::print("{}\n", job_id);  // the bar leaves the id out to fit the row
  for (;;) {
    auto reply = api.get(path);
    if (!reply.ok()) {
      line.finish();
      return report_failure(reply, api.connection());
    }
    auto v = reply.json();
    if (!v.is_object()) {
      line.finish();
      return report_input_error("the server's job view is not a JSON object");
    }
    final_view = std::move(v.as_object());
    auto status = final_view.contains("status") && final_view.at("status").is_string()
                      ? std::string(final_view.at("status").as_string())
                      : std::string();
    bool done = is_final(status);
    if (text) {
      auto now = describe_job(final_view, line.terminal());
      // Plain lines only when something changed, so a paused job does not fill a log.
      if (line.terminal() || now != last || done) line.update(now, done || last.empty());
      last = std::move(now);
    }
    if (done) break;
    if (sleep_unless_interrupted(interval_ms)) {
      line.finish();
      fmt::print(stderr,
                 "stopped watching; job {} is {} and carries on in the server.\n"
                 "  follow it again: crier watch {}   stop it: crier jobs pause {} (or cancel)\n",
                 job_id, status, job_id, job_id);
      return exit_code::interrupted;
    }
  }
  line.finish();
  auto status = std::string(final_view.at("status").as_string());
  if (mode == OutputMode::json && options.print_final) print_json(final_view);
  return final_status_code(status, options.no_fail);
}

}  // namespace crier::cli

// ---- `crier watch JOB` ------------------------------------------------------------

namespace crier::cli {

void add_watch_command(CLI::App& app, CliState& state) {
  auto job = std::make_shared<std::string>();
  auto o = std::make_shared<WatchOptions>();
  auto* cmd = add_command(&app, "watch",
                          "Follow a job until it ends; exit 0 when COMPLETED, 4 PARTIAL, 5 FAILED, 6 CANCELLED", state,
                          [&state, job, o](ApiClient& api) {
                            json::object final_view;
                            return watch_job(api, *job, *o, state.common.mode(), final_view);
                          });
  cmd->add_option("JOB", *job, "job id")->required();
  cmd->add_flag("--no-fail", o->no_fail, "exit 0 whatever the job's final status");
  cmd->add_option("--interval", o->interval, "seconds between polls (default 0.5)")->check(CLI::Range(0.05, 60.0));
}

}  // namespace crier::cli
