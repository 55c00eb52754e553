// `crier jobs create|get|list|run|pause|resume|cancel|users`: one command per
// endpoint of /v1/jobs, the server's answer shown as a line or a table for
// people, or as its JSON (listings: one object per line) for scripts.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <map>
#include <memory>

#include "app/cli/command.h"
#include "app/cli/job_spec.h"
#include "app/cli/listing.h"
#include "app/cli/progress.h"
#include "app/cli/watch.h"

namespace crier::cli {

namespace json = boost::json;

namespace {

std::string text(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return "-";
  return v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
}

std::string job_path(const std::string& id) { return "/v1/jobs/" + path_segment(id); }

// One job for people: its progress line, then when things happened.
void print_job(const json::object& job) {
  fmt::print("{}\n", describe_job(job, false));
  fmt::print("  created {}  started {}  finished {}\n", text(job, "created_at"), text(job, "started_at"),
             text(job, "finished_at"));
}

// A job answer: the view, or the failure's one line.
int show_job(const Reply& reply, const CliState& state) {
  if (!reply.ok()) return report_failure(reply, state.common.connection);
  auto v = reply.json();
  if (!v.is_object()) return report_input_error("the server's answer is not a JSON object");
  if (state.common.mode() == OutputMode::json)
    print_json(v);
  else
    print_job(v.as_object());
  return exit_code::ok;
}

std::string channel_of(const json::object& job) {
  if (auto* c = job.if_contains("channel"); c && c->is_string()) return std::string(c->as_string());
  std::string out;
  if (auto* r = job.if_contains("routing"); r && r->is_object())
    if (auto* cs = r->as_object().if_contains("channels"); cs && cs->is_array())
      for (const auto& c : cs->as_array())
        if (c.is_string()) {
          if (!out.empty()) out += '>';
          out += c.as_string();
        }
  return out.empty() ? "-" : out;
}

void job_row(const json::object& job) {
  fmt::print("{:<31} {:<10} {:<14} {:>10} {:>10} {:>8}  {}\n", text(job, "job_id"), text(job, "status"),
             channel_of(job), with_commas(job_counter(job, "unique")),
             with_commas(job_counter(job, "sent") + job_counter(job, "delivered")),
             with_commas(job_counter(job, "failed")), text(job, "created_at"));
}

std::string address_of(const json::object& user) {
  for (const char* key : {"email", "phone", "push_token", "webhook_url"})
    if (auto* v = user.if_contains(key); v && v->is_string()) return std::string(v->as_string());
  return "-";
}

void user_row(const json::object& user) {
  std::string error = "-";
  if (auto* e = user.if_contains("error"); e && e->is_object()) error = text(e->as_object(), "code");
  fmt::print("{:>8} {:<20} {:<32} {:<10} {:>8}  {}\n", text(user, "seq"), text(user, "user_id"), address_of(user),
             text(user, "status"), text(user, "attempts"), error);
}

struct ListingFlags {
  std::string status;
  int limit = 0;
  bool all = false;
};

void add_listing_flags(CLI::App* cmd, ListingFlags& f, const char* what) {
  cmd->add_option("--status", f.status, fmt::format("only {} in this status", what));
  cmd->add_option("--limit", f.limit, "page size, 1-1000 (default: the server's, 100)")->check(CLI::Range(1, 1000));
  cmd->add_flag("--all", f.all, "follow the cursor to the last page");
}

struct ActionFlags {
  bool watch = false;
  WatchOptions watch_options;
};

int job_action(ApiClient& api, const CliState& state, const std::string& id, const char* action, const ActionFlags& f) {
  auto reply = api.call("POST", job_path(id) + "/" + action);
  if (!f.watch || !reply.ok()) return show_job(reply, state);
  if (state.common.mode() == OutputMode::text && !stdout_is_terminal())
    fmt::print("{}: {}\n", id, text(reply.object(), "status"));
  json::object final_view;
  return watch_job(api, id, f.watch_options, state.common.mode(), final_view);
}

}  // namespace

void add_jobs_commands(CLI::App& app, CliState& state) {
  auto* jobs = app.add_subcommand("jobs", "Create, inspect and steer jobs on a running server (crier jobs --help)");
  jobs->require_subcommand(1);

  {
    auto spec = std::make_shared<JobSpecOptions>();
    auto key = std::make_shared<std::string>();
    auto* cmd = add_command(jobs, "create", "Create a job (CREATED): then ingest users and run it", state,
                            [&state, spec, key](ApiClient& api) {
                              auto body = build_job_spec(*spec);
                              if (!body) return report_input_error(body.error().message);
                              std::vector<std::pair<std::string, std::string>> headers;
                              if (!key->empty()) headers.emplace_back("Idempotency-Key", *key);
                              return show_job(api.call("POST", "/v1/jobs", json::serialize(*body), "application/json", headers),
                                              state);
                            });
    add_job_spec_options(cmd, *spec);
    cmd->add_option("--idempotency-key", *key, "send the create again safely: the same key gets the first answer");
  }
  {
    auto id = std::make_shared<std::string>();
    auto* cmd = add_command(jobs, "get", "Show a job: status, counters, rate, ETA", state,
                            [&state, id](ApiClient& api) { return show_job(api.get(job_path(*id)), state); });
    cmd->add_option("JOB", *id, "job id")->required();
  }
  {
    auto f = std::make_shared<ListingFlags>();
    auto* cmd = add_command(jobs, "list", "List jobs, newest first", state, [&state, f](ApiClient& api) {
      return list_pages(api, state, "/v1/jobs", "jobs", f->status, f->limit, f->all,
                        fmt::format("{:<31} {:<10} {:<14} {:>10} {:>10} {:>8}  {}", "JOB", "STATUS", "CHANNEL", "USERS",
                                    "SENT", "FAILED", "CREATED"),
                        job_row);
    });
    add_listing_flags(cmd, *f, "jobs");
  }
  for (const char* action : {"run", "pause", "resume", "cancel"}) {
    auto id = std::make_shared<std::string>();
    auto f = std::make_shared<ActionFlags>();
    static const std::map<std::string, std::string> about = {
        {"run", "Start a CREATED job (PROCESSING, or SCHEDULED until its schedule_at)"},
        {"pause", "Pause a PROCESSING job"},
        {"resume", "Resume a PAUSED job where it stopped"},
        {"cancel", "Cancel a job: its unsent recipients become CANCELLED"}};
    auto* cmd = add_command(jobs, action, about.at(action), state, [&state, id, f, action](ApiClient& api) {
      return job_action(api, state, *id, action, *f);
    });
    cmd->add_option("JOB", *id, "job id")->required();
    if (std::string_view(action) == "run" || std::string_view(action) == "resume") {
      cmd->add_flag("--watch", f->watch, "then follow the job until it ends (as crier watch)");
      cmd->add_flag("--no-fail", f->watch_options.no_fail, "with --watch: exit 0 even when the job ends PARTIAL, FAILED or CANCELLED");
      cmd->add_option("--interval", f->watch_options.interval, "with --watch: seconds between polls (default 0.5)")
          ->check(CLI::Range(0.05, 60.0));
    }
  }
  {
    auto id = std::make_shared<std::string>();
    auto f = std::make_shared<ListingFlags>();
    auto* cmd = add_command(jobs, "users", "List a job's recipients in ingest order, with their states", state,
                            [&state, id, f](ApiClient& api) {
                              return list_pages(api, state, job_path(*id) + "/users", "users", f->status, f->limit, f->all,
                                                fmt::format("{:>8} {:<20} {:<32} {:<10} {:>8}  {}", "SEQ", "USER_ID",
                                                            "ADDRESS", "STATUS", "ATTEMPTS", "ERROR"),
                                                user_row);
                            });
    cmd->add_option("JOB", *id, "job id")->required();
    add_listing_flags(cmd, *f, "recipients");
  }
}

}  // namespace crier::cli
