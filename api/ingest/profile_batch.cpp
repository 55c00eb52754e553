#include "api/ingest/profile_batch.h"

#include <boost/json.hpp>

#include <algorithm>

#include "api/errors.h"
#include "engine/profile_json.h"

namespace crier::api::ingest {
namespace json = boost::json;
namespace {

// A batch is one MultiGet and one synced write: a few thousand profiles
// share the sync, and the lock that keeps single PUTs waiting is held for
// one batch only. The byte bound keeps a batch of large lines (up to
// max_line_bytes each) from holding much memory.
constexpr std::size_t kMaxBatchProfiles = 5000;
constexpr std::size_t kMaxBatchBytes = 4u << 20;

}  // namespace

ProfileBatch::ProfileBatch(ApiContext& ctx, std::string tenant)
    : ctx_(ctx),
      tenant_(std::move(tenant)),
      max_batch_(std::max<std::size_t>(1, std::min(kMaxBatchProfiles, ctx.limits.stream_commit_users))) {}

void ProfileBatch::add(std::size_t index, std::size_t line, std::string user_id, json::object patch,
                       std::size_t bytes) {
  ++received_;
  queued_bytes_ += bytes;
  entries_.push_back({index, line, std::move(user_id), std::move(patch)});
}

void ProfileBatch::reject(std::size_t index, std::size_t line, const Error& e, std::string_view user_id) {
  ++received_;
  ++rejected_;
  if (rejected_list_.size() + pending_.size() < ctx_.limits.max_rejected_listed)
    pending_.push_back({index, line, std::string(user_id), e});
}

bool ProfileBatch::full() const { return entries_.size() >= max_batch_ || queued_bytes_ >= kMaxBatchBytes; }

Result<void> ProfileBatch::commit() {
  if (entries_.empty()) {
    list(pending_);
    return {};
  }
  std::vector<std::string_view> ids;
  ids.reserve(entries_.size());
  for (const auto& e : entries_) ids.push_back(e.user_id);
  const std::int64_t now = ctx_.jobs.now_ms();
  auto outcomes = ctx_.profiles->upsert_profiles(
      tenant_, ids, [&](std::size_t i, const std::optional<Profile>& current) {
        return merge_into(current, entries_[i].patch, tenant_, entries_[i].user_id, now);
      });
  if (!outcomes) return outcomes.error();  // nothing of the batch was written; its refusals stay pending
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const auto& o = (*outcomes)[i];
    if (o.error) {
      ++rejected_;
      if (rejected_list_.size() + pending_.size() < ctx_.limits.max_rejected_listed)
        pending_.push_back({entries_[i].index, entries_[i].line, entries_[i].user_id, *o.error});
    } else if (o.created) {
      ++created_;
    } else {
      ++updated_;
    }
  }
  entries_.clear();
  queued_bytes_ = 0;
  list(pending_);
  return {};
}

void ProfileBatch::list(std::vector<Refusal>& refusals) {
  std::stable_sort(refusals.begin(), refusals.end(),
                   [](const Refusal& a, const Refusal& b) { return a.index < b.index; });
  for (const auto& r : refusals) {
    if (rejected_list_.size() >= ctx_.limits.max_rejected_listed) break;
    json::object o{{"index", r.index}, {"line", r.line}};
    if (!r.user_id.empty()) o["user_id"] = r.user_id;
    o["code"] = r.error.code;
    o["message"] = r.error.message;
    if (!r.error.field.empty()) o["field"] = r.error.field;
    rejected_list_.push_back(std::move(o));
  }
  refusals.clear();
}

json::object ProfileBatch::summary() const {
  return json::object{{"received", received_},
                      {"created", created_},
                      {"updated", updated_},
                      {"rejected", rejected_list_},
                      {"rejected_count", rejected_},
                      {"rejected_truncated", static_cast<std::size_t>(rejected_) > rejected_list_.size()}};
}

ApiResponse ProfileBatch::error(const Error& e, const ApiRequest& req) const {
  ApiResponse r = error_response(e, req.request_id);
  boost::system::error_code ec;
  auto parsed = json::parse(r.body, ec);
  if (ec || !parsed.is_object()) return r;  // never: error bodies are made UTF-8
  parsed.as_object()["imported"] = summary();
  r.body = json::serialize(parsed);
  return r;
}

}  // namespace crier::api::ingest
