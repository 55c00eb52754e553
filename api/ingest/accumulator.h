// The commit accumulator every user reader feeds: it validates each user,
// queues it with its dedupe key, commits in chunks (JobService::ingest, or
// create_with for a job stored with its first users) and keeps the answer:
//   {"accepted", "duplicates", "rejected": [{"index","line"?,"code","message","field"?}],
//    "rejected_count", "rejected_truncated", "duplicated", "received_total", "unique_total"}
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <functional>
#include <future>
#include <optional>
#include <vector>

#include "api/context.h"
#include "api/http_types.h"
#include "engine/job.h"
#include "engine/job_store.h"
#include "engine/user_validation.h"

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

// What an ingest did, for callers that answer in their own shape (the
// vendors' APIs): the native summary and one outcome per user (when
// tracked).
struct IngestReport {
  boost::json::object summary;
  std::vector<UserOutcome> users;
  Job job;  // as it stands after the commit
  // False when an all_or_nothing batch was refused: nothing was written (not
  // even the job); `users` says which were refused or duplicated.
  bool stored = true;
};

// The answer a request makes of its ingest's report.
using RenderAnswer = std::function<ApiResponse(const IngestReport&)>;

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
  // An ingest under an Idempotency-Key (`claim`; null: none): commit()'s
  // write stores the key's answer, `render` of the report after it, in the
  // same batch, so a retry after a crash replays that answer instead of
  // ingesting again (its users would count as duplicates). A create stores
  // its claim instead (create_on_commit). Streams: only commit() (the last
  // commit) carries it; commits behind are the broken stream's case.
  void answer_under(const IdempotencyClaim* claim, RenderAnswer render);
  bool refused() const { return refused_; }
  const Job& job() const { return job_; }
  const std::vector<UserOutcome>& outcomes() const { return tally_.outcomes; }

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
  boost::json::object summary() const { return summary_of(tally_); }
  IngestReport report() const { return report_of(tally_); }
  // An error answer that also says what was committed before the error
  // (after the commit in flight has settled).
  ApiResponse error(const Error& e, const ApiRequest& req);

 private:
  // What the answer counts, as commits add to it.
  struct Tally {
    std::int64_t accepted = 0, duplicates = 0, rejected = 0;
    boost::json::array duplicated;
    std::vector<UserOutcome> outcomes;
    std::optional<JobCounters> counters;
  };
  // Adds a commit of the users at `indexes` (and `rejects` refused users).
  void count_commit(Tally& t, const IngestCommit& c, const std::vector<std::size_t>& indexes,
                    std::int64_t rejects) const;
  static UserOutcome& outcome(Tally& t, std::size_t index);
  boost::json::object summary_of(const Tally& t) const;
  IngestReport report_of(const Tally& t) const;
  // all_or_nothing: whether every queued user may be stored; marks the
  // duplicates within the batch otherwise.
  bool whole_batch_acceptable();

  ApiContext& ctx_;
  Job job_;
  UserRules rules_;  // bare user_ids when the tenant keeps profiles
  std::vector<IngestEntry> entries_;
  std::vector<std::size_t> entry_indexes_;  // the user index of each entry
  std::int64_t uncommitted_rejects_ = 0;
  std::size_t seen_ = 0;
  Tally tally_;
  boost::json::array rejected_list_;
  bool tracking_ = false;
  bool creating_ = false, run_ = false, all_or_nothing_ = false, refused_ = false;
  const IdempotencyClaim* claim_ = nullptr;
  const IdempotencyClaim* answer_claim_ = nullptr;
  RenderAnswer render_answer_;
  std::future<Result<IngestCommit>> in_flight_;
  std::int64_t in_flight_rejects_ = 0;
  std::vector<std::size_t> in_flight_indexes_;
};

// Users can be added only while the job is CREATED: the job, or 409
// invalid_state_transition naming its status.
Result<Job> require_created(const Job& job);

}  // namespace crier::api
