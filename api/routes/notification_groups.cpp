// PUT/GET/DELETE /v1/notification-groups/{id}, GET /v1/notification-groups
//
// A group is the part of a job spec that stays the same from job to job
// (engine/notification_group.h). It is validated by building the native job
// spec it describes and preparing the job (template found, every template
// compiles), exactly as POST /v1/jobs would, and stored normalised.
#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>

#include "api/cursor.h"
#include "api/routes/routes.h"
#include "api/views.h"
#include "engine/content_json.h"

namespace crier::api {
namespace json = boost::json;

bool is_resource_id(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

Result<void> check_group_id(std::string_view id, std::string_view field) {
  if (is_resource_id(id)) return {};
  return make_error(ErrorKind::invalid, "invalid_notification_group_id",
                    "a notification group id is 1 to 128 letters, digits, '-', '_' or '.'", std::string(field));
}

Error group_not_found(std::string_view id) {
  return make_error(ErrorKind::not_found, "notification_group_not_found", fmt::format("no notification group '{}'", id));
}

namespace {

// The group's members as the native spec has them once parsed: the channel
// in lower case, the webhook URL normalised, inline content in its full shape.
json::object normalised_members(const JobSpec& spec) {
  json::object o{{"channel", to_string(spec.channel)}};
  if (!spec.template_id.empty()) o["template"] = spec.template_id;
  else o["content"] = content_to_json(spec.content);
  if (!spec.provider.empty()) o["provider"] = spec.provider;
  if (!spec.webhook_url.empty()) o["webhook_url"] = spec.webhook_url;
  return o;
}

}  // namespace

ApiResponse put_notification_group(ApiContext& ctx, const ApiRequest& req, std::string_view id) {
  if (auto r = check_group_id(id); !r) return fail(r.error(), req);
  if (auto r = expect_json(req); !r) return fail(r.error(), req);
  boost::system::error_code ec;
  json::value body = req.body.empty() ? json::value(json::object()) : json::parse(req.body, ec);
  if (ec) return fail(make_error(ErrorKind::invalid, "invalid_json", "the body is not valid JSON (UTF-8): " + ec.message()), req);
  if (!body.is_object()) return fail(make_error(ErrorKind::invalid, "invalid_body", "the body must be a JSON object"), req);
  for (const auto& [k, v] : body.as_object())
    if (std::find(kGroupMembers.begin(), kGroupMembers.end(), std::string_view(k)) == kGroupMembers.end())
      return fail(make_error(ErrorKind::invalid, "unknown_field",
                             fmt::format("unknown field '{}'; a notification group has channel, template or content, "
                                         "provider and webhook_url",
                                         std::string_view(k)),
                             std::string(k)),
                  req);
  // The job this group would make, validated and prepared as POST /v1/jobs
  // does (nothing is stored).
  auto spec = job_spec_from(ctx, req.tenant, body.as_object());
  if (!spec) return fail(spec.error(), req);
  NotificationGroup g;
  g.spec_json = json::serialize(normalised_members(*spec));
  if (auto job = ctx.jobs.prepare(req.tenant, std::move(*spec)); !job) return fail(job.error(), req);

  auto existing = ctx.groups.find_group(req.tenant, id);
  if (!existing) return fail(existing.error(), req);
  g.tenant = req.tenant;
  g.id = id;
  g.updated_at = ctx.jobs.now_ms();
  g.created_at = *existing ? (*existing)->created_at : g.updated_at;
  if (auto r = ctx.groups.put_group(g); !r) return fail(r.error(), req);
  return json_response(*existing ? 200 : 201, group_view(g));
}

ApiResponse get_notification_group(ApiContext& ctx, const ApiRequest& req, std::string_view id) {
  if (auto r = check_group_id(id); !r) return fail(r.error(), req);
  auto g = ctx.groups.find_group(req.tenant, id);
  if (!g) return fail(g.error(), req);
  if (!*g) return fail(group_not_found(id), req);
  return json_response(200, group_view(**g));
}

ApiResponse delete_notification_group(ApiContext& ctx, const ApiRequest& req, std::string_view id) {
  if (auto r = check_group_id(id); !r) return fail(r.error(), req);
  auto deleted = ctx.groups.delete_group(req.tenant, id);
  if (!deleted) return fail(deleted.error(), req);
  if (!*deleted) return fail(group_not_found(id), req);
  return json_response(200, json::object{{"group_id", id}, {"deleted", true}});
}

ApiResponse list_notification_groups(ApiContext& ctx, const ApiRequest& req) {
  auto limit = page_limit(ctx, req);
  if (!limit) return fail(limit.error(), req);
  const std::string scope = "notification-groups:" + req.tenant;
  auto after = cursor_after(req, scope);
  if (!after) return fail(after.error(), req);
  // One more than asked tells whether there is a next page.
  auto list = ctx.groups.list_groups(req.tenant, *after, *limit + 1);
  if (!list) return fail(list.error(), req);
  bool more = list->size() > *limit;
  if (more) list->pop_back();
  json::array items;
  for (const auto& g : *list) items.push_back(group_view(g));
  json::object paging{{"more", more},
                      {"cursor", more ? json::value(encode_bytes_cursor(scope, list->back().id)) : json::value(nullptr)}};
  return json_response(200, json::object{{"notification_groups", std::move(items)}, {"paging", std::move(paging)}});
}

}  // namespace crier::api
