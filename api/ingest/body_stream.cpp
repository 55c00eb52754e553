#include "api/ingest/body_stream.h"

#include "api/ingest/accumulator.h"
#include "api/ingest/csv_reader.h"
#include "api/ingest/ndjson_reader.h"

namespace crier::api {

bool is_streamed_type(std::string_view content_type) {
  return content_type == "application/x-ndjson" || content_type == "application/ndjson" ||
         content_type == "application/jsonl" || content_type == "application/x-jsonlines" ||
         content_type == "text/csv";
}

Result<std::unique_ptr<BodyStream>> open_user_stream(ApiContext& ctx, const ApiRequest& req, Job job) {
  if (auto r = require_created(job); !r) return r.error();
  if (req.content_type == "text/csv") return csv_user_stream(ctx, req, std::move(job));
  return ndjson_user_stream(ctx, req, std::move(job));
}

}  // namespace crier::api
