// POST /v1/jobs, GET /v1/jobs, GET /v1/jobs/{id}, POST /v1/jobs/{id}/{run,cancel,pause,resume}
#include <boost/json.hpp>
#include <fmt/format.h>

#include <cmath>
#include <set>

#include "api/cursor.h"
#include "api/errors.h"
#include "api/routes/routes.h"
#include "api/ingest/json_reader.h"
#include "api/views.h"
#include "engine/content_json.h"
#include "engine/routing_json.h"
#include "engine/time_format.h"
#include "engine/user_validation.h"

namespace crier::api {
namespace json = boost::json;

ApiResponse json_response(int status, const json::value& body) {
  ApiResponse r;
  r.status = status;
  r.body = json::serialize(body);
  return r;
}

ApiResponse fail(const Error& e, const ApiRequest& req) { return error_response(e, req.request_id); }

Result<std::size_t> page_limit(const ApiContext& ctx, const ApiRequest& req) {
  auto it = req.query.find("limit");
  if (it == req.query.end() || it->second.empty()) return ctx.limits.default_page;
  std::size_t n = 0;
  for (char c : it->second) {
    if (c < '0' || c > '9' || n > ctx.limits.max_page)
      return make_error(ErrorKind::invalid, "invalid_limit",
                        fmt::format("limit must be a whole number from 1 to {}", ctx.limits.max_page), "limit");
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  if (n < 1 || n > ctx.limits.max_page)
    return make_error(ErrorKind::invalid, "invalid_limit",
                      fmt::format("limit must be a whole number from 1 to {}", ctx.limits.max_page), "limit");
  return n;
}

Result<std::string> cursor_after(const ApiRequest& req, std::string_view scope) {
  auto it = req.query.find("cursor");
  if (it == req.query.end() || it->second.empty()) return std::string();
  auto pos = decode_bytes_cursor(scope, it->second);
  if (!pos)
    return make_error(ErrorKind::invalid, "invalid_cursor", "the cursor is not valid for this listing", "cursor");
  return std::move(*pos);
}

Result<void> expect_json(const ApiRequest& req) {
  if (req.content_type.empty() || req.content_type == "application/json") return {};
  return make_error(ErrorKind::unsupported, "unsupported_media_type",
                    fmt::format("expected application/json, got {}", req.content_type));
}

namespace {

Error bad(std::string code, std::string message, std::string field) {
  return make_error(ErrorKind::invalid, std::move(code), std::move(message), std::move(field));
}


Result<std::string> opt_string(const json::object& o, const char* key, std::size_t max = 2048) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::string();
  if (!it->value().is_string()) return bad("invalid_field", fmt::format("{} must be a string", key), key);
  if (it->value().get_string().size() > max)
    return bad("invalid_field", fmt::format("{} must be at most {} bytes", key, max), key);
  return std::string(it->value().get_string());
}

Result<std::optional<std::int64_t>> opt_time(const json::object& o, const char* key) {
  auto s = opt_string(o, key, 64);
  if (!s) return s.error();
  if (s->empty()) return std::optional<std::int64_t>();
  auto t = parse_rfc3339(*s);
  if (!t) return bad("invalid_timestamp", fmt::format("{} must be an RFC 3339 time such as 2026-12-01T09:00:00Z", key), key);
  return std::optional<std::int64_t>(*t);
}

Result<JobSpec> parse_spec(ApiContext& ctx, std::string_view tenant, const json::object& o) {
  static const std::set<std::string, std::less<>> known = {
      "channel",  "routing", "template",    "content",    "data",     "locale",    "webhook_url",
      "correlation_id", "schedule_at", "expires_at", "callback_url", "rate_limit", "provider", "metadata",
      "notification_group", "sender", "subscription_state", "audience", "override_frequency_capping",
      "strict_variables"};
  for (const auto& [k, v] : o)
    if (!known.count(std::string_view(k)))
      return bad("unknown_field", fmt::format("unknown field '{}'", std::string_view(k)), std::string(k));

  // Exactly one of channel (one channel for every user) and routing (each
  // user on the first of several channels it has an address for).
  JobSpec spec;
  auto group = opt_string(o, "notification_group", 128);
  if (!group) return group.error();
  spec.notification_group = *group;
  auto channel = opt_string(o, "channel", 32);
  if (!channel) return channel.error();
  auto routing = o.find("routing");
  const bool has_routing = routing != o.end() && !routing->value().is_null();
  if (has_routing) {
    if (!channel->empty())
      return bad("invalid_routing", "give either channel or routing, not both", "routing");
    auto r = routing_from_json(routing->value());
    if (!r) return r.error();
    spec.routing = std::move(*r);
    spec.channel = spec.routing->channels.front();
  } else {
    if (channel->empty())
      return bad("missing_field", "channel is required (email, sms, push, webhook, whatsapp), or routing", "channel");
    auto ch = parse_channel(*channel);
    if (!ch) return bad("invalid_channel", "channel must be one of email, sms, push, webhook, whatsapp", "channel");
    spec.channel = *ch;
  }

  auto tmpl = opt_string(o, "template", 128);
  if (!tmpl) return tmpl.error();
  spec.template_id = *tmpl;
  auto content = o.find("content");
  bool has_content = content != o.end() && !content->value().is_null();
  if (has_content && !spec.template_id.empty())
    return bad("invalid_content", "give either template (an id) or inline content, not both", "template");
  if (!has_content && spec.template_id.empty())
    return bad("invalid_content", "give template (an id) or inline content: the job has nothing to send", "content");
  if (has_content) {
    auto c = content_from_json(content->value(), "content");
    if (!c) return c.error();
    spec.content = std::move(*c);
  }

  if (auto it = o.find("data"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_object()) return bad("invalid_data", "data must be a JSON object", "data");
    spec.data_json = json::serialize(it->value());
    if (spec.data_json.size() > 256 * 1024) return bad("invalid_data", "data must be at most 256 KiB", "data");
  }
  auto locale = opt_string(o, "locale", 35);
  if (!locale) return locale.error();
  if (!locale->empty() && !is_valid_locale(*locale))
    return bad("invalid_locale", "locale must be a BCP 47 tag such as en or pt-BR", "locale");
  spec.locale = locale->empty() ? "" : canonical_locale(*locale);

  for (auto [key, target] : {std::pair{"webhook_url", &spec.webhook_url}, std::pair{"callback_url", &spec.callback_url}}) {
    auto url = opt_string(o, key);
    if (!url) return url.error();
    if (url->empty()) continue;
    auto n = normalize_webhook_url(*url);
    if (!n) return bad(std::string("invalid_") + key, std::string(key) + " must be an absolute http or https URL", key);
    // A literal internal address (or localhost) is refused now; a name is
    // judged by the address it resolves to, when sending.
    if (auto allowed = ctx.egress.check_url(*n); !allowed) {
      Error e = allowed.error();
      e.message = std::string(key) + ": " + e.message;
      e.field = key;
      return e;
    }
    *target = *n;
  }
  auto corr = opt_string(o, "correlation_id", 256);
  if (!corr) return corr.error();
  spec.correlation_id = *corr;
  if (auto* a = o.if_contains("audience"); a && !a->is_null()) {
    auto audience = audience_of(ctx, tenant, *a);
    if (!audience) return audience.error();
    spec.audience_json = json::serialize(*audience);
  }
  if (auto* v = o.if_contains("override_frequency_capping"); v && !v->is_null()) {
    if (!v->is_bool())
      return bad("invalid_field", "override_frequency_capping must be true or false", "override_frequency_capping");
    spec.override_frequency_capping = v->get_bool();
  }
  if (auto* v = o.if_contains("strict_variables"); v && !v->is_null()) {
    if (!v->is_bool()) return bad("invalid_field", "strict_variables must be true or false", "strict_variables");
    spec.strict_variables = v->get_bool();
  }
  auto subscription = opt_string(o, "subscription_state", 32);
  if (!subscription) return subscription.error();
  if (!subscription->empty()) {
    auto r = parse_subscription_requirement(*subscription);
    if (!r)
      return bad("invalid_subscription_state", "subscription_state must be one of subscribed, opted_in, all",
                 "subscription_state");
    spec.subscription_state = *r;
  }

  // Whether the provider exists and is the tenant's to use is the engine's
  // rule (JobService::prepare), for every path that creates a job.
  auto provider = opt_string(o, "provider", 64);
  if (!provider) return provider.error();
  spec.provider = *provider;
  // The sender's existence, provider and pace are the engine's (JobService::prepare).
  auto sender = opt_string(o, "sender", 64);
  if (!sender) return sender.error();
  spec.sender = *sender;

  auto schedule = opt_time(o, "schedule_at");
  if (!schedule) return schedule.error();
  spec.schedule_at = *schedule;
  auto expires = opt_time(o, "expires_at");
  if (!expires) return expires.error();
  spec.expires_at = *expires;
  std::int64_t now = ctx.jobs.now_ms();
  if (spec.expires_at && *spec.expires_at <= std::max(now, spec.schedule_at.value_or(now)))
    return make_error(ErrorKind::unprocessable, "invalid_expires_at",
                      "expires_at must be later than now and than schedule_at", "expires_at");

  if (auto it = o.find("rate_limit"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_number()) return bad("invalid_rate_limit", "rate_limit must be a number of messages per second", "rate_limit");
    double r = it->value().to_number<double>();
    if (!(r > 0) || r > 1e7 || !std::isfinite(r))
      return bad("invalid_rate_limit", "rate_limit must be above 0 and at most 10000000 messages per second", "rate_limit");
    spec.rate_limit = r;
  }
  if (auto it = o.find("metadata"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_object()) return bad("invalid_metadata", "metadata must be a JSON object", "metadata");
    spec.metadata_json = json::serialize(it->value());
    if (spec.metadata_json.size() > 64 * 1024) return bad("invalid_metadata", "metadata must be at most 64 KiB", "metadata");
  }
  return spec;
}

// A spec naming a notification group, with the group's members in it: they
// are the group's to fix, so the spec itself may not give them.
Result<json::object> with_group(ApiContext& ctx, std::string_view tenant, const json::object& o) {
  auto* named = o.if_contains("notification_group");
  if (!named || named->is_null()) return o;
  if (!named->is_string()) return bad("invalid_field", "notification_group must be a string", "notification_group");
  std::string_view id = named->get_string();
  if (auto r = check_group_id(id, "notification_group"); !r) return r.error();
  auto group = ctx.groups.find_group(tenant, id);
  if (!group) return group.error();
  if (!*group)
    return make_error(ErrorKind::unprocessable, "unknown_notification_group",
                      fmt::format("no notification group '{}' exists", id), "notification_group");
  json::object merged = o;
  for (std::string_view member : kGroupMembers) {
    if (auto* given = o.if_contains(member); given && !given->is_null())
      return bad("conflicts_with_group",
                 fmt::format("{} comes from notification group '{}'; leave it out", member, id), std::string(member));
  }
  boost::system::error_code ec;
  auto stored = json::parse((*group)->spec_json, ec);
  if (ec || !stored.is_object())
    return make_error(ErrorKind::internal, "storage_corrupt", "unreadable notification group record");
  for (const auto& [k, v] : stored.get_object()) merged[k] = v;
  return merged;
}

ApiResponse view_of(ApiContext& ctx, const ApiRequest& req, const Job& job, int status) {
  auto counters = ctx.jobs.counters(job);
  if (!counters) return fail(counters.error(), req);
  auto hold = ctx.hold_of(job.key);
  return json_response(status, job_view(job, *counters, ctx.rate_of(job.key), hold ? &*hold : nullptr));
}

}  // namespace

Result<json::value> parse_json_body(const ApiRequest& req) {
  if (auto r = expect_json(req); !r) return r.error();
  if (req.body.empty()) return json::value(json::object());
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec) return bad("invalid_json", "the body is not valid JSON (UTF-8): " + ec.message(), "");
  return v;
}

Result<JobSpec> job_spec_from(ApiContext& ctx, std::string_view tenant, const json::object& spec_json) {
  auto merged = with_group(ctx, tenant, spec_json);
  if (!merged) return merged.error();
  return parse_spec(ctx, tenant, *merged);
}

Result<Job> create_job_from(ApiContext& ctx, std::string_view tenant, const json::object& spec_json,
                            const IdempotencyClaim* claim) {
  auto spec = job_spec_from(ctx, tenant, spec_json);
  if (!spec) return spec.error();
  return ctx.jobs.create(tenant, std::move(*spec), claim);
}

Result<Job> prepare_job_from(ApiContext& ctx, std::string_view tenant, const json::object& spec_json) {
  auto spec = job_spec_from(ctx, tenant, spec_json);
  if (!spec) return spec.error();
  return ctx.jobs.prepare(tenant, std::move(*spec));
}

Result<IngestReport> create_job_with_users(ApiContext& ctx, std::string_view tenant, const json::object& spec_json,
                                           const std::string& users_body, bool run, const IdempotencyClaim* claim) {
  return create_job_with_users(ctx, tenant, spec_json, users_body, CreateWith{.run = run, .claim = claim});
}

Result<IngestReport> create_job_with_users(ApiContext& ctx, std::string_view tenant, const json::object& spec_json,
                                           const std::string& users_body, const CreateWith& how) {
  auto job = prepare_job_from(ctx, tenant, spec_json);
  if (!job) return job.error();
  return ingest_json_users(ctx, *job, users_body, how);
}

ApiResponse create_job(ApiContext& ctx, const ApiRequest& req) {
  auto body = parse_json_body(req);
  if (!body) return fail(body.error(), req);
  if (!body->is_object()) return fail(bad("invalid_body", "the body must be a JSON object", ""), req);
  auto& o = body->get_object();
  if (o.contains("users") || o.contains("run") || o.contains("all_or_nothing")) {
    // Created, ingested and (with "run": true) started in one write.
    CreateWith how{.claim = req.idempotency};
    for (auto [key, flag] : {std::pair{"run", &how.run}, std::pair{"all_or_nothing", &how.all_or_nothing}}) {
      if (auto* r = o.if_contains(key); r && !r->is_null()) {
        if (!r->is_bool()) return fail(bad("invalid_field", fmt::format("{} must be true or false", key), key), req);
        *flag = r->get_bool();
      }
    }
    // A job with an audience starts once its audience is added (run_job):
    // created with its users in one write, then run.
    const bool run_after = how.run && o.contains("audience") && !o.at("audience").is_null();
    if (run_after) how.run = false;
    json::value users = json::array();
    if (auto* u = o.if_contains("users"); u && !u->is_null()) users = *u;
    o.erase("users");
    o.erase("run");
    o.erase("all_or_nothing");
    std::string users_body = json::serialize(json::object{{"users", std::move(users)}});
    auto report = create_job_with_users(ctx, req.tenant, o, users_body, how);
    if (!report) return fail(report.error(), req);
    if (!report->stored) {
      // all_or_nothing: the users refused are in the ingest result.
      auto r = fail(users_refused(*report), req);
      auto body = json::parse(r.body).as_object();
      body["ingested"] = std::move(report->summary);
      r.body = json::serialize(body);
      return r;
    }
    // A replay under the request's Idempotency-Key finds the job as it
    // stands: run already (no second run), or still CREATED (run now).
    if (run_after && report->job.status == JobStatus::created) {
      auto ran = run_job(ctx, req.tenant, report->job.id(), nullptr);
      if (!ran) return fail(ran.error(), req);
      report->job = std::move(*ran);
    }
    auto counters = ctx.jobs.counters(report->job);
    if (!counters) return fail(counters.error(), req);
    auto view = job_view(report->job, *counters, 0);
    view["ingested"] = std::move(report->summary);
    auto response = json_response(201, view);
    response.headers.emplace_back("Location", "/v1/jobs/" + report->job.id());
    return response;
  }
  auto job = create_job_from(ctx, req.tenant, o, req.idempotency);
  if (!job) return fail(job.error(), req);
  auto response = json_response(201, job_view(*job, JobCounters{}, 0));
  response.headers.emplace_back("Location", "/v1/jobs/" + job->id());
  return response;
}

ApiResponse get_job(ApiContext& ctx, const ApiRequest& req, std::string_view job_id) {
  auto job = ctx.jobs.get(req.tenant, job_id);
  if (!job) return fail(job.error(), req);
  return view_of(ctx, req, *job, 200);
}

ApiResponse list_jobs(ApiContext& ctx, const ApiRequest& req) {
  auto limit = page_limit(ctx, req);
  if (!limit) return fail(limit.error(), req);
  std::optional<JobStatus> status;
  if (auto it = req.query.find("status"); it != req.query.end() && !it->second.empty()) {
    status = parse_job_status(it->second);
    if (!status)
      return fail(bad("invalid_status", "status must be one of CREATED, SCHEDULED, PROCESSING, PAUSED, COMPLETED, PARTIAL, FAILED, CANCELLED, CANCELLING", "status"), req);
  }
  auto after = cursor_after(req, "jobs:" + req.tenant);
  if (!after) return fail(after.error(), req);
  auto page = ctx.store.list_jobs(req.tenant, status, *after, *limit);
  if (!page) return fail(page.error(), req);
  json::array items;
  for (const auto& job : page->jobs) {
    auto counters = ctx.store.counters(job.key);
    if (!counters) return fail(counters.error(), req);
    auto hold = ctx.hold_of(job.key);
    items.push_back(job_view(job, *counters, ctx.rate_of(job.key), hold ? &*hold : nullptr));
  }
  json::object paging{{"more", !page->next_after.empty()},
                      {"cursor", page->next_after.empty() ? json::value(nullptr)
                                                          : json::value(encode_bytes_cursor("jobs:" + req.tenant, page->next_after))}};
  return json_response(200, json::object{{"jobs", std::move(items)}, {"paging", std::move(paging)}});
}

ApiResponse patch_job(ApiContext& ctx, const ApiRequest& req, std::string_view job_id) {
  auto body = parse_json_body(req);
  if (!body) return fail(body.error(), req);
  if (!body->is_object()) return fail(bad("invalid_body", "the body must be a JSON object", ""), req);
  const auto& o = body->get_object();
  for (const auto& [k, v] : o)
    if (k != "rate_limit")
      return fail(bad("unknown_field", fmt::format("'{}' cannot change after create; only rate_limit can", std::string_view(k)),
                      std::string(k)),
                  req);
  auto it = o.find("rate_limit");
  if (it == o.end()) return fail(bad("invalid_body", "give rate_limit (a number, or null for none)", "rate_limit"), req);
  double rate = 0;
  if (!it->value().is_null()) {
    if (!it->value().is_number())
      return fail(bad("invalid_rate_limit", "rate_limit must be a number of messages per second", "rate_limit"), req);
    rate = it->value().to_number<double>();
    if (!(rate > 0) || rate > 1e7 || !std::isfinite(rate))
      return fail(bad("invalid_rate_limit", "rate_limit must be above 0 and at most 10000000 messages per second", "rate_limit"), req);
  }
  auto job = ctx.jobs.set_rate_limit(req.tenant, job_id, rate);
  if (!job) return fail(job.error(), req);
  return view_of(ctx, req, *job, 200);
}

ApiResponse job_action(ApiContext& ctx, const ApiRequest& req, std::string_view job_id, JobAction action) {
  auto job = action == JobAction::run ? run_job(ctx, req.tenant, job_id, req.idempotency)
                                      : ctx.jobs.apply(req.tenant, job_id, action, req.idempotency);
  if (!job) return fail(job.error(), req);
  return view_of(ctx, req, *job, action == JobAction::run ? 202 : 200);
}

}  // namespace crier::api
