// PUT/GET/DELETE /v1/templates/{id}, GET /v1/templates
#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>

#include "api/cursor.h"
#include "api/routes/routes.h"
#include "api/views.h"
#include "engine/content_json.h"
#include "engine/render.h"

namespace crier::api {
namespace json = boost::json;
namespace {

Result<void> check_id(std::string_view id) {
  bool ok = !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
  if (ok) return {};
  return make_error(ErrorKind::invalid, "invalid_template_id",
                    "a template id is 1 to 128 letters, digits, '-', '_' or '.'", "template_id");
}

Error template_not_found(std::string_view id) {
  return make_error(ErrorKind::not_found, "template_not_found", fmt::format("no template '{}'", id));
}

}  // namespace

ApiResponse put_template(ApiContext& ctx, const ApiRequest& req, std::string_view id) {
  if (auto r = check_id(id); !r) return fail(r.error(), req);
  if (auto r = expect_json(req); !r) return fail(r.error(), req);
  boost::system::error_code ec;
  json::value body = json::parse(req.body, ec);
  if (ec) return fail(make_error(ErrorKind::invalid, "invalid_json", "the body is not valid JSON (UTF-8): " + ec.message()), req);
  if (!body.is_object() || !body.as_object().contains("content"))
    return fail(make_error(ErrorKind::invalid, "missing_field", "the body must be {\"content\": {...}}", "content"), req);
  for (const auto& [k, v] : body.as_object())
    if (k != "content")
      return fail(make_error(ErrorKind::invalid, "unknown_field", fmt::format("unknown field '{}'", std::string_view(k)), std::string(k)), req);
  auto content = content_from_json(body.as_object().at("content"), "content");
  if (!content) return fail(content.error(), req);
  if (auto r = check_templates(*content); !r) return fail(r.error(), req);

  auto existing = ctx.templates.find_template(req.tenant, id);
  if (!existing) return fail(existing.error(), req);
  Template t;
  t.tenant = req.tenant;
  t.id = id;
  t.content = std::move(*content);
  t.updated_at = ctx.jobs.now_ms();
  t.created_at = *existing ? (*existing)->created_at : t.updated_at;
  if (auto r = ctx.templates.put_template(t); !r) return fail(r.error(), req);
  return json_response(*existing ? 200 : 201, template_view(t));
}

ApiResponse get_template(ApiContext& ctx, const ApiRequest& req, std::string_view id) {
  if (auto r = check_id(id); !r) return fail(r.error(), req);
  auto t = ctx.templates.find_template(req.tenant, id);
  if (!t) return fail(t.error(), req);
  if (!*t) return fail(template_not_found(id), req);
  return json_response(200, template_view(**t));
}

ApiResponse delete_template(ApiContext& ctx, const ApiRequest& req, std::string_view id) {
  if (auto r = check_id(id); !r) return fail(r.error(), req);
  auto deleted = ctx.templates.delete_template(req.tenant, id);
  if (!deleted) return fail(deleted.error(), req);
  if (!*deleted) return fail(template_not_found(id), req);
  return json_response(200, json::object{{"template_id", id}, {"deleted", true}});
}

ApiResponse list_templates(ApiContext& ctx, const ApiRequest& req) {
  auto limit = page_limit(ctx, req);
  if (!limit) return fail(limit.error(), req);
  auto after = cursor_after(req, "templates:" + req.tenant);
  if (!after) return fail(after.error(), req);
  // One more than asked tells whether there is a next page.
  auto list = ctx.templates.list_templates(req.tenant, *after, *limit + 1);
  if (!list) return fail(list.error(), req);
  bool more = list->size() > *limit;
  if (more) list->pop_back();
  json::array items;
  for (const auto& t : *list) items.push_back(template_view(t));
  json::object paging{{"more", more},
                      {"cursor", more ? json::value(encode_bytes_cursor("templates:" + req.tenant, list->back().id))
                                      : json::value(nullptr)}};
  return json_response(200, json::object{{"templates", std::move(items)}, {"paging", std::move(paging)}});
}

}  // namespace crier::api
