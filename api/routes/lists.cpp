// PUT/GET/DELETE /v1/lists/{id}, GET /v1/lists, and a list's members:
// POST /v1/lists/{id}/members (add many), POST /v1/lists/{id}/members/remove
// (remove many), PUT/GET/DELETE /v1/lists/{id}/members/{user_id} (one),
// GET /v1/lists/{id}/members (paged). A tenant's hand-kept lists of users
// (engine/user_list.h), which a job's audience ({"list_id"}), a filter's
// list_membership and Courier's to.list_id / to.list_pattern target.
#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/cursor.h"
#include "api/routes/routes.h"
#include "engine/profile_json.h"
#include "engine/time_format.h"

namespace crier::api {
namespace json = boost::json;
namespace {

Error lists_unavailable() {
  return make_error(ErrorKind::unavailable, "lists_unavailable", "this server keeps no lists");
}

Error list_not_found(std::string_view id) {
  return make_error(ErrorKind::not_found, "list_not_found", fmt::format("no list '{}'", id));
}

json::object list_view(const UserList& l) {
  return json::object{{"list_id", l.id},
                      {"name", l.name.empty() ? json::value(nullptr) : json::value(l.name)},
                      {"members", l.members},
                      {"created_at", format_rfc3339(l.created_at)},
                      {"updated_at", format_rfc3339(l.updated_at)}};
}

// The path's list, or the answer that says why not.
Result<UserList> existing_list(ApiContext& ctx, const ApiRequest& req, std::string_view id) {
  if (!ctx.lists) return lists_unavailable();
  if (auto r = check_list_id(id, "list_id"); !r) return r.error();
  auto l = ctx.lists->find_list(req.tenant, id);
  if (!l) return l.error();
  if (!*l) return list_not_found(id);
  return std::move(**l);
}

}  // namespace

Result<void> check_list_id(std::string_view id, std::string_view field) {
  if (is_resource_id(id)) return {};
  return make_error(ErrorKind::invalid, "invalid_list_id", "a list id is 1 to 128 of A-Z a-z 0-9 . _ -",
                    std::string(field));
}

Result<UserList> find_list(ApiContext& ctx, std::string_view tenant, std::string_view id, std::string_view field) {
  if (!ctx.lists) return lists_unavailable();
  if (auto r = check_list_id(id, field); !r) return r.error();
  auto l = ctx.lists->find_list(tenant, id);
  if (!l) return l.error();
  if (!*l)
    return make_error(ErrorKind::unprocessable, "unknown_list", fmt::format("no list '{}'", id), std::string(field));
  return std::move(**l);
}

ApiResponse put_list(ApiContext& ctx, const ApiRequest& req, std::string_view id) {
  if (!ctx.lists) return fail(lists_unavailable(), req);
  if (auto r = check_list_id(id, "list_id"); !r) return fail(r.error(), req);
  auto body = parse_json_body(req);
  if (!body) return fail(body.error(), req);
  const auto* o = body->if_object();
  if (!o) return fail(make_error(ErrorKind::invalid, "invalid_body", "the body must be a JSON object"), req);
  for (const auto& [k, v] : *o)
    if (k != "name" && k != "list_id")
      return fail(make_error(ErrorKind::invalid, "unknown_field", fmt::format("unknown field '{}'", std::string_view(k)),
                             std::string(k)),
                  req);
  if (const auto* same = o->if_contains("list_id");
      same && !same->is_null() && !(same->is_string() && same->get_string() == id))
    return fail(make_error(ErrorKind::invalid, "invalid_field", "the body's list_id differs from the path's", "list_id"),
                req);
  const std::int64_t now = ctx.jobs.now_ms();
  UserList l{req.tenant, std::string(id), {}, 0, now, now};
  if (const auto* name = o->if_contains("name"); name && !name->is_null()) {
    if (!name->is_string() || name->get_string().size() > kMaxUserListNameBytes)
      return fail(make_error(ErrorKind::invalid, "invalid_field", "name must be a string of at most 256 bytes", "name"),
                  req);
    l.name = name->get_string();
  }
  auto created = ctx.lists->put_list(l);
  if (!created) return fail(created.error(), req);
  auto stored = ctx.lists->find_list(req.tenant, id);
  if (!stored) return fail(stored.error(), req);
  if (!*stored) return fail(make_error(ErrorKind::internal, "storage_error", "the list vanished after its write"), req);
  return json_response(*created ? 201 : 200, list_view(**stored));
}

ApiResponse get_list(ApiContext& ctx, const ApiRequest& req, std::string_view id) {
  auto l = existing_list(ctx, req, id);
  if (!l) return fail(l.error(), req);
  return json_response(200, list_view(*l));
}

ApiResponse delete_list(ApiContext& ctx, const ApiRequest& req, std::string_view id) {
  if (!ctx.lists) return fail(lists_unavailable(), req);
  if (auto r = check_list_id(id, "list_id"); !r) return fail(r.error(), req);
  auto deleted = ctx.lists->delete_list(req.tenant, id);
  if (!deleted) return fail(deleted.error(), req);
  if (!*deleted) return fail(list_not_found(id), req);
  return json_response(200, json::object{{"list_id", id}, {"deleted", true}});
}

ApiResponse list_lists(ApiContext& ctx, const ApiRequest& req) {
  if (!ctx.lists) return fail(lists_unavailable(), req);
  auto limit = page_limit(ctx, req);
  if (!limit) return fail(limit.error(), req);
  const std::string scope = "lists:" + req.tenant;
  auto after = cursor_after(req, scope);
  if (!after) return fail(after.error(), req);
  auto page = ctx.lists->list_lists(req.tenant, *after, *limit + 1);
  if (!page) return fail(page.error(), req);
  const bool more = page->size() > *limit;
  if (more) page->pop_back();
  json::array items;
  for (const auto& l : *page) items.push_back(list_view(l));
  json::object paging{{"more", more},
                      {"cursor", more ? json::value(encode_bytes_cursor(scope, page->back().id)) : json::value(nullptr)}};
  return json_response(200, json::object{{"lists", std::move(items)}, {"paging", std::move(paging)}});
}

// {"user_ids": [...]}: every id checked on its own (a refused one is listed
// as ingest lists a refused user, the others apply), then all of them in
// one atomic synced write with the list's count.
ApiResponse change_members(ApiContext& ctx, const ApiRequest& req, std::string_view id, bool adding) {
  if (!ctx.lists) return fail(lists_unavailable(), req);
  if (auto r = check_list_id(id, "list_id"); !r) return fail(r.error(), req);
  auto body = parse_json_body(req);
  if (!body) return fail(body.error(), req);
  const auto* o = body->if_object();
  if (!o) return fail(make_error(ErrorKind::invalid, "invalid_body", "the body must be a JSON object"), req);
  for (const auto& [k, v] : *o)
    if (k != "user_ids")
      return fail(make_error(ErrorKind::invalid, "unknown_field", fmt::format("unknown field '{}'", std::string_view(k)),
                             std::string(k)),
                  req);
  const auto* ids = o->if_contains("user_ids");
  if (!ids || !ids->is_array())
    return fail(make_error(ErrorKind::invalid, "missing_field", "user_ids is required (an array of strings)", "user_ids"),
                req);
  const auto& arr = ids->get_array();
  if (arr.size() > ctx.limits.max_users_per_batch)
    return fail(make_error(ErrorKind::too_large, "too_many_users",
                           fmt::format("at most {} user_ids per request", ctx.limits.max_users_per_batch), "user_ids"),
                req);
  std::vector<std::string_view> valid;
  valid.reserve(arr.size());
  json::array rejected;
  std::int64_t rejected_count = 0;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    Error e;
    if (!arr[i].is_string()) {
      e = make_error(ErrorKind::invalid, "invalid_user_id", "each user_id must be a string", "user_id");
    } else if (auto r = check_profile_user_id(arr[i].get_string()); !r) {
      e = r.error();
    } else {
      valid.push_back(arr[i].get_string());
      continue;
    }
    ++rejected_count;
    if (rejected.size() < ctx.limits.max_rejected_listed) {
      json::object entry{{"index", i}, {"code", e.code}, {"message", e.message}};
      if (!e.field.empty()) entry["field"] = e.field;
      rejected.push_back(std::move(entry));
    }
  }
  auto changed = adding ? ctx.lists->add_members(req.tenant, id, valid) : ctx.lists->remove_members(req.tenant, id, valid);
  if (!changed) return fail(changed.error(), req);
  if (!*changed) return fail(list_not_found(id), req);
  const bool truncated = rejected_count > static_cast<std::int64_t>(rejected.size());
  return json_response(200, json::object{{"list_id", id},
                                         {adding ? "added" : "removed", (*changed)->changed},
                                         {"unchanged", (*changed)->unchanged},
                                         {"rejected", std::move(rejected)},
                                         {"rejected_count", rejected_count},
                                         {"rejected_truncated", truncated},
                                         {"members", (*changed)->members}});
}

// One member: PUT adds (201 when new, 200 when it was one), GET asks, DELETE
// removes (404 member_not_found when it was not one).
ApiResponse one_member(ApiContext& ctx, const ApiRequest& req, std::string_view id, std::string_view user_id) {
  if (!ctx.lists) return fail(lists_unavailable(), req);
  if (auto r = check_list_id(id, "list_id"); !r) return fail(r.error(), req);
  if (auto r = check_profile_user_id(user_id); !r) return fail(r.error(), req);
  const std::string_view users[] = {user_id};
  if (req.method == "GET") {
    auto l = existing_list(ctx, req, id);
    if (!l) return fail(l.error(), req);
    auto among = ctx.lists->members_among(req.tenant, id, users);
    if (!among) return fail(among.error(), req);
    if (!(*among)[0])
      return fail(make_error(ErrorKind::not_found, "member_not_found",
                             fmt::format("'{}' is not a member of list '{}'", user_id, id)),
                  req);
    return json_response(200, json::object{{"list_id", id}, {"user_id", user_id}, {"member", true}});
  }
  const bool adding = req.method == "PUT";
  auto changed = adding ? ctx.lists->add_members(req.tenant, id, users) : ctx.lists->remove_members(req.tenant, id, users);
  if (!changed) return fail(changed.error(), req);
  if (!*changed) return fail(list_not_found(id), req);
  if (!adding && (*changed)->changed == 0)
    return fail(make_error(ErrorKind::not_found, "member_not_found",
                           fmt::format("'{}' is not a member of list '{}'", user_id, id)),
                req);
  json::object out{{"list_id", id}, {"user_id", user_id}, {"member", adding}, {"members", (*changed)->members}};
  return json_response(adding && (*changed)->changed ? 201 : 200, out);
}

ApiResponse list_members(ApiContext& ctx, const ApiRequest& req, std::string_view id) {
  auto l = existing_list(ctx, req, id);
  if (!l) return fail(l.error(), req);
  auto limit = page_limit(ctx, req);
  if (!limit) return fail(limit.error(), req);
  const std::string scope = fmt::format("list_members:{}:{}", req.tenant, id);
  auto after = cursor_after(req, scope);
  if (!after) return fail(after.error(), req);
  auto page = ctx.lists->list_members(req.tenant, id, *after, *limit + 1);
  if (!page) return fail(page.error(), req);
  const bool more = page->size() > *limit;
  if (more) page->pop_back();
  json::array items;
  for (const auto& u : *page) items.push_back(json::object{{"user_id", u}});
  json::object paging{{"more", more},
                      {"cursor", more ? json::value(encode_bytes_cursor(scope, page->back())) : json::value(nullptr)}};
  return json_response(200, json::object{{"members", std::move(items)}, {"paging", std::move(paging)}});
}

}  // namespace crier::api
