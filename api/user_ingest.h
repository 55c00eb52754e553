// Ingesting users: parsing each user into engine RawUser views, validating,
// deduplicating and committing in chunks, and the answer:
//   {"accepted", "duplicates", "rejected": [{"index","line"?,"code","message","field"?}],
//    "rejected_count", "rejected_truncated", "received_total", "unique_total"}
// JSON bodies are committed in one write batch (all or nothing); NDJSON and
// CSV bodies stream: every `stream_commit_users` users are committed as they
// arrive (each commit runs while the next users are parsed, and the answer
// waits for all of them), and what was committed before a broken stream
// stays ingested.
#pragma once

#include <boost/json/array.hpp>

#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/context.h"
#include "api/http_types.h"
#include "engine/job.h"
#include "engine/job_store.h"

namespace crier::api {

// What became of one user of a buffered batch, for answers that speak per
// user (the vendors' APIs).
struct UserOutcome {
  // withheld: valid, but not stored because its batch was refused whole
  // (CreateWith::all_or_nothing).
  enum class Kind : std::uint8_t { rejected, accepted, duplicate, withheld };
  Kind kind = Kind::rejected;
  std::uint64_t seq = 0;  // accepted: the recipient's seq (its message id)
  Error error;            // rejected: why
};

class IngestAccumulator {
 public:
  IngestAccumulator(ApiContext& ctx, Job job);

  // Keeps one UserOutcome per user from here on (buffered batches only:
  // memory grows with the batch).
  void track_outcomes() { tracking_ = true; }
  // The job is not stored yet: the first commit stores it with its users in
  // one write (JobService::create_with), started when `run`.
  // With `all_or_nothing`, one user refused or duplicated within the batch
  // refuses the batch: nothing is written (refused() tells).
  // An Idempotency-Key's claim is stored in that write.
  void create_on_commit(bool run, bool all_or_nothing = false, const IdempotencyClaim* claim = nullptr) {
    creating_ = true;
    run_ = run;
    all_or_nothing_ = all_or_nothing;
    claim_ = claim;
  }
  bool refused() const { return refused_; }
  const Job& job() const { return job_; }
  const std::vector<UserOutcome>& outcomes() const { return outcomes_; }

  // One user: validated and queued, or recorded as rejected.
  // `line` is the 1-based line or row in the body (0: not applicable).
  void add(std::size_t index, std::size_t line, const Result<RawUser>& user);
  void reject(std::size_t index, std::size_t line, const Error& e);
  std::size_t queued() const { return entries_.size(); }
  std::size_t seen() const { return seen_; }
  // Commits what is queued (and the rejects counted since the last commit),
  // after the commit in flight, if any.
  Result<void> commit();
  // Streams: starts committing what is queued on a thread of its own and
  // returns, so the next users are parsed meanwhile. Waits first for the
  // commit before it (a job's commits stay in order, and each one's dedupe
  // lookups see the one before) and returns that one's error, if any.
  Result<void> commit_behind();
  // Waits for the commit in flight, if any, and counts what it committed.
  Result<void> settle();
  // The answer after the last commit.
  boost::json::object summary() const;
  // An error answer that also says what was committed before the error
  // (after the commit in flight has settled).
  ApiResponse error(const Error& e, const ApiRequest& req);

 private:
  ApiContext& ctx_;
  Job job_;
  void note_committed(const IngestCommit& c, const std::vector<std::size_t>& indexes);
  UserOutcome& outcome(std::size_t index);

  std::vector<IngestEntry> entries_;
  std::vector<std::size_t> entry_indexes_;  // the user index of each entry
  std::int64_t uncommitted_rejects_ = 0;
  std::size_t seen_ = 0;
  std::int64_t accepted_ = 0, duplicates_ = 0, rejected_ = 0;
  boost::json::array rejected_list_;
  boost::json::array duplicated_list_;
  bool tracking_ = false;
  bool creating_ = false, run_ = false, all_or_nothing_ = false, refused_ = false;
  const IdempotencyClaim* claim_ = nullptr;
  // all_or_nothing: whether every queued user may be stored; marks the
  // duplicates within the batch otherwise.
  bool whole_batch_acceptable();
  std::vector<UserOutcome> outcomes_;
  std::optional<JobCounters> counters_;
  std::future<Result<IngestCommit>> in_flight_;
  std::int64_t in_flight_rejects_ = 0;
  std::vector<std::size_t> in_flight_indexes_;
};

// A request body consumed chunk by chunk (NDJSON, CSV).
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  virtual Result<void> feed(std::string_view chunk) = 0;
  virtual ApiResponse finish() = 0;
  // The answer when the stream failed with `e` part-way.
  virtual ApiResponse abort(const Error& e) = 0;
};

bool is_streamed_type(std::string_view content_type);
// For a job already checked to belong to the tenant.
Result<std::unique_ptr<BodyStream>> open_user_stream(ApiContext& ctx, const ApiRequest& req, Job job);

// The buffered JSON form, {"users": [...]}.
ApiResponse ingest_json_body(ApiContext& ctx, const ApiRequest& req, Job job);

// The same for callers that answer in their own shape (the vendors' APIs):
// `body` is a native {"users": [...]} document; its capacity may hold
// simdjson's padding (it is copied otherwise). One write batch, all or
// nothing. The report has the native summary and one outcome per user.
struct IngestReport {
  boost::json::object summary;
  std::vector<UserOutcome> users;
  Job job;  // as it stands after the commit
  // False when an all_or_nothing batch was refused: nothing was written (not
  // even the job); `users` says which were refused or duplicated.
  bool stored = true;
};
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
Result<IngestReport> ingest_json_users(ApiContext& ctx, const Job& job, const std::string& body,
                                       std::optional<CreateWith> create = std::nullopt);

}  // namespace crier::api
