// Users streamed as NDJSON (JSON Lines): one user object per line, blank
// lines skipped, a line over `max_line_bytes` refused (413 line_too_long).
#pragma once

#include <memory>

#include "api/context.h"
#include "api/http_types.h"
#include "api/ingest/body_stream.h"
#include "engine/job.h"

namespace crier::api {

// For a CREATED job already checked to belong to the tenant.
std::unique_ptr<BodyStream> ndjson_user_stream(ApiContext& ctx, const ApiRequest& req, Job job);

}  // namespace crier::api
