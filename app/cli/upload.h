// Sending a users file to a job: batches of whole rows (user_file.h), one
// ingest request each, so memory stays one batch whatever the file's size
// and each request stays well inside the server's request deadline.
//
// Safe to repeat. Each batch carries an Idempotency-Key made of the job, the
// batch's first row and a hash of its bytes: a batch sent again (a retry
// after a lost answer, the same command run again within 24 h) is answered
// from the server's record and not ingested twice. A batch of at most
// `limits.stream_commit_users` users (10 000 by default, our default too) is
// one atomic commit, so a broken request leaves all of it or none of it.
// Resuming skips the rows the job has already received (its `received`
// counter), which is exact when the job's users all came from this file.
#pragma once

#include <boost/json/array.hpp>

#include <cstdint>
#include <string>

#include "app/cli/api_client.h"
#include "app/cli/output.h"
#include "app/cli/progress.h"
#include "app/cli/user_file.h"

namespace crier::cli {

struct UploadOptions {
  std::string file;
  std::string format;               // csv | ndjson; empty: from the extension
  std::uint64_t batch_rows = 10'000;
  bool resume = false;
  bool progress = false;            // draw a bar (stdout is a terminal, text output)
  bool plain_progress = false;      // print plain progress lines (text output, not a terminal)
};

struct UploadTotals {
  std::uint64_t rows = 0;          // users sent and answered
  std::uint64_t batches = 0;
  std::uint64_t bytes = 0;         // of the file, header included
  std::uint64_t skipped_rows = 0;  // --resume: rows the job had already received
  std::uint64_t accepted = 0, duplicates = 0, rejected_count = 0;
  // Batches the server had already ingested from an earlier run (same
  // Idempotency-Key): answered from its record, not ingested again, and not
  // counted in accepted/duplicates/rejected above.
  std::uint64_t replayed_batches = 0, replayed_rows = 0;
  std::uint64_t received_total = 0, unique_total = 0;  // the job's counters after the last batch
  boost::json::array rejected;     // {"line", "code", "message", "field"?}, the first 1 000
  double seconds = 0;
  bool interrupted = false;        // Ctrl-C: stopped after a whole batch
};

// Uploads the file. Returns an exit code: ok, or the failure's code after
// printing it (one line) and how far the upload got.
int upload_users(ApiClient& api, const std::string& job_id, const UploadOptions& options, UploadTotals& totals);

// The totals as JSON (for --output json).
boost::json::object totals_json(const std::string& job_id, const UploadOptions& options, const UploadTotals& totals);
// The totals for people: a summary line and the first rejected rows.
void print_totals(const std::string& job_id, const UploadOptions& options, const UploadTotals& totals);

// Progress as the output asks: a bar on a terminal, plain lines for text to
// a pipe, nothing for json (stdout is the script's).
void set_progress(UploadOptions& options, OutputMode mode);

}  // namespace crier::cli
