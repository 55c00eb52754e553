// `crier ingest JOB FILE`: a CSV or NDJSON users file of any size into a
// CREATED job, in idempotent batches (upload.h), with progress.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>

#include "app/cli/command.h"
#include "app/cli/interrupt.h"
#include "app/cli/upload.h"

namespace crier::cli {

namespace {
void add_upload_flags(CLI::App* cmd, UploadOptions& o) {
  cmd->add_option("--format", o.format, "csv or ndjson (default: from the file's extension)")
      ->check(CLI::IsMember({"csv", "ndjson", "jsonl"}));
  cmd->add_option("--batch-rows", o.batch_rows, "users per request (default 10000: one server commit each)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1'000'000}));
}
}  // namespace

void add_ingest_command(CLI::App& app, CliState& state) {
  auto job = std::make_shared<std::string>();
  auto o = std::make_shared<UploadOptions>();
  auto* cmd = add_command(
      &app, "ingest", "Upload a CSV or NDJSON users file (any size, in batches) to a CREATED job", state,
      [&state, job, o](ApiClient& api) {
        set_progress(*o, state.common.mode());
        UploadTotals totals;
        int code = upload_users(api, *job, *o, totals);
        if (code != exit_code::ok) return code;
        if (state.common.mode() == OutputMode::json)
          print_json(totals_json(*job, *o, totals));
        else
          print_totals(*job, *o, totals);
        if (totals.interrupted) {
          fmt::print(stderr, "interrupted: the job holds every batch sent so far.\n"
                             "  to continue: crier ingest {} {} --resume\n", *job, o->file);
          return exit_code::interrupted;
        }
        return exit_code::ok;
      });
  cmd->add_option("JOB", *job, "job id (the job must be CREATED)")->required();
  cmd->add_option("FILE", o->file, "users file: .csv (header row) or .ndjson/.jsonl; - = stdin (with --format)")->required();
  add_upload_flags(cmd, *o);
  cmd->add_flag("--resume", o->resume, "skip the rows the job has already received (after an interrupted ingest of this file)");
}

}  // namespace crier::cli
