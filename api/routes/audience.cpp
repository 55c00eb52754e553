// A job's `audience`: the tenant's profiles that match a filter, added to
// the job as users by user_id when it is run. The profiles are read a page
// at a time and the matches ingested in batches, so memory stays flat with
// the number of profiles; the ingest path counts and deduplicates them as it
// does any user, and the profiles give addresses and standings at dispatch
// (engine/profile_resolution.h).
#include <boost/json.hpp>
#include <fmt/format.h>

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

Result<json::object> audience_of(const json::value& audience) {
  if (!audience.is_object())
    return make_error(ErrorKind::invalid, "invalid_audience", "audience must be an object: {\"filter\": {...}}", "audience");
  const auto& o = audience.get_object();
  for (const auto& [k, v] : o) {
    std::string_view key = k;
    if (key == "segment_id" || key == "list_id")
      return unsupported(fmt::format("audience.{}: stored segments and lists are not built yet; give a filter", key),
                         "audience." + std::string(key));
    if (key != "filter")
      return make_error(ErrorKind::invalid, "invalid_audience", fmt::format("unknown member audience.{}", key),
                        "audience." + std::string(key));
  }
  auto* filter = o.if_contains("filter");
  if (!filter) return make_error(ErrorKind::invalid, "invalid_audience", "audience needs a filter", "audience.filter");
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
  auto spec = json::parse(job.spec.audience_json);
  auto filter = AudienceFilter::parse(spec.at("filter"), "audience.filter");
  if (!filter) return filter.error();  // checked at create: a stored spec changed under us
  const std::int64_t now = ctx.jobs.now_ms();
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
    }
    const bool last = page->size() < kProfilesPerPage;
    if (users.size() >= kUsersPerIngest || last)
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
  }
  return ctx.jobs.apply(tenant, job_id, JobAction::run, claim);
}

}  // namespace crier::api
