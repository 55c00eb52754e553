// Users streamed in the body (NDJSON, CSV): the server feeds the body to a
// BodyStream chunk by chunk as it arrives, and the stream commits every
// `stream_commit_users` users (each commit runs while the next users are
// parsed, and the answer waits for all of them); what was committed before
// a broken stream stays ingested.
#pragma once

#include <memory>
#include <string_view>

#include "api/context.h"
#include "api/http_types.h"
#include "engine/job.h"
#include "engine/result.h"

namespace crier::api {

// A request body consumed chunk by chunk (NDJSON, CSV).
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  virtual Result<void> feed(std::string_view chunk) = 0;
  // Under an Idempotency-Key: the stream's last commit (in finish) stores
  // its answer under `claim` in the same write (IngestAccumulator::
  // answer_under). Called before finish, by api/idempotency.cpp.
  virtual void answer_under(const IdempotencyClaim* claim) = 0;
  virtual ApiResponse finish() = 0;
  // The answer when the stream failed with `e` part-way.
  virtual ApiResponse abort(const Error& e) = 0;
};

bool is_streamed_type(std::string_view content_type);
// For a job already checked to belong to the tenant.
Result<std::unique_ptr<BodyStream>> open_user_stream(ApiContext& ctx, const ApiRequest& req, Job job);

}  // namespace crier::api
