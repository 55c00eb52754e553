#include "api/ingest/accumulator.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <set>
#include <utility>

#include "api/errors.h"
#include "api/idempotency.h"

namespace crier::api {
namespace json = boost::json;

IngestAccumulator::IngestAccumulator(ApiContext& ctx, Job job) : ctx_(ctx), job_(std::move(job)) {
  // Asked once per request (remembered by the store): a tenant that keeps
  // profiles may name users by user_id alone. An unreadable answer allows
  // it: dispatch fails such a user `missing_address` if no profile is found.
  if (ctx_.profiles) {
    auto any = ctx_.profiles->may_have_profiles(job_.tenant);
    rules_.bare_user_ids = !any || *any;
  }
}

UserOutcome& IngestAccumulator::outcome(Tally& t, std::size_t index) {
  if (t.outcomes.size() <= index) t.outcomes.resize(index + 1);
  return t.outcomes[index];
}

void IngestAccumulator::reject(std::size_t index, std::size_t line, const Error& e) {
  ++seen_;
  ++uncommitted_rejects_;
  if (tracking_) outcome(tally_, index) = UserOutcome{UserOutcome::Kind::rejected, 0, e};
  if (rejected_list_.size() >= ctx_.limits.max_rejected_listed) return;
  json::object r{{"index", index}, {"code", e.code}, {"message", e.message}};
  if (line) r["line"] = line;
  if (!e.field.empty()) r["field"] = e.field;
  rejected_list_.push_back(std::move(r));
}

void IngestAccumulator::add(std::size_t index, std::size_t line, const Result<RawUser>& user) {
  if (!user) return reject(index, line, user.error());
  auto r = validate_user(*user, job_.spec, rules_);
  if (!r) return reject(index, line, r.error());
  ++seen_;
  auto key = dedupe_key(*r, job_.spec);
  entries_.push_back({std::move(*r), key});
  entry_indexes_.push_back(index);
}

void IngestAccumulator::count_commit(Tally& t, const IngestCommit& c, const std::vector<std::size_t>& indexes,
                                     std::int64_t rejects) const {
  t.accepted += c.accepted;
  t.duplicates += c.duplicates;
  t.rejected += rejects;
  t.counters = c.counters;
  auto seq = static_cast<std::uint64_t>(c.counters[Counter::unique] - c.accepted);
  std::size_t d = 0;
  for (std::size_t i = 0; i < indexes.size(); ++i) {
    bool dup = d < c.duplicate_entries.size() && c.duplicate_entries[d] == i;
    if (dup) {
      ++d;
      if (t.duplicated.size() < ctx_.limits.max_rejected_listed) t.duplicated.push_back(json::object{{"index", indexes[i]}});
    }
    if (tracking_)
      outcome(t, indexes[i]) = UserOutcome{dup ? UserOutcome::Kind::duplicate : UserOutcome::Kind::accepted, dup ? 0 : seq, {}};
    if (!dup) ++seq;
  }
}

bool IngestAccumulator::whole_batch_acceptable() {
  std::vector<bool> duplicate(entries_.size(), false);
  bool acceptable = uncommitted_rejects_ == 0;
  std::set<DedupeKey> seen;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (!entries_[i].dedupe || seen.insert(*entries_[i].dedupe).second) continue;
    duplicate[i] = true;
    acceptable = false;
  }
  if (acceptable) return true;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (duplicate[i]) {
      ++tally_.duplicates;
      if (tally_.duplicated.size() < ctx_.limits.max_rejected_listed)
        tally_.duplicated.push_back(json::object{{"index", entry_indexes_[i]}});
    }
    if (tracking_)
      outcome(tally_, entry_indexes_[i]) =
          UserOutcome{duplicate[i] ? UserOutcome::Kind::duplicate : UserOutcome::Kind::withheld, 0, {}};
  }
  return false;
}

Result<void> IngestAccumulator::commit() {
  if (auto r = settle(); !r) return r;
  // Under an Idempotency-Key the last commit writes even with nothing
  // queued: its batch carries the key's answer.
  if (entries_.empty() && uncommitted_rejects_ == 0 && !creating_ && !answer_claim_) return {};
  if (creating_ && all_or_nothing_ && !whole_batch_acceptable()) {
    refused_ = true;
    creating_ = false;
    tally_.rejected += std::exchange(uncommitted_rejects_, 0);
    entries_.clear();
    entry_indexes_.clear();
    return {};
  }
  // The key's answer is what this commit makes of the tally: worked out on
  // a copy while the store builds its batch (after its dedupe look-ups),
  // kept only if the batch is written.
  std::optional<Tally> after;
  AnswerOfCommit answer;
  if (answer_claim_ && !creating_)
    answer = [&](const IngestCommit& c) {
      after = tally_;
      count_commit(*after, c, entry_indexes_, uncommitted_rejects_);
      return answer_record(*answer_claim_, render_answer_(report_of(*after)));
    };
  auto c = creating_ ? ctx_.jobs.create_with(job_, entries_, uncommitted_rejects_, run_, true, claim_)
                     : ctx_.jobs.ingest(job_, entries_, uncommitted_rejects_, true, answer);
  creating_ = false;
  if (!c) return c.error();
  if (after) tally_ = std::move(*after);
  else count_commit(tally_, *c, entry_indexes_, uncommitted_rejects_);
  entries_.clear();
  entry_indexes_.clear();
  uncommitted_rejects_ = 0;
  return {};
}

Result<void> IngestAccumulator::commit_behind() {
  if (auto r = settle(); !r) return r;
  if (entries_.empty() && uncommitted_rejects_ == 0) return {};
  in_flight_rejects_ = std::exchange(uncommitted_rejects_, 0);
  in_flight_indexes_ = std::exchange(entry_indexes_, {});
  // The task owns its batch and a copy of the job; the future's destructor
  // waits for it, so it never outlives the service it calls.
  in_flight_ = std::async(std::launch::async, [&jobs = ctx_.jobs, job = job_, entries = std::move(entries_),
                                               rejects = in_flight_rejects_]() -> Result<IngestCommit> {
    try {
      return jobs.ingest(job, entries, rejects, true);
    } catch (const std::exception& e) {
      return make_error(ErrorKind::internal, "ingest_failed", e.what());
    }
  });
  entries_ = {};
  return {};
}

Result<void> IngestAccumulator::settle() {
  if (!in_flight_.valid()) return {};
  auto c = in_flight_.get();  // valid() is false from here on
  if (!c) return c.error();
  count_commit(tally_, *c, in_flight_indexes_, in_flight_rejects_);
  return {};
}

json::object IngestAccumulator::summary_of(const Tally& t) const {
  JobCounters c = t.counters.value_or(JobCounters{});
  if (!t.counters)  // nothing was committed: show the job as it stands
    if (auto now = ctx_.store.counters(job_.key)) c = *now;
  return json::object{{"accepted", t.accepted},
                      {"duplicates", t.duplicates},
                      {"rejected", rejected_list_},
                      {"rejected_count", t.rejected},
                      {"rejected_truncated", static_cast<std::size_t>(t.rejected) > rejected_list_.size()},
                      {"duplicated", t.duplicated},
                      {"received_total", c[Counter::received]},
                      {"unique_total", c[Counter::unique]}};
}

IngestReport IngestAccumulator::report_of(const Tally& t) const {
  IngestReport r{summary_of(t), t.outcomes, job_};
  r.stored = !refused_;
  return r;
}

void IngestAccumulator::answer_under(const IdempotencyClaim* claim, RenderAnswer render) {
  answer_claim_ = claim;
  render_answer_ = std::move(render);
}

ApiResponse IngestAccumulator::error(const Error& e, const ApiRequest& req) {
  // A commit still in flight counts if it succeeds; if it failed, `e` is
  // the error answered either way.
  (void)settle();
  ApiResponse r = error_response(e, req.request_id);
  boost::system::error_code ec;
  auto parsed = json::parse(r.body, ec);
  if (ec || !parsed.is_object()) return r;  // never: error bodies are made UTF-8
  auto& body = parsed.as_object();
  body["ingested"] = summary();
  r.body = json::serialize(body);
  return r;
}

Result<Job> require_created(const Job& job) {
  if (job.status == JobStatus::created) return job;
  auto e = make_error(ErrorKind::conflict, "invalid_state_transition",
                      fmt::format("users can be added only while the job is CREATED; it is {}", to_string(job.status)));
  e.status = std::string(to_string(job.status));
  return e;
}

}  // namespace crier::api
