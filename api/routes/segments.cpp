// PUT/GET/DELETE /v1/segments/{id}, GET /v1/segments: a tenant's named
// audience filters (engine/segment.h), which a job's audience
// ({"segment_id"}) and Braze's segment_id target. The filter is checked
// when stored; who is in a segment is decided when a job is run.
#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/cursor.h"
#include "api/routes/routes.h"
#include "engine/audience_filter.h"
#include "engine/time_format.h"

namespace crier::api {
namespace json = boost::json;
namespace {

Error segments_unavailable() {
  return make_error(ErrorKind::unavailable, "segments_unavailable", "this server keeps no segments");
}

json::object segment_view(const Segment& s) {
  return json::object{{"segment_id", s.id},
                      {"name", s.name.empty() ? json::value(nullptr) : json::value(s.name)},
                      {"filter", json::parse(s.filter_json)},
                      {"created_at", format_rfc3339(s.created_at)},
                      {"updated_at", format_rfc3339(s.updated_at)}};
}

}  // namespace

Result<void> check_segment_id(std::string_view id, std::string_view field) {
  if (is_resource_id(id)) return {};
  return make_error(ErrorKind::invalid, "invalid_segment_id", "a segment id is 1 to 128 of A-Z a-z 0-9 . _ -",
                    std::string(field));
}

Result<Segment> find_segment(ApiContext& ctx, std::string_view tenant, std::string_view id, std::string_view field) {
  if (!ctx.segments) return segments_unavailable();
  if (auto r = check_segment_id(id, field); !r) return r.error();
  auto s = ctx.segments->find_segment(tenant, id);
  if (!s) return s.error();
  if (!*s)
    return make_error(ErrorKind::unprocessable, "unknown_segment", fmt::format("no segment '{}'", id),
                      std::string(field));
  return std::move(**s);
}

ApiResponse put_segment(ApiContext& ctx, const ApiRequest& req, std::string_view id) {
  if (!ctx.segments) return fail(segments_unavailable(), req);
  if (auto r = check_segment_id(id, "segment_id"); !r) return fail(r.error(), req);
  auto body = parse_json_body(req);
  if (!body) return fail(body.error(), req);
  const auto* o = body->if_object();
  if (!o) return fail(make_error(ErrorKind::invalid, "invalid_body", "the body must be a JSON object"), req);
  for (const auto& [k, v] : *o)
    if (k != "filter" && k != "name")
      return fail(make_error(ErrorKind::invalid, "unknown_field", fmt::format("unknown field '{}'", std::string_view(k)),
                             std::string(k)),
                  req);
  const auto* filter = o->if_contains("filter");
  if (!filter) return fail(make_error(ErrorKind::invalid, "missing_field", "filter is required", "filter"), req);
  auto parsed = AudienceFilter::parse(*filter, "filter");
  if (!parsed) return fail(parsed.error(), req);
  if (auto r = check_filter_lists(ctx, req.tenant, *parsed, "filter"); !r) return fail(r.error(), req);
  Segment s{req.tenant, std::string(id), {}, json::serialize(*filter), ctx.jobs.now_ms(), ctx.jobs.now_ms()};
  if (const auto* name = o->if_contains("name"); name && !name->is_null()) {
    if (!name->is_string() || name->get_string().size() > kMaxSegmentNameBytes)
      return fail(make_error(ErrorKind::invalid, "invalid_field", "name must be a string of at most 256 bytes", "name"), req);
    s.name = name->get_string();
  }
  auto created = ctx.segments->put_segment(s);
  if (!created) return fail(created.error(), req);
  auto stored = ctx.segments->find_segment(req.tenant, id);
  if (!stored) return fail(stored.error(), req);
  if (!*stored) return fail(make_error(ErrorKind::internal, "storage_error", "the segment vanished after its write"), req);
  return json_response(*created ? 201 : 200, segment_view(**stored));
}

ApiResponse get_segment(ApiContext& ctx, const ApiRequest& req, std::string_view id) {
  auto s = find_segment(ctx, req.tenant, id, "segment_id");
  if (!s) {
    Error e = s.error();
    if (e.code == "unknown_segment") e = make_error(ErrorKind::not_found, "segment_not_found", e.message);
    return fail(e, req);
  }
  return json_response(200, segment_view(*s));
}

ApiResponse delete_segment(ApiContext& ctx, const ApiRequest& req, std::string_view id) {
  if (!ctx.segments) return fail(segments_unavailable(), req);
  if (auto r = check_segment_id(id, "segment_id"); !r) return fail(r.error(), req);
  auto deleted = ctx.segments->delete_segment(req.tenant, id);
  if (!deleted) return fail(deleted.error(), req);
  if (!*deleted) return fail(make_error(ErrorKind::not_found, "segment_not_found", fmt::format("no segment '{}'", id)), req);
  return json_response(200, json::object{{"segment_id", id}, {"deleted", true}});
}

ApiResponse list_segments(ApiContext& ctx, const ApiRequest& req) {
  if (!ctx.segments) return fail(segments_unavailable(), req);
  auto limit = page_limit(ctx, req);
  if (!limit) return fail(limit.error(), req);
  const std::string scope = "segments:" + req.tenant;
  auto after = cursor_after(req, scope);
  if (!after) return fail(after.error(), req);
  auto list = ctx.segments->list_segments(req.tenant, *after, *limit + 1);
  if (!list) return fail(list.error(), req);
  const bool more = list->size() > *limit;
  if (more) list->pop_back();
  json::array items;
  for (const auto& s : *list) items.push_back(segment_view(s));
  json::object paging{{"more", more},
                      {"cursor", more ? json::value(encode_bytes_cursor(scope, list->back().id)) : json::value(nullptr)}};
  return json_response(200, json::object{{"segments", std::move(items)}, {"paging", std::move(paging)}});
}

}  // namespace crier::api
