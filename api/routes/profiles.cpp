// PUT/PATCH/GET/DELETE /v1/profiles/{user_id}, GET /v1/profiles: a tenant's
// stored recipients (engine/profile.h). PUT replaces, PATCH is a JSON Merge
// Patch (RFC 7396) of the profile's JSON, both in one read-change-write step
// of the store, so concurrent changes are not lost.
#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/cursor.h"
#include "api/routes/routes.h"
#include "engine/profile_json.h"

namespace crier::api {
namespace json = boost::json;
namespace {

Error profile_not_found(std::string_view user_id) {
  return make_error(ErrorKind::not_found, "profile_not_found", fmt::format("no profile '{}'", user_id));
}

Error profiles_unavailable() {
  return make_error(ErrorKind::unavailable, "profiles_unavailable", "this server keeps no profiles");
}

// The body as one JSON object. Deeper than the default 32 levels, so that an
// attributes object nested too deep meets the profile's own limit and error.
Result<json::object> object_body(const ApiRequest& req, bool merge_patch) {
  if (!(merge_patch && req.content_type == "application/merge-patch+json"))
    if (auto r = expect_json(req); !r) return r.error();
  json::parse_options options;
  options.max_depth = 2 * kMaxUserDataDepth;
  boost::system::error_code ec;
  json::value body = json::parse(req.body, ec, {}, options);
  if (ec)
    return make_error(ErrorKind::invalid, "invalid_json", "the body is not valid JSON (UTF-8): " + ec.message());
  if (!body.is_object()) return make_error(ErrorKind::invalid, "invalid_profile", "the body must be a JSON object");
  return std::move(body.as_object());
}

void stamp(Profile& p, const std::optional<Profile>& old, std::int64_t now) {
  p.updated_at = now;
  p.created_at = old ? old->created_at : now;
}

}  // namespace

ApiResponse put_profile(ApiContext& ctx, const ApiRequest& req, std::string_view user_id) {
  if (!ctx.profiles) return fail(profiles_unavailable(), req);
  if (auto r = check_profile_user_id(user_id); !r) return fail(r.error(), req);
  auto body = object_body(req, false);
  if (!body) return fail(body.error(), req);
  const std::int64_t now = ctx.jobs.now_ms();
  auto stored = ctx.profiles->upsert_profile(req.tenant, user_id, [&](const std::optional<Profile>& old) {
    auto p = profile_from_json(*body, req.tenant, user_id);
    if (p) stamp(*p, old, now);
    return p;
  });
  if (!stored) return fail(stored.error(), req);
  return json_response(stored->created ? 201 : 200, profile_to_json(stored->profile));
}

Result<ProfileStore::Upserted> merge_into_profile(ApiContext& ctx, std::string_view tenant, std::string_view user_id,
                                                  const json::object& patch, bool create) {
  if (!ctx.profiles) return profiles_unavailable();
  if (auto r = check_profile_user_id(user_id); !r) return r.error();
  const std::int64_t now = ctx.jobs.now_ms();
  return ctx.profiles->upsert_profile(tenant, user_id, [&](const std::optional<Profile>& old) -> Result<Profile> {
    if (!old && !create) return profile_not_found(user_id);
    return merge_into(old, patch, tenant, user_id, now);
  });
}

ApiResponse patch_profile(ApiContext& ctx, const ApiRequest& req, std::string_view user_id) {
  if (!ctx.profiles) return fail(profiles_unavailable(), req);
  if (auto r = check_profile_user_id(user_id); !r) return fail(r.error(), req);
  auto patch = object_body(req, true);
  if (!patch) return fail(patch.error(), req);
  auto stored = merge_into_profile(ctx, req.tenant, user_id, *patch, false);
  if (!stored) return fail(stored.error(), req);
  return json_response(200, profile_to_json(stored->profile));
}

ApiResponse get_profile(ApiContext& ctx, const ApiRequest& req, std::string_view user_id) {
  if (!ctx.profiles) return fail(profiles_unavailable(), req);
  if (auto r = check_profile_user_id(user_id); !r) return fail(r.error(), req);
  auto p = ctx.profiles->find_profile(req.tenant, user_id);
  if (!p) return fail(p.error(), req);
  if (!*p) return fail(profile_not_found(user_id), req);
  return json_response(200, profile_to_json(**p));
}

ApiResponse delete_profile(ApiContext& ctx, const ApiRequest& req, std::string_view user_id) {
  if (!ctx.profiles) return fail(profiles_unavailable(), req);
  if (auto r = check_profile_user_id(user_id); !r) return fail(r.error(), req);
  auto deleted = ctx.profiles->delete_profile(req.tenant, user_id);
  if (!deleted) return fail(deleted.error(), req);
  if (!*deleted) return fail(profile_not_found(user_id), req);
  return json_response(200, json::object{{"user_id", user_id}, {"deleted", true}});
}

ApiResponse list_profiles(ApiContext& ctx, const ApiRequest& req) {
  if (!ctx.profiles) return fail(profiles_unavailable(), req);
  auto limit = page_limit(ctx, req);
  if (!limit) return fail(limit.error(), req);
  const std::string scope = "profiles:" + req.tenant;
  auto after = cursor_after(req, scope);
  if (!after) return fail(after.error(), req);
  // One more than asked tells whether there is a next page.
  auto list = ctx.profiles->list_profiles(req.tenant, *after, *limit + 1);
  if (!list) return fail(list.error(), req);
  const bool more = list->size() > *limit;
  if (more) list->pop_back();
  json::array items;
  for (const auto& p : *list) items.push_back(profile_to_json(p));
  json::object paging{{"more", more},
                      {"cursor", more ? json::value(encode_bytes_cursor(scope, list->back().user_id))
                                      : json::value(nullptr)}};
  return json_response(200, json::object{{"profiles", std::move(items)}, {"paging", std::move(paging)}});
}

}  // namespace crier::api
