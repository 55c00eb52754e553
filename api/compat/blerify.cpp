// Blerify's notification items (the PHP client blerify/notifications) over
// the native engine:
//   POST /api/v1/organizations/{org}/notifications/{group}/items/bulk
//        one job made from the stored notification group, created with its
//        users and started in one atomic write (create_job_with_users,
//        all or nothing); answers the created items
//   GET  …/notifications/{group}/items/{itemId}   one item (a message id)
//   GET  …/notifications/{group}/items?limit=&offset=   the group's items,
//        oldest first, across the group's jobs
// {org} is the tenant of the key; {group} a notification group
// (/v1/notification-groups). Every mapping is listed in docs/compat.md.
#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/compat/facades.h"
#include "api/errors.h"
#include "api/routes/routes.h"
#include "api/ingest/json_reader.h"
#include "engine/ids.h"
#include "engine/time_format.h"

namespace crier::api::compat {
namespace json = boost::json;
namespace {

// Bulk calls whose items a listing counts at most (one counters read each).
constexpr std::size_t kMaxJobsScanned = 50000;

Error invalid(std::string code, std::string message, std::string field = {}) {
  return make_error(ErrorKind::invalid, std::move(code), std::move(message), std::move(field));
}

std::string_view reason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
  }
}

// Blerify's error body, in the shape its Node back end answers
// ({"statusCode", "message", "error"}); the client hands it whole to the
// caller as the error's details. Crier adds its code and request id.
json::object error_body(const Error& e, const ApiRequest& req) {
  int status = http_status(e.kind);
  json::object o{{"statusCode", status}, {"message", e.message}, {"error", reason(status)},
                 {"code", e.code},      {"requestId", req.request_id}};
  if (!e.field.empty()) o["field"] = e.field;
  return o;
}

ApiResponse blerify_error(const Error& e, const ApiRequest& req) {
  auto r = json_answer(http_status(e.kind), error_body(e, req));
  if (e.kind == ErrorKind::unauthorized) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

Error organization_not_found(std::string_view org) {
  return make_error(ErrorKind::not_found, "organization_not_found",
                    fmt::format("no organization '{}' for this access token", org));
}

Error item_not_found(std::string_view id) {
  return make_error(ErrorKind::not_found, "item_not_found", fmt::format("no notification item '{}' in this group", id));
}

json::value time_or_null(std::int64_t ms) { return ms ? json::value(format_rfc3339(ms)) : json::value(nullptr); }

// ---- items ------------------------------------------------------------------------

// A recipient's state in Blerify's terms (docs/compat.md): not sent yet,
// accepted by the provider, delivered (received), read, or given up.
std::string_view item_status(const RecipientState& s) {
  switch (s.status) {
    case RecipientStatus::pending:
    case RecipientStatus::enqueued: return "PENDING";
    case RecipientStatus::sent: return "SENT";
    case RecipientStatus::delivered: return s.read_at ? "READ" : "RECEIVED";
    case RecipientStatus::failed: return "FAILED";
    case RecipientStatus::skipped: return "EXPIRED";
    case RecipientStatus::cancelled: return "CANCELLED";
  }
  return "FAILED";
}

// receiverData as stored: the id, the addresses given, the template data.
json::object receiver_data(const Recipient& r) {
  json::object o{{"id", r.user_id}};
  for (auto [key, value] : {std::pair{"email", &r.email}, std::pair{"phone", &r.phone},
                            std::pair{"push_token", &r.push_token}, std::pair{"webhook_url", &r.webhook_url}})
    if (!value->empty()) o[key] = *value;
  if (!r.data_json.empty()) {
    auto data = json::parse(r.data_json);
    if (data.is_object())
      for (const auto& [k, v] : data.get_object()) o[k] = v;
  }
  return o;
}

json::object item(const Job& job, std::string_view group_id, const RecipientView& v) {
  const RecipientState& s = v.state;
  json::object o{{"id", message_id(job.key, v.recipient.seq)},
                 {"notificationGroupId", group_id},
                 {"receiverData", receiver_data(v.recipient)},
                 {"status", item_status(s)},
                 {"createdAt", format_rfc3339(job.created_at)},
                 {"sentAt", time_or_null(s.sent_at)},
                 {"receivedAt", time_or_null(s.delivered_at)},
                 {"readAt", time_or_null(s.read_at)}};
  if (!s.error_code.empty()) o["error"] = json::object{{"code", s.error_code}, {"message", s.error_message}};
  return o;
}

// ---- bulk -------------------------------------------------------------------------

// The address members of receiverData; every other member but `id` is the
// recipient's template data.
constexpr std::array<std::string_view, 4> kAddresses = {"email", "phone", "push_token", "webhook_url"};

// A Blerify item as a native user, or why its shape is wrong.
Result<json::object> native_user(const json::value& item, std::size_t i) {
  auto where = fmt::format("items[{}].receiverData", i);
  const json::object* receiver = nullptr;
  if (item.is_object())
    if (auto* r = item.get_object().if_contains("receiverData"); r && r->is_object()) receiver = &r->get_object();
  if (!receiver) return invalid("invalid_item", fmt::format("{} must be an object", where), where);
  auto* id = receiver->if_contains("id");
  if (!id || id->is_null() || (id->is_string() && id->get_string().empty()))
    return invalid("missing_field", fmt::format("{}.id is required: the receiver's id", where), where + ".id");
  json::object user{{"user_id", *id}};
  json::object data;
  for (const auto& [k, v] : *receiver) {
    if (k == "id") continue;
    if (std::find(kAddresses.begin(), kAddresses.end(), std::string_view(k)) != kAddresses.end()) user[k] = v;
    else data[k] = v;
  }
  if (!data.empty()) user["data"] = std::move(data);
  return user;
}

// Where a native user's field came from in the Blerify item.
std::string item_field(std::size_t i, std::string_view native_field) {
  std::string_view member = native_field == "user_id" ? "id" : native_field;
  if (member.empty() || member == "data") return fmt::format("items[{}].receiverData", i);
  return fmt::format("items[{}].receiverData.{}", i, member);
}

// Every item refused, with why: a refused call stores nothing.
ApiResponse refused(const Error& e, const ApiRequest& req, json::array errors) {
  auto body = error_body(e, req);
  body["errors"] = std::move(errors);
  return json_answer(http_status(e.kind), body);
}

ApiResponse bulk(ApiContext& ctx, ApiRequest& req, std::string_view group_id) {
  auto group = ctx.groups.find_group(req.tenant, group_id);
  if (!group) return blerify_error(group.error(), req);
  if (!*group) return blerify_error(group_not_found(group_id), req);
  auto body = json_object_body(req);
  if (!body) return blerify_error(body.error(), req);
  auto* items = body->if_contains("items");
  if (!items || !items->is_array() || items->get_array().empty())
    return blerify_error(invalid("missing_field", "items is required: a non-empty array of {\"receiverData\": {\"id\", ...}}", "items"), req);
  const auto& list = items->get_array();
  if (list.size() > ctx.limits.max_users_per_batch)
    return blerify_error(make_error(ErrorKind::too_large, "too_many_items",
                                    fmt::format("at most {} items per call", ctx.limits.max_users_per_batch), "items"),
                         req);

  json::array users;
  users.reserve(list.size());
  json::array shape_errors;
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto u = native_user(list[i], i);
    if (!u) {
      shape_errors.push_back(json::object{{"index", i}, {"code", u.error().code}, {"message", u.error().message}, {"field", u.error().field}});
      continue;
    }
    users.push_back(std::move(*u));
  }
  if (!shape_errors.empty())
    return refused(invalid("items_refused", fmt::format("{} of {} items are malformed; nothing was stored", shape_errors.size(), list.size()), "items"),
                   req, std::move(shape_errors));

  json::object spec{{"notification_group", group_id}};
  if (auto correlation = header(req, "correlation-id"); !correlation.empty()) spec["correlation_id"] = correlation;
  std::string users_body = json::serialize(json::object{{"users", std::move(users)}});
  auto report = create_job_with_users(ctx, req.tenant, spec, users_body, CreateWith{.run = true, .all_or_nothing = true, .claim = req.idempotency});
  if (!report) return blerify_error(report.error(), req);

  if (!report->stored) {
    json::array errors;
    for (std::size_t i = 0; i < report->users.size(); ++i) {
      const auto& o = report->users[i];
      if (o.kind == UserOutcome::Kind::rejected)
        errors.push_back(json::object{{"index", i}, {"code", o.error.code}, {"message", o.error.message},
                                      {"field", item_field(i, o.error.field)}});
      else if (o.kind == UserOutcome::Kind::duplicate)
        errors.push_back(json::object{{"index", i}, {"code", "duplicate_item"},
                                      {"message", "this receiver id is already an item of this call"},
                                      {"field", item_field(i, "user_id")}});
      if (errors.size() == ctx.limits.max_rejected_listed) break;
    }
    return refused(users_refused(*report), req, std::move(errors));
  }

  // The items as stored (normalised addresses, the state they have by now),
  // read back in seq order, which is the order of `items`.
  const Job& job = report->job;
  json::array created;
  created.reserve(list.size());
  std::uint64_t from = 0;
  while (created.size() < list.size()) {
    auto page = ctx.store.list_recipients(job.key, from, ctx.limits.max_page, std::nullopt, ctx.limits.max_page);
    if (!page) return blerify_error(page.error(), req);
    for (const auto& v : page->items) created.push_back(item(job, group_id, v));
    if (!page->next_seq) break;
    from = *page->next_seq;
  }
  auto n = static_cast<std::int64_t>(created.size());
  return json_answer(201, json::object{{"total", n}, {"limit", n}, {"offset", 0}, {"items", std::move(created)}});
}

// ---- reading items back -------------------------------------------------------------

ApiResponse get_item(ApiContext& ctx, ApiRequest& req, std::string_view group_id, std::string_view item_id) {
  auto group = ctx.groups.find_group(req.tenant, group_id);
  if (!group) return blerify_error(group.error(), req);
  if (!*group) return blerify_error(group_not_found(group_id), req);
  auto id = parse_message_id(item_id);
  if (!id) return blerify_error(item_not_found(item_id), req);
  // Filed under the tenant's group: the job is the tenant's and the group's.
  auto filed = ctx.groups.group_has_job(req.tenant, group_id, id->first);
  if (!filed) return blerify_error(filed.error(), req);
  if (!*filed) return blerify_error(item_not_found(item_id), req);
  auto job = ctx.store.find_job(id->first);
  if (!job) return blerify_error(job.error(), req);
  if (!*job) return blerify_error(item_not_found(item_id), req);
  auto found = ctx.store.find_recipient(id->first, id->second);
  if (!found) return blerify_error(found.error(), req);
  if (!*found) return blerify_error(item_not_found(item_id), req);
  return json_answer(200, item(**job, group_id, **found));
}

Result<std::uint64_t> offset_of(const ApiRequest& req) {
  auto it = req.query.find("offset");
  if (it == req.query.end() || it->second.empty()) return std::uint64_t{0};
  std::uint64_t n = 0;
  for (char c : it->second) {
    if (c < '0' || c > '9' || n > (1ULL << 50))
      return invalid("invalid_offset", "offset must be a whole number from 0", "offset");
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

// The group's items, oldest first: its jobs in creation order, each job's
// recipients in seq order. Seqs are dense, so an offset skips whole jobs by
// their `unique` counter and starts inside one by seq: a page reads one
// counters value per job of the group and its own items, nothing else.
ApiResponse list_items(ApiContext& ctx, ApiRequest& req, std::string_view group_id) {
  auto group = ctx.groups.find_group(req.tenant, group_id);
  if (!group) return blerify_error(group.error(), req);
  if (!*group) return blerify_error(group_not_found(group_id), req);
  auto limit = page_limit(ctx, req);
  if (!limit) return blerify_error(limit.error(), req);
  auto offset = offset_of(req);
  if (!offset) return blerify_error(offset.error(), req);

  json::array items;
  std::uint64_t skip = *offset;
  std::int64_t total = 0;
  std::size_t scanned = 0;
  std::optional<JobKey> after;
  for (bool more = true; more && scanned < kMaxJobsScanned;) {
    auto jobs = ctx.groups.list_group_jobs(req.tenant, group_id, after, 100);
    if (!jobs) return blerify_error(jobs.error(), req);
    for (const auto& key : jobs->jobs) {
      if (++scanned > kMaxJobsScanned) break;
      auto c = ctx.store.counters(key);
      if (!c) return blerify_error(c.error(), req);
      const auto unique = static_cast<std::uint64_t>((*c)[Counter::unique]);
      total += (*c)[Counter::unique];
      if (items.size() == *limit) continue;
      if (skip >= unique) {
        skip -= unique;
        continue;
      }
      auto job = ctx.store.find_job(key);
      if (!job) return blerify_error(job.error(), req);
      if (!*job) continue;
      auto page = ctx.store.list_recipients(key, skip, *limit - items.size(), std::nullopt, *limit);
      if (!page) return blerify_error(page.error(), req);
      for (const auto& v : page->items) items.push_back(item(**job, group_id, v));
      skip = 0;
    }
    more = jobs->next_after.has_value();
    after = jobs->next_after;
  }
  return json_answer(200, json::object{{"total", total},
                                       {"limit", *limit},
                                       {"offset", *offset},
                                       {"items", std::move(items)}});
}

// ---- routing ------------------------------------------------------------------------

ApiResponse route(ApiContext& ctx, ApiRequest& req) {
  // api ▸ v1 ▸ organizations ▸ {org} ▸ notifications ▸ {group} ▸ items ▸ …
  auto p = path_parts(req.path);
  if (p.size() >= 4 && p[3] != req.tenant) return blerify_error(organization_not_found(p[3]), req);
  if (p.size() < 7 || p.size() > 8 || p[4] != "notifications" || p[6] != "items")
    return blerify_error(not_found(req), req);
  std::string_view group_id = p[5];
  // An id that cannot name a group names none.
  if (!check_group_id(group_id)) return blerify_error(group_not_found(group_id), req);
  const std::string& m = req.method;
  if (p.size() == 7) {
    if (m == "GET") return list_items(ctx, req, group_id);
    return blerify_error(method_not_allowed(req, "GET"), req);
  }
  if (p[7] == "bulk") {
    if (m == "POST") return bulk(ctx, req, group_id);
    return blerify_error(method_not_allowed(req, "POST"), req);
  }
  if (m == "GET") return get_item(ctx, req, group_id, p[7]);
  return blerify_error(method_not_allowed(req, "GET"), req);
}

}  // namespace

const Facade& blerify() {
  static const Facade f{"blerify", bearer_auth, route, blerify_error};
  return f;
}

}  // namespace crier::api::compat
