// A job's `audience`: the tenant's profiles that match a filter, added to
// the job as users by user_id when it is run. The profiles are read a page
// at a time and the matches ingested in batches, so memory stays flat with
// the number of profiles; the ingest path counts and deduplicates them as it
// does any user, and the profiles give addresses and standings at dispatch
// (engine/profile_resolution.h).
#include <boost/json.hpp>
#include <algorithm>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/ingest/accumulator.h"
#include "api/ingest/json_reader.h"
#include "api/routes/routes.h"
#include "engine/audience_filter.h"

namespace crier::api {
namespace json = boost::json;
namespace {

constexpr std::size_t kProfilesPerPage = 1000;
constexpr std::size_t kUsersPerIngest = 10'000;

Error unsupported(std::string message, std::string field) {
  return make_error(ErrorKind::invalid, "unsupported_audience", std::move(message), std::move(field));
}

// A stored profile as the filter sees it. Lists are not built yet, so a
// filter naming one is refused at create (audience_of) and none is asked.
class ProfileSubject final : public AudienceSubject {
 public:
  explicit ProfileSubject(const Profile& p) : p_(p) {}
  const json::value* attribute(std::string_view name) const override { return p_.attributes.if_contains(name); }
  SubscriptionState subscription(Channel channel) const override { return p_.subscription(channel); }
  bool in_list(std::string_view) const override { return false; }

 private:
  const Profile& p_;
};

}  // namespace

Result<json::object> audience_of(ApiContext& ctx, std::string_view tenant, const json::value& audience) {
  if (!audience.is_object())
    return make_error(ErrorKind::invalid, "invalid_audience",
                      "audience must be an object: {\"filter\": {...}} or {\"segment_id\": \"...\"}", "audience");
  const auto& o = audience.get_object();
  for (const auto& [k, v] : o) {
    std::string_view key = k;
    if (key == "list_id")
      return unsupported("audience.list_id: lists are not built yet; give a filter or a segment", "audience.list_id");
    if (key != "filter" && key != "segment_id")
      return make_error(ErrorKind::invalid, "invalid_audience", fmt::format("unknown member audience.{}", key),
                        "audience." + std::string(key));
  }
  if (o.size() != 1)
    return make_error(ErrorKind::invalid, "invalid_audience", "audience is either a filter or a segment_id", "audience");
  if (auto* segment = o.if_contains("segment_id")) {
    // Named, not copied: the segment as it is when the job is run decides.
    if (!segment->is_string())
      return make_error(ErrorKind::invalid, "invalid_segment_id", "audience.segment_id must be a string",
                        "audience.segment_id");
    auto found = find_segment(ctx, tenant, segment->get_string(), "audience.segment_id");
    if (!found) return found.error();
    return json::object{{"segment_id", segment->get_string()}};
  }
  auto* filter = o.if_contains("filter");
  auto parsed = AudienceFilter::parse(*filter, "audience.filter");
  if (!parsed) return parsed.error();
  if (!parsed->list_ids().empty())
    return unsupported("list_membership: lists are not built yet", "audience.filter");
  return json::object{{"filter", *filter}};
}

Result<AudienceAdded> add_audience(ApiContext& ctx, const Job& job) {
  AudienceAdded added;
  if (job.spec.audience_json.empty()) return added;
  if (!ctx.profiles) return make_error(ErrorKind::unavailable, "profiles_unavailable", "this server keeps no profiles");
  boost::system::error_code ec;
  auto spec = json::parse(job.spec.audience_json, ec);
  const json::object* o = ec ? nullptr : spec.if_object();
  const json::value* segment = o ? o->if_contains("segment_id") : nullptr;
  const json::value* stored_filter = o ? o->if_contains("filter") : nullptr;
  if (!(segment && segment->is_string()) && !stored_filter)
    return make_error(ErrorKind::internal, "storage_corrupt", "unreadable audience in the job record");
  json::value filter_json;
  if (segment && segment->is_string()) {
    // Deleted since the job was made: the run is refused, the job stays CREATED.
    auto found = find_segment(ctx, job.tenant, segment->get_string(), "audience.segment_id");
    if (!found) return found.error();
    filter_json = json::parse(found->filter_json, ec);
    if (ec) return make_error(ErrorKind::internal, "storage_corrupt", "unreadable segment record");
  } else {
    filter_json = *stored_filter;
  }
  auto filter = AudienceFilter::parse(filter_json, "audience.filter");
  if (!filter) return filter.error();  // checked when stored: a record changed under us
  const std::int64_t now = ctx.jobs.now_ms();
  const std::size_t per_ingest = std::max<std::size_t>(1, std::min(kUsersPerIngest, ctx.limits.max_users_per_batch));
  json::array users;
  auto flush = [&]() -> Result<void> {
    if (users.empty()) return {};
    auto report = ingest_json_users(ctx, job, json::serialize(json::object{{"users", std::move(users)}}));
    users = json::array();
    if (!report) return report.error();
    return {};
  };
  std::string after;
  for (;;) {
    auto page = ctx.profiles->list_profiles(job.tenant, after, kProfilesPerPage);
    if (!page) return page.error();
    for (const auto& p : *page) {
      ++added.examined;
      if (!filter->matches(ProfileSubject(p), now)) continue;
      ++added.matched;
      users.push_back(json::object{{"user_id", p.user_id}});
      if (users.size() >= per_ingest)
        if (auto r = flush(); !r) return r.error();
    }
    const bool last = page->size() < kProfilesPerPage;
    if (last)
      if (auto r = flush(); !r) return r.error();
    if (last) break;
    after = page->back().user_id;
  }
  return added;
}

Result<Job> run_job(ApiContext& ctx, std::string_view tenant, std::string_view job_id, const IdempotencyClaim* claim) {
  auto job = ctx.jobs.get(tenant, job_id);
  if (!job) return job.error();
  if (!job->spec.audience_json.empty() && job->status == JobStatus::created) {
    auto added = add_audience(ctx, *job);
    if (!added) return added.error();
    spdlog::info("job {}: audience added: {} of {} profiles matched", job->id(), added->matched, added->examined);
  }
  return ctx.jobs.apply(tenant, job_id, JobAction::run, claim);
}

}  // namespace crier::api
