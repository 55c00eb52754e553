// Users in a buffered JSON body, {"users": [...]}: parsed with simdjson
// ondemand, committed in ONE write batch (all or nothing).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "api/context.h"
#include "api/http_types.h"
#include "api/ingest/accumulator.h"
#include "engine/job.h"
#include "engine/job_store.h"

namespace crier::api {

// The buffered JSON form, {"users": [...]}.
ApiResponse ingest_json_body(ApiContext& ctx, const ApiRequest& req, Job job);

// The same for callers that answer in their own shape (the vendors' APIs):
// `body` is a native {"users": [...]} document; its capacity may hold
// simdjson's padding (it is copied otherwise). One write batch, all or
// nothing. The report has the native summary and one outcome per user
// (IngestReport, accumulator.h).
// With `create`, `job` is a prepared one (JobService::prepare), stored with
// the users in one atomic write and, with `create->run`, started.
struct CreateWith {
  bool run = false;
  // One user refused or duplicated within the batch refuses the whole batch,
  // job included. (A new job holds nothing yet, so the batch's own
  // duplicates are all there can be.)
  bool all_or_nothing = false;
  // The request's Idempotency-Key claim (ApiRequest::idempotency), stored
  // in the create's write.
  const IdempotencyClaim* claim = nullptr;
};
// The error for a batch refused whole: 400 users_refused, with how many.
Error users_refused(const IngestReport& report);
// An ingest (not a create) under an Idempotency-Key: the answer `render`
// makes of the report is stored under `claim` in the ingest's own write
// (IngestAccumulator::answer_under).
struct AnswerUnder {
  const IdempotencyClaim* claim = nullptr;
  RenderAnswer render;
};
Result<IngestReport> ingest_json_users(ApiContext& ctx, const Job& job, const std::string& body,
                                       std::optional<CreateWith> create = std::nullopt, AnswerUnder answer = {});

}  // namespace crier::api
