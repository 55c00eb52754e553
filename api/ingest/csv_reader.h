// Users streamed as CSV (libcsv): a header row naming the columns (user_id,
// email, phone, push_token, webhook_url, locale, data.<path>,
// preferences.<path>), then one user per row; a row over `max_line_bytes`
// refused (413 line_too_long), an open quoted field included.
#pragma once

#include <memory>

#include "api/context.h"
#include "api/http_types.h"
#include "api/ingest/body_stream.h"
#include "engine/job.h"

namespace crier::api {

// For a CREATED job already checked to belong to the tenant.
std::unique_ptr<BodyStream> csv_user_stream(ApiContext& ctx, const ApiRequest& req, Job job);

}  // namespace crier::api
