// Paged listings (jobs, a job's users, templates): the server answers
// {"<items>":[...],"paging":{"more","cursor"}}; the CLI prints one page, or
// every page with --all, following the cursor as docs/api.md says. Text
// output is a table; json output is one item per line (NDJSON), so a
// listing of a million users streams through `jq` without being held.
#pragma once

#include <boost/json/fwd.hpp>

#include <functional>
#include <string>

#include "app/cli/command.h"

namespace crier::cli {

int list_pages(ApiClient& api, const CliState& state, const std::string& path, const char* items,
               const std::string& status, int limit, bool all, const std::string& header,
               const std::function<void(const boost::json::object&)>& row);

}  // namespace crier::cli
