// `crier send`: the common campaign in one command. It creates the job,
// uploads the users file in idempotent batches, runs the job and, with
// --watch, follows it to the end. Each step is one of the API's, so a stop
// at any point leaves a job the other commands can finish; the command says
// which ones.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <memory>
#include <random>

#include "app/cli/command.h"
#include "app/cli/interrupt.h"
#include "app/cli/job_spec.h"
#include "app/cli/upload.h"
#include "app/cli/watch.h"

namespace crier::cli {

namespace json = boost::json;

namespace {

struct SendOptions {
  JobSpecOptions spec;
  std::string csv, ndjson;
  UploadOptions upload;
  bool watch = false;
  WatchOptions watch_options;
};

std::string random_key() {
  std::random_device rd;
  std::uniform_int_distribution<std::uint64_t> d;
  return fmt::format("crier-cli-send.{:016x}{:016x}", d(rd), d(rd));
}

std::string status_of(const json::object& job, const char* member = "status") {
  auto* s = job.if_contains(member);
  return s && s->is_string() ? std::string(s->as_string()) : std::string();
}

// A create that is safe to retry: a lost answer does not make a second job.
Reply create_job(ApiClient& api, const json::object& spec) {
  const auto key = random_key();
  Reply reply;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    reply = api.call("POST", "/v1/jobs", json::serialize(spec), "application/json", {{"Idempotency-Key", key}});
    if (reply.status != 0 && reply.status != 503) break;
    if (sleep_unless_interrupted(500 << attempt)) break;
  }
  return reply;
}

int send(ApiClient& api, const CliState& state, SendOptions& o) {
  const bool text = state.common.mode() == OutputMode::text;
  if (o.csv.empty() == o.ndjson.empty()) return report_input_error("give the users as exactly one of --csv FILE or --ndjson FILE");
  o.upload.file = o.csv.empty() ? o.ndjson : o.csv;
  o.upload.format = o.csv.empty() ? "ndjson" : "csv";
  set_progress(o.upload, state.common.mode());
  auto spec = build_job_spec(o.spec);
  if (!spec) return report_input_error(spec.error().message);

  auto created = create_job(api, *spec);
  if (!created.ok()) return report_failure(created, state.common.connection);
  auto job = created.object();
  const std::string id = status_of(job, "job_id");
  if (id.empty()) return report_input_error("the server's answer to the create has no job_id");
  if (text) fmt::print("created {}\n", id);

  UploadTotals totals;
  if (int code = upload_users(api, id, o.upload, totals); code != exit_code::ok) {
    fmt::print(stderr, "job {} is CREATED and sends nothing until it runs: crier jobs run {} --watch once its users are in "
                       "(or drop it: crier jobs cancel {})\n", id, id, id);
    return code;
  }
  if (text) print_totals(id, o.upload, totals);
  if (totals.interrupted) {
    fmt::print(stderr,
               "interrupted: job {} is CREATED and holds {} users; nothing is sent until it runs.\n"
               "  to finish: crier ingest {} {} --resume && crier jobs run {} --watch\n"
               "  to drop it: crier jobs cancel {}\n",
               id, with_commas(totals.unique_total), id, o.upload.file, id, id);
    if (!text) print_json(json::object{{"job_id", id}, {"ingest", totals_json(id, o.upload, totals)}, {"job", job}});
    return exit_code::interrupted;
  }

  auto ran = api.call("POST", "/v1/jobs/" + path_segment(id) + "/run");
  if (!ran.ok()) {
    int code = report_failure(ran, state.common.connection);
    fmt::print(stderr, "job {} holds its users and is not running: crier jobs run {}\n", id, id);
    return code;
  }
  job = ran.object();
  int code = exit_code::ok;
  if (o.watch) {
    if (text && !stdout_is_terminal()) fmt::print("{}: {}\n", id, status_of(job));
    o.watch_options.print_final = false;  // the summary below carries the final view
    code = watch_job(api, id, o.watch_options, state.common.mode(), job);
    if (code == exit_code::interrupted || (!text && code == exit_code::unreachable)) return code;
  } else if (text) {
    fmt::print("{}: {}  (follow it: crier watch {})\n", id, status_of(job), id);
  }
  if (!text) print_json(json::object{{"job_id", id}, {"ingest", totals_json(id, o.upload, totals)}, {"job", job}});
  return code;
}

}  // namespace

void add_send_command(CLI::App& app, CliState& state) {
  auto o = std::make_shared<SendOptions>();
  auto* cmd = add_command(&app, "send",
                          "Create a job, upload its users, run it (and --watch it): the common campaign in one command",
                          state, [&state, o](ApiClient& api) { return send(api, state, *o); });
  add_job_spec_options(cmd, o->spec);
  cmd->add_option("--csv", o->csv, "users as CSV with a header row (user_id,email,phone,...,data.<key>)");
  cmd->add_option("--ndjson", o->ndjson, "users as NDJSON, one JSON user per line");
  cmd->add_option("--batch-rows", o->upload.batch_rows, "users per ingest request (default 10000)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1'000'000}));
  cmd->add_flag("--watch", o->watch, "follow the job until it ends; exit 4 PARTIAL, 5 FAILED, 6 CANCELLED");
  cmd->add_flag("--no-fail", o->watch_options.no_fail, "with --watch: exit 0 whatever the job's final status");
  cmd->add_option("--interval", o->watch_options.interval, "with --watch: seconds between polls (default 0.5)")
      ->check(CLI::Range(0.05, 60.0));
}

}  // namespace crier::cli
