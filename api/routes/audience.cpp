// A job's `audience`: the tenant's profiles that match a filter (or a stored
// segment's), or the members of a list, added to the job as users by user_id
// when it is run. Profiles (or members) are read a page at a time and
// ingested in batches, so memory stays flat with their number; the ingest
// path counts and deduplicates them as it does any user, and the profiles
// give addresses and standings at dispatch (engine/profile_resolution.h).
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

// A stored profile as the filter sees it; what it asks of lists comes from
// the page's memberships, read before (one MultiGet per list per page).
class ProfileSubject final : public AudienceSubject {
 public:
  struct PageMemberships {
    std::vector<std::string_view> list_ids;  // the filter's, in order
    std::vector<std::vector<bool>> members;  // per list, per profile of the page
  };
  ProfileSubject(const Profile& p, const PageMemberships& lists, std::size_t index)
      : p_(p), lists_(lists), index_(index) {}
  const json::value* attribute(std::string_view name) const override { return p_.attributes.if_contains(name); }
  SubscriptionState subscription(Channel channel) const override { return p_.subscription(channel); }
  bool in_list(std::string_view list_id) const override {
    for (std::size_t i = 0; i < lists_.list_ids.size(); ++i)
      if (lists_.list_ids[i] == list_id) return lists_.members[i][index_];
    return false;
  }

 private:
  const Profile& p_;
  const PageMemberships& lists_;
  std::size_t index_;
};

// Every list a filter names must exist (422 unknown_list otherwise), at
// create as at the run: a typo in a list id is an error, not an empty list.
Result<void> check_lists(ApiContext& ctx, std::string_view tenant, const AudienceFilter& filter,
                         std::string_view field) {
  for (const auto& id : filter.list_ids()) {
    auto found = find_list(ctx, tenant, id, field);
    if (!found) return found.error();
  }
  return {};
}

}  // namespace

Result<json::object> audience_of(ApiContext& ctx, std::string_view tenant, const json::value& audience) {
  if (!audience.is_object())
    return make_error(ErrorKind::invalid, "invalid_audience",
                      "audience must be an object: {\"filter\": {...}}, {\"segment_id\": \"...\"} or {\"list_id\": \"...\"}",
                      "audience");
  const auto& o = audience.get_object();
  for (const auto& [k, v] : o) {
    std::string_view key = k;
    if (key != "filter" && key != "segment_id" && key != "list_id")
      return make_error(ErrorKind::invalid, "invalid_audience", fmt::format("unknown member audience.{}", key),
                        "audience." + std::string(key));
  }
  if (o.size() != 1)
    return make_error(ErrorKind::invalid, "invalid_audience", "audience is one of a filter, a segment_id or a list_id",
                      "audience");
  // A segment or a list is named, not copied: as it is when the job is run.
  if (auto* segment = o.if_contains("segment_id")) {
    if (!segment->is_string())
      return make_error(ErrorKind::invalid, "invalid_segment_id", "audience.segment_id must be a string",
                        "audience.segment_id");
    auto found = find_segment(ctx, tenant, segment->get_string(), "audience.segment_id");
    if (!found) return found.error();
    return json::object{{"segment_id", segment->get_string()}};
  }
  if (auto* list = o.if_contains("list_id")) {
    if (!list->is_string())
      return make_error(ErrorKind::invalid, "invalid_list_id", "audience.list_id must be a string", "audience.list_id");
    auto found = find_list(ctx, tenant, list->get_string(), "audience.list_id");
    if (!found) return found.error();
    return json::object{{"list_id", list->get_string()}};
  }
  auto* filter = o.if_contains("filter");
  auto parsed = AudienceFilter::parse(*filter, "audience.filter");
  if (!parsed) return parsed.error();
  if (auto r = check_lists(ctx, tenant, *parsed, "audience.filter"); !r) return r.error();
  return json::object{{"filter", *filter}};
}

Result<void> check_filter_lists(ApiContext& ctx, std::string_view tenant, const AudienceFilter& filter,
                                std::string_view field) {
  return check_lists(ctx, tenant, filter, field);
}

namespace {

// Adds users {"user_id"} to the job in batches of `per_ingest`, through the
// ordinary ingest path (counted, deduplicated).
class AudienceIngest {
 public:
  // `data`: every user's own data (Courier's list recipients carry some).
  AudienceIngest(ApiContext& ctx, const Job& job, const json::object* data = nullptr)
      : ctx_(ctx), job_(job), data_(data),
        per_ingest_(std::max<std::size_t>(1, std::min(kUsersPerIngest, ctx.limits.max_users_per_batch))) {}
  Result<void> add(std::string_view user_id) {
    json::object user{{"user_id", user_id}};
    if (data_) user["data"] = *data_;
    users_.push_back(std::move(user));
    if (users_.size() >= per_ingest_) return flush();
    return {};
  }
  Result<void> flush() {
    if (users_.empty()) return {};
    auto report = ingest_json_users(ctx_, job_, json::serialize(json::object{{"users", std::move(users_)}}));
    users_ = json::array();
    if (!report) return report.error();
    if (const auto* n = report->summary.if_contains("accepted"); n && n->is_int64()) accepted_ += n->get_int64();
    return {};
  }
  std::int64_t accepted() const { return accepted_; }

 private:
  ApiContext& ctx_;
  const Job& job_;
  const json::object* data_;
  std::size_t per_ingest_;
  json::array users_;
  std::int64_t accepted_ = 0;
};

}  // namespace

Result<AudienceAdded> add_list_members(ApiContext& ctx, const Job& job, std::string_view list_id,
                                       const json::object* data) {
  AudienceAdded added;
  if (!ctx.lists) return make_error(ErrorKind::unavailable, "lists_unavailable", "this server keeps no lists");
  AudienceIngest ingest(ctx, job, data);
  std::string after;
  for (;;) {
    auto page = ctx.lists->list_members(job.tenant, list_id, after, kProfilesPerPage);
    if (!page) return page.error();
    for (const auto& user : *page) {
      ++added.examined;
      ++added.matched;
      if (auto r = ingest.add(user); !r) return r.error();
    }
    if (page->size() < kProfilesPerPage) break;
    after = page->back();
  }
  if (auto r = ingest.flush(); !r) return r.error();
  added.accepted = ingest.accepted();
  return added;
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
  const json::value* list = o ? o->if_contains("list_id") : nullptr;
  if (list && list->is_string()) {
    // Deleted since the job was made: the run is refused, the job stays CREATED.
    auto found = find_list(ctx, job.tenant, list->get_string(), "audience.list_id");
    if (!found) return found.error();
    return add_list_members(ctx, job, found->id);
  }
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
  if (auto r = check_lists(ctx, job.tenant, *filter, "audience.filter"); !r) return r.error();
  const std::int64_t now = ctx.jobs.now_ms();
  AudienceIngest ingest(ctx, job);
  ProfileSubject::PageMemberships lists;
  for (const auto& id : filter->list_ids()) lists.list_ids.push_back(id);
  lists.members.resize(lists.list_ids.size());
  std::vector<std::string_view> page_ids;
  std::string after;
  for (;;) {
    auto page = ctx.profiles->list_profiles(job.tenant, after, kProfilesPerPage);
    if (!page) return page.error();
    if (!lists.list_ids.empty()) {
      page_ids.clear();
      for (const auto& p : *page) page_ids.push_back(p.user_id);
      for (std::size_t l = 0; l < lists.list_ids.size(); ++l) {
        auto members = ctx.lists->members_among(job.tenant, lists.list_ids[l], page_ids);
        if (!members) return members.error();
        lists.members[l] = std::move(*members);
      }
    }
    for (std::size_t i = 0; i < page->size(); ++i) {
      const Profile& p = (*page)[i];
      ++added.examined;
      if (!filter->matches(ProfileSubject(p, lists, i), now)) continue;
      ++added.matched;
      if (auto r = ingest.add(p.user_id); !r) return r.error();
    }
    if (page->size() < kProfilesPerPage) break;
    after = page->back().user_id;
  }
  if (auto r = ingest.flush(); !r) return r.error();
  added.accepted = ingest.accepted();
  return added;
}

Result<Job> run_job(ApiContext& ctx, std::string_view tenant, std::string_view job_id, const IdempotencyClaim* claim) {
  auto job = ctx.jobs.get(tenant, job_id);
  if (!job) return job.error();
  if (!job->spec.audience_json.empty() && job->status == JobStatus::created) {
    auto added = add_audience(ctx, *job);
    if (!added) return added.error();
    spdlog::info("job {}: audience added: {} of {} profiles or members read", job->id(), added->matched,
                 added->examined);
  }
  return ctx.jobs.apply(tenant, job_id, JobAction::run, claim);
}

}  // namespace crier::api
