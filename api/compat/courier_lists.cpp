// Courier's lists over the native ones: a bulk user that is a list
// recipient becomes the list's members, and the client's Lists API
// (client.lists.*) reads and writes the tenant's native lists.
#include "api/compat/courier_lists.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "api/compat/common.h"
#include "api/cursor.h"
#include "api/routes/routes.h"
#include "engine/profile_json.h"
#include "engine/time_format.h"
#include "engine/user_validation.h"

namespace crier::api::compat {
namespace json = boost::json;
namespace {

constexpr std::size_t kListsPerRead = 1000;

Error invalid(std::string code, std::string message, std::string field = {}) {
  return make_error(ErrorKind::invalid, std::move(code), std::move(message), std::move(field));
}

Error lists_unavailable() {
  return make_error(ErrorKind::unavailable, "lists_unavailable", "this server keeps no lists");
}

}  // namespace

std::optional<ListTarget> list_target(simdjson::dom::object u, std::size_t index) {
  simdjson::dom::object to;
  if (u.at_key("to").get_object().get(to)) return std::nullopt;
  std::string_view id, pattern;
  const bool by_id = !to.at_key("list_id").get_string().get(id);
  const bool by_pattern = !to.at_key("list_pattern").get_string().get(pattern);
  if (!by_id && !by_pattern) return std::nullopt;
  ListTarget t{index, by_id ? std::string(id) : std::string(), by_id ? std::string() : std::string(pattern), {}};
  // Checked once here, as ingest checks a user's data: the same data goes
  // with every member, so nothing over the limits is copied for each.
  json::parse_options depth;
  depth.max_depth = kMaxUserDataDepth;
  for (simdjson::dom::object level : {u, to}) {
    simdjson::dom::object d;
    if (level.at_key("data").get_object().get(d)) continue;
    const std::string text = simdjson::minify(d);
    boost::system::error_code ec;
    // Named: a range-for over parse(...).as_object() would outlive the parsed value.
    const json::value parsed = text.size() > kMaxUserDataBytes ? json::value() : json::parse(text, ec, {}, depth);
    if (text.size() > kMaxUserDataBytes || ec || !parsed.is_object()) {
      t.refused = invalid("invalid_data",
                          fmt::format("data must be an object of at most {} bytes, nested at most {} deep",
                                      kMaxUserDataBytes, kMaxUserDataDepth),
                          "data");
      t.data.reset();
      return t;
    }
    if (!t.data) t.data.emplace();
    for (const auto& [k, v] : parsed.as_object()) (*t.data)[k] = v;
  }
  if (t.data && json::serialize(*t.data).size() > kMaxUserDataBytes) {
    t.refused = invalid("invalid_data", fmt::format("data and to.data together are over {} bytes", kMaxUserDataBytes),
                        "data");
    t.data.reset();
  }
  return t;
}

bool matches_list_pattern(std::string_view pattern, std::string_view id) {
  std::size_t p = 0, i = 0, star = std::string_view::npos, resume = 0;
  while (i < id.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = i;
    } else if (p < pattern.size() && pattern[p] == id[i]) {
      ++p;
      ++i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool valid_list_pattern(std::string_view pattern) {
  return !pattern.empty() && pattern.size() <= 128 && std::all_of(pattern.begin(), pattern.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '*';
  });
}

Result<TargetOutcome> add_target(ApiContext& ctx, const Job& job, const ListTarget& t) {
  TargetOutcome out;
  if (t.refused) {
    out.refused = t.refused;
    return out;
  }
  const json::object* data = t.data ? &*t.data : nullptr;
  if (!t.list_id.empty()) {
    auto list = find_list(ctx, job.tenant, t.list_id, "to.list_id");
    if (!list) {
      if (list.error().kind != ErrorKind::unprocessable && list.error().kind != ErrorKind::invalid) return list.error();
      out.refused = list.error();
      return out;
    }
    auto added = add_list_members(ctx, job, list->id, data);
    if (!added) return added.error();
    out.accepted = added->accepted;
    return out;
  }
  if (!valid_list_pattern(t.pattern)) {
    out.refused = invalid("invalid_list_pattern", "a list pattern is 1 to 128 of A-Z a-z 0-9 . _ - and *",
                          "to.list_pattern");
    return out;
  }
  if (!ctx.lists) return make_error(ErrorKind::unavailable, "lists_unavailable", "this server keeps no lists");
  bool any = false;
  std::string after;
  for (;;) {
    auto page = ctx.lists->list_lists(job.tenant, after, 1000);
    if (!page) return page.error();
    for (const auto& l : *page) {
      if (!matches_list_pattern(t.pattern, l.id)) continue;
      any = true;
      auto added = add_list_members(ctx, job, l.id, data);
      if (!added) return added.error();
      out.accepted += added->accepted;
    }
    if (page->size() < 1000) break;
    after = page->back().id;
  }
  if (!any)
    out.refused = make_error(ErrorKind::unprocessable, "unknown_list",
                             fmt::format("no list matches the pattern '{}'", t.pattern), "to.list_pattern");
  return out;
}


// ---- client.lists.* ---------------------------------------------------------------

namespace {

json::object courier_list(const UserList& l) {
  return json::object{{"id", l.id},
                      {"name", l.name},
                      {"created", format_rfc3339(l.created_at)},
                      {"updated", format_rfc3339(l.updated_at)}};
}

// Courier makes a list when users are subscribed to one it does not have.
Result<void> ensure_list(ApiContext& ctx, std::string_view tenant, std::string_view id) {
  auto found = ctx.lists->find_list(tenant, id);
  if (!found) return found.error();
  if (*found) return {};
  const std::int64_t now = ctx.jobs.now_ms();
  auto made = ctx.lists->put_list(UserList{std::string(tenant), std::string(id), {}, 0, now, now});
  if (!made) return made.error();
  return {};
}

Error list_not_found(std::string_view id) {
  return make_error(ErrorKind::not_found, "list_not_found", fmt::format("no list '{}'", id));
}

// {"recipients": [{"recipientId", "preferences"?}]}: every id valid, or the
// request is refused whole (the call answers nothing per recipient).
Result<std::vector<std::string>> recipients_of(ApiContext& ctx, const json::object& body) {
  const auto* list = body.if_contains("recipients");
  if (!list || !list->is_array())
    return invalid("missing_field", "recipients is required (an array of {recipientId})", "recipients");
  const auto& arr = list->get_array();
  if (arr.size() > ctx.limits.max_users_per_batch)
    return make_error(ErrorKind::too_large, "too_many_users",
                      fmt::format("at most {} recipients per request", ctx.limits.max_users_per_batch), "recipients");
  std::vector<std::string> out;
  out.reserve(arr.size());
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const auto* o = arr[i].if_object();
    const auto* id = o ? o->if_contains("recipientId") : nullptr;
    const std::string field = fmt::format("recipients[{}].recipientId", i);
    if (!id || !id->is_string()) return invalid("invalid_recipient", field + " must be a string", field);
    if (auto r = check_profile_user_id(id->get_string()); !r) return invalid(r.error().code, r.error().message, field);
    out.emplace_back(id->get_string());
  }
  return out;
}

ApiResponse list_lists_page(ApiContext& ctx, ApiRequest& req, ErrorAnswer error) {
  std::string pattern;
  if (auto it = req.query.find("pattern"); it != req.query.end()) pattern = it->second;
  if (!pattern.empty() && !valid_list_pattern(pattern))
    return error(invalid("invalid_list_pattern", "a list pattern is 1 to 128 of A-Z a-z 0-9 . _ - and *", "pattern"), req);
  const std::string scope = fmt::format("courier_lists:{}:{}", req.tenant, pattern);
  auto cursor = cursor_after(req, scope);
  if (!cursor) return error(cursor.error(), req);
  std::string after = std::move(*cursor);
  const std::size_t limit = ctx.limits.default_page;
  json::array items;
  std::string last;
  bool more = false;
  while (!more) {
    auto page = ctx.lists->list_lists(req.tenant, after, kListsPerRead);
    if (!page) return error(page.error(), req);
    for (const auto& l : *page) {
      if (!pattern.empty() && !matches_list_pattern(pattern, l.id)) continue;
      if (items.size() == limit) {
        more = true;
        break;
      }
      items.push_back(courier_list(l));
      last = l.id;
    }
    if (page->size() < kListsPerRead) break;
    after = page->back().id;
  }
  json::object paging{{"more", more}};
  if (more) paging["cursor"] = encode_bytes_cursor(scope, last);
  return json_answer(200, json::object{{"items", std::move(items)}, {"paging", std::move(paging)}});
}

ApiResponse subscriptions_page(ApiContext& ctx, ApiRequest& req, std::string_view id, ErrorAnswer error) {
  auto found = ctx.lists->find_list(req.tenant, id);
  if (!found) return error(found.error(), req);
  if (!*found) return error(list_not_found(id), req);
  const std::string scope = fmt::format("courier_subscriptions:{}:{}", req.tenant, id);
  auto cursor = cursor_after(req, scope);
  if (!cursor) return error(cursor.error(), req);
  std::string after = std::move(*cursor);
  const std::size_t limit = ctx.limits.default_page;
  auto page = ctx.lists->list_members(req.tenant, id, after, limit + 1);
  if (!page) return error(page.error(), req);
  const bool more = page->size() > limit;
  if (more) page->pop_back();
  json::array items;
  for (const auto& u : *page) items.push_back(json::object{{"recipientId", u}});
  json::object paging{{"more", more}};
  if (more) paging["cursor"] = encode_bytes_cursor(scope, page->back());
  return json_answer(200, json::object{{"items", std::move(items)}, {"paging", std::move(paging)}});
}

// POST adds the recipients; PUT makes them the list's only members: added in
// one write, then every other member removed a page at a time (each page one
// write; a stop in between leaves some old members in, never a new one out).
ApiResponse subscribe_many(ApiContext& ctx, ApiRequest& req, std::string_view id, bool replace, ErrorAnswer error) {
  auto body = json_object_body(req);
  if (!body) return error(body.error(), req);
  auto ids = recipients_of(ctx, *body);
  if (!ids) return error(ids.error(), req);
  if (auto r = ensure_list(ctx, req.tenant, id); !r) return error(r.error(), req);
  std::vector<std::string_view> views(ids->begin(), ids->end());
  auto added = ctx.lists->add_members(req.tenant, id, views);
  if (!added) return error(added.error(), req);
  if (!*added) return error(list_not_found(id), req);  // deleted meanwhile
  if (replace) {
    const std::set<std::string_view> keep(views.begin(), views.end());
    std::string after;
    for (;;) {
      auto page = ctx.lists->list_members(req.tenant, id, after, kListsPerRead);
      if (!page) return error(page.error(), req);
      std::vector<std::string_view> drop;
      for (const auto& u : *page)
        if (!keep.contains(u)) drop.push_back(u);
      if (!drop.empty())
        if (auto r = ctx.lists->remove_members(req.tenant, id, drop); !r) return error(r.error(), req);
      if (page->size() < kListsPerRead) break;
      after = page->back();
    }
  }
  return empty_answer(204);
}

ApiResponse subscribe_one(ApiContext& ctx, ApiRequest& req, std::string_view id, std::string_view user,
                          ErrorAnswer error) {
  if (auto r = check_profile_user_id(user); !r) return error(r.error(), req);
  const std::string_view users[] = {user};
  if (req.method == "PUT") {
    if (auto r = ensure_list(ctx, req.tenant, id); !r) return error(r.error(), req);
    auto added = ctx.lists->add_members(req.tenant, id, users);
    if (!added) return error(added.error(), req);
    if (!*added) return error(list_not_found(id), req);
    return empty_answer(204);
  }
  auto removed = ctx.lists->remove_members(req.tenant, id, users);
  if (!removed) return error(removed.error(), req);
  if (!*removed) return error(list_not_found(id), req);
  return empty_answer(204);
}

}  // namespace

ApiResponse lists_route(ApiContext& ctx, ApiRequest& req, ErrorAnswer error) {
  if (!ctx.lists) return error(lists_unavailable(), req);
  auto p = path_parts(req.path);  // p[0] == "lists"
  const std::string& m = req.method;
  if (p.size() == 1) {
    if (m == "GET") return list_lists_page(ctx, req, error);
    return error(method_not_allowed(req, "GET"), req);
  }
  const std::string_view id = p[1];
  if (auto r = check_list_id(id, "list_id"); !r) return error(r.error(), req);
  if (p.size() == 2) {
    if (m == "GET") {
      auto l = ctx.lists->find_list(req.tenant, id);
      if (!l) return error(l.error(), req);
      if (!*l) return error(list_not_found(id), req);
      return json_answer(200, courier_list(**l));
    }
    if (m == "PUT") {
      auto body = json_object_body(req);
      if (!body) return error(body.error(), req);
      const auto* name = body->if_contains("name");
      if (name && !name->is_null() && (!name->is_string() || name->get_string().size() > kMaxUserListNameBytes))
        return error(invalid("invalid_field", "name must be a string of at most 256 bytes", "name"), req);
      const std::int64_t now = ctx.jobs.now_ms();
      UserList l{req.tenant, std::string(id), name && name->is_string() ? std::string(name->get_string()) : "", 0, now,
                 now};
      auto put = ctx.lists->put_list(l);
      if (!put) return error(put.error(), req);
      return empty_answer(204);
    }
    if (m == "DELETE") {
      auto deleted = ctx.lists->delete_list(req.tenant, id);
      if (!deleted) return error(deleted.error(), req);
      if (!*deleted) return error(list_not_found(id), req);
      return empty_answer(204);
    }
    return error(method_not_allowed(req, "GET, PUT, DELETE"), req);
  }
  if (p.size() == 3 && p[2] == "restore") {
    if (m != "PUT") return error(method_not_allowed(req, "PUT"), req);
    // Crier deletes a list for good: only a list that exists is "restored".
    auto l = ctx.lists->find_list(req.tenant, id);
    if (!l) return error(l.error(), req);
    if (!*l)
      return error(make_error(ErrorKind::not_found, "list_not_found",
                              fmt::format("no list '{}': Crier keeps no deleted lists (make it again with PUT /lists/{})",
                                          id, id)),
                   req);
    return empty_answer(204);
  }
  if (p.size() == 3 && p[2] == "subscriptions") {
    if (m == "GET") return subscriptions_page(ctx, req, id, error);
    if (m == "POST") return subscribe_many(ctx, req, id, false, error);
    if (m == "PUT") return subscribe_many(ctx, req, id, true, error);
    return error(method_not_allowed(req, "GET, POST, PUT"), req);
  }
  if (p.size() == 4 && p[2] == "subscriptions") {
    if (m == "PUT" || m == "DELETE") return subscribe_one(ctx, req, id, p[3], error);
    return error(method_not_allowed(req, "PUT, DELETE"), req);
  }
  return error(not_found(req), req);
}

}  // namespace crier::api::compat
