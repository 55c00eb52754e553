// Following a job until it ends: polls GET /v1/jobs/{id} (the API has no
// push channel) and shows each view, as a bar redrawn in place on a terminal
// or a plain line every few seconds otherwise. The exit code tells scripts
// how the job ended.
#pragma once

#include <boost/json/object.hpp>

#include <string>

#include "app/cli/api_client.h"
#include "app/cli/output.h"

namespace crier::cli {

struct WatchOptions {
  double interval = 0.5;  // seconds between polls
  bool no_fail = false;   // exit 0 whatever the final status
  bool print_final = true;  // json mode: print the final view (send prints its own summary)
};

// COMPLETED, PARTIAL, FAILED or CANCELLED.
bool is_final(const std::string& status);
// The exit code of a job that ended in `status` (ok for COMPLETED).
int final_status_code(const std::string& status, bool no_fail);

// Watches until the job is final. Text mode draws progress and a last
// summary line; json mode prints only the final view. Ctrl-C stops
// watching (the job goes on) and says how to come back to it.
// Returns the exit code; `final_view` receives the last view read.
int watch_job(ApiClient& api, const std::string& job_id, const WatchOptions& options, OutputMode mode,
              boost::json::object& final_view);

}  // namespace crier::cli
