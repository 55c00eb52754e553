// Mindo's WhatsApp send-bulk (its documentation page is the contract) over
// the native jobs and senders:
//   POST /api/v1/meta-templates/send-bulk/                        one whatsapp job naming the sender,
//        created, ingested and started in ONE write (create_job_with_users' path), quota reserved in it
//   GET  /api/v1/meta-templates/send-bulk/{bulk_send_id}/          the job's status and counters
//   POST /api/v1/meta-templates/send-bulk/{bulk_send_id}/cancel/   JobAction::cancel
// The bulk_send_id is the job key written as a UUID, so it needs no index.
// Every mapping is listed in docs/compat.md.
#include <boost/json.hpp>
#include <fmt/format.h>
#include <xxhash.h>

#include <cmath>
#include <variant>

#include "api/compat/facades.h"
#include "api/errors.h"
#include "api/routes/routes.h"
#include "api/ingest/json_reader.h"
#include "engine/render.h"
#include "engine/sender_quota.h"
#include "engine/time_format.h"
#include "engine/user_validation.h"

namespace crier::api::compat {
namespace json = boost::json;
namespace {

constexpr std::string_view kRequired = "This field is required.";

// Mindo's error body: {"error": "<text>"} with the status of the error.
ApiResponse mindo_error(const Error& e, const ApiRequest& req) {
  std::string text = e.message;
  if (e.kind == ErrorKind::unauthorized)
    text = e.code == "missing_api_key" ? "Este endpoint requiere autenticacion con API Key (header X-API-Key)"
                                       : "API Key invalida";
  auto r = json_answer(http_status(e.kind), json::object{{"error", text}});
  if (auto after = retry_after_seconds(e)) r.headers.emplace_back("Retry-After", std::to_string(*after));
  return r;
}

ApiResponse error_text(int status, std::string text) { return json_answer(status, json::object{{"error", std::move(text)}}); }

// ---- ids and names ----------------------------------------------------------------

// The job key as a UUID: its 16 bytes in 8-4-4-4-12 hex. Not a version-4
// UUID (the bytes are the key's, time then random), but any UUID parser
// reads it, and it maps back to the job without an index.
std::string bulk_send_id(const JobKey& key) {
  std::string out;
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out += fmt::format("{:02x}", key[i]);
  }
  return out;
}

// A bulk_send_id (with or without dashes, any case) back to the job key.
std::optional<JobKey> parse_bulk_send_id(std::string_view s) {
  std::string hex;
  for (char c : s)
    if (c != '-') hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (hex.size() != 32) return std::nullopt;
  JobKey key{};
  for (std::size_t i = 0; i < 16; ++i) {
    auto digit = [](char c) -> int { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
    int hi = digit(hex[2 * i]), lo = digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    key[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return key;
}

// Mindo's "internal number ID" (an integer): a stable hash of the tenant and
// the phone_number_id, within JSON's exact integers.
std::int64_t number_id(const Sender& s) {
  std::string k = s.tenant + '\0' + s.phone_number_id;
  return static_cast<std::int64_t>(XXH3_64bits(k.data(), k.size()) & ((1ULL << 53) - 1));
}

// Tiers as Mindo writes them (TIER_1000, not Meta's TIER_1K).
std::string_view mindo_tier(MessagingTier t) {
  switch (t) {
    case MessagingTier::tier_250: return "TIER_250";
    case MessagingTier::tier_1k: return "TIER_1000";
    case MessagingTier::tier_10k: return "TIER_10000";
    case MessagingTier::tier_100k: return "TIER_100000";
    case MessagingTier::unlimited: return "TIER_UNLIMITED";
  }
  return "TIER_UNLIMITED";
}

json::value optional_count(const std::optional<std::int64_t>& v) { return v ? json::value(*v) : json::value(nullptr); }

json::object phone_number_view(const Sender& s) {
  return json::object{{"id", number_id(s)},
                      {"phone_number_id", s.phone_number_id},
                      {"display_phone_number", s.display_phone_number},
                      {"verified_name", s.verified_name},
                      {"quality_rating", to_string(s.quality_rating)},
                      {"messaging_limit_tier", mindo_tier(s.tier)}};
}

json::object quota_info(bool can_send, std::int64_t needed, const QuotaStatus& q, MessagingTier tier) {
  return json::object{{"can_send", can_send},
                      {"quota_needed", needed},
                      {"quota_available", optional_count(q.available)},
                      {"quota_total", optional_count(q.total)},
                      {"tier", mindo_tier(tier)}};
}

// ---- the request ------------------------------------------------------------------

// Field errors in Mindo's (Django REST framework's) shape: {"<field>": ["…"]}.
using FieldErrors = json::object;

void add_error(FieldErrors& errors, std::string_view field, std::string_view message) {
  errors[field].emplace_array().emplace_back(message);
}

// A required string member: its value, or the field's error recorded.
std::optional<std::string> required_string(const json::object& body, std::string_view key, FieldErrors& errors) {
  auto* v = body.if_contains(key);
  if (!v) add_error(errors, key, kRequired);
  else if (v->is_null()) add_error(errors, key, "This field may not be null.");
  else if (!v->is_string()) add_error(errors, key, "Not a valid string.");
  else if (v->get_string().empty()) add_error(errors, key, "This field may not be blank.");
  else return std::string(v->get_string());
  return std::nullopt;
}

struct SendBulk {
  std::string phone_number_id, template_name, language;
  json::array users;  // native users
  std::size_t total = 0;
};

// button_variables {"button_0": "ABC-123", ...} as the native data's
// whatsapp_buttons (engine/render.h): URL buttons, by index.
std::optional<json::array> native_buttons(const json::value& v) {
  if (!v.is_object()) return std::nullopt;
  json::array out;
  for (const auto& [k, value] : v.get_object()) {
    std::string_view key = k;
    if (!key.starts_with("button_") || key.size() != 8 || key[7] < '0' || key[7] > '9') return std::nullopt;
    std::string text;
    if (value.is_string()) text = value.get_string();
    else if (value.is_int64() || value.is_uint64()) text = json::serialize(value);
    else return std::nullopt;
    out.push_back(json::object{{"index", key[7] - '0'}, {"sub_type", "url"}, {"text", std::move(text)}});
  }
  return out;
}

// One recipient as a native user; its errors (an object, empty when none).
json::object native_user(const json::value& v, json::array& users) {
  json::object errors;
  if (!v.is_object()) {
    add_error(errors, "non_field_errors", "Invalid data. Expected a dictionary.");
    return errors;
  }
  const auto& r = v.get_object();
  auto phone = required_string(r, "phone", errors);
  if (phone)
    if (auto n = normalize_phone(*phone); !n) add_error(errors, "phone", n.error().message);
  json::object data;
  if (auto* vars = r.if_contains("variables"); vars && !vars->is_null()) {
    if (!vars->is_object()) add_error(errors, "variables", "Expected a dictionary of items.");
    else data = vars->get_object();
  }
  if (auto* buttons = r.if_contains("button_variables"); buttons && !buttons->is_null()) {
    auto native = native_buttons(*buttons);
    if (!native)
      add_error(errors, "button_variables", "Expected a dictionary of button_0 … button_9 to strings.");
    else if (!native->empty())
      data[kWhatsappButtonsKey] = std::move(*native);
  }
  if (errors.empty()) {
    json::object user{{"phone", *phone}};
    if (!data.empty()) user["data"] = std::move(data);
    users.push_back(std::move(user));
  }
  return errors;
}

// The request read and checked field by field; an answer when it is refused.
std::variant<SendBulk, ApiResponse> read_send_bulk(const ApiRequest& req) {
  auto body = json_object_body(req);
  if (!body) return mindo_error(body.error(), req);
  SendBulk s;
  FieldErrors errors;
  auto phone_number_id = required_string(*body, "phone_number_id", errors);
  auto template_name = required_string(*body, "template_name", errors);
  s.language = "es";
  if (auto* l = body->if_contains("language"); l && !l->is_null()) {
    if (!l->is_string()) add_error(errors, "language", "Not a valid string.");
    else if (!l->get_string().empty()) s.language = l->get_string();
  }
  const json::array* recipients = nullptr;
  auto* r = body->if_contains("recipients");
  if (!r) add_error(errors, "recipients", kRequired);
  else if (r->is_null()) add_error(errors, "recipients", "This field may not be null.");
  else if (!r->is_array()) add_error(errors, "recipients", "Expected a list of items.");
  else recipients = &r->get_array();
  if (!errors.empty()) return json_answer(400, errors);
  if (recipients->empty()) return error_text(400, "recipients es requerido y no puede estar vacio");

  s.phone_number_id = std::move(*phone_number_id);
  s.template_name = std::move(*template_name);
  s.total = recipients->size();
  json::array per_recipient;
  bool any = false;
  s.users.reserve(recipients->size());
  for (const auto& v : *recipients) {
    auto e = native_user(v, s.users);
    any = any || !e.empty();
    per_recipient.push_back(std::move(e));
  }
  if (any) return json_answer(400, json::object{{"recipients", std::move(per_recipient)}});
  return s;
}

// ---- send-bulk ----------------------------------------------------------------------

// The tenant's sender, or Mindo's 404.
std::variant<Sender, ApiResponse> sender_of(ApiContext& ctx, const ApiRequest& req, const std::string& id) {
  Result<std::optional<Sender>> s = is_valid_sender_id(id) && ctx.senders
                                        ? ctx.senders->find_sender(req.tenant, id)
                                        : Result<std::optional<Sender>>(std::optional<Sender>());
  if (!s) return mindo_error(s.error(), req);
  if (!*s) return error_text(404, fmt::format("Numero de WhatsApp con ID '{}' no encontrado", id));
  return std::move(**s);
}

// 404 unless the template's variant for the language has whatsapp content.
std::optional<ApiResponse> check_template(ApiContext& ctx, const ApiRequest& req, const SendBulk& s) {
  auto not_found = [&] {
    return error_text(404, fmt::format("Template '{}' (language: {}) no encontrado en este business account",
                                       s.template_name, s.language));
  };
  if (!is_valid_locale(s.language)) return not_found();
  auto t = ctx.templates.find_template(req.tenant, s.template_name);
  if (!t) return mindo_error(t.error(), req);
  if (!*t || !(*t)->content.for_locale(canonical_locale(s.language)).whatsapp) return not_found();
  return std::nullopt;
}

ApiResponse quota_refused(const Error& e, const Sender& sender) {
  auto detail = [&](std::string_view name) -> std::int64_t {
    for (const auto& [k, v] : e.details)
      if (k == name) return v;
    return 0;
  };
  QuotaStatus q{detail("quota_total"), detail("quota_used_24h"), detail("quota_available")};
  std::int64_t needed = detail("quota_needed");
  auto r = json_answer(
      429, json::object{{"error", fmt::format("Cuota insuficiente para el numero '{}': el envio necesita {} "
                                              "conversaciones y quedan {} de {} en las ultimas 24 horas ({})",
                                              sender.phone_number_id, needed, *q.available, *q.total,
                                              mindo_tier(sender.tier))},
                        {"quota_info", quota_info(false, needed, q, sender.tier)}});
  if (auto after = retry_after_seconds(e)) r.headers.emplace_back("Retry-After", std::to_string(*after));
  return r;
}

ApiResponse send_bulk(ApiContext& ctx, ApiRequest& req) {
  auto read = read_send_bulk(req);
  if (auto* refused = std::get_if<ApiResponse>(&read)) return std::move(*refused);
  auto& s = std::get<SendBulk>(read);
  auto found = sender_of(ctx, req, s.phone_number_id);
  if (auto* refused = std::get_if<ApiResponse>(&found)) return std::move(*refused);
  const Sender& sender = std::get<Sender>(found);
  if (auto refused = check_template(ctx, req, s)) return std::move(*refused);

  // The native job: the template's locale variant, sent by the sender (its
  // provider, pace and quota), with the Mindo request kept as metadata.
  json::object spec{{"channel", "whatsapp"},
                    {"template", s.template_name},
                    {"locale", s.language},
                    {"sender", s.phone_number_id}};
  auto job = prepare_job_from(ctx, req.tenant, spec);
  if (!job) return mindo_error(job.error(), req);
  const std::string bulk_id = bulk_send_id(job->key);
  job->spec.metadata_json = json::serialize(json::object{
      {"mindo", json::object{{"bulk_send_id", bulk_id},
                             {"phone_number_id", s.phone_number_id},
                             {"template_name", s.template_name},
                             {"language", s.language},
                             {"total_recipients", s.total}}}});
  const std::size_t total = s.total;
  std::string users_body = json::serialize(json::object{{"users", std::move(s.users)}});
  auto report = ingest_json_users(ctx, *job, users_body, CreateWith{.run = true, .claim = req.idempotency});
  if (!report) {
    if (report.error().code == "sender_quota_exceeded") return quota_refused(report.error(), sender);
    return mindo_error(report.error(), req);
  }
  const Job& stored = report->job;
  const std::int64_t unique = report->summary.at("accepted").to_number<std::int64_t>();

  // The quota as it stands now, this send's reservation included.
  auto uses = ctx.senders->quota_uses(req.tenant, sender.phone_number_id, ctx.jobs.now_ms() - kQuotaWindowMs);
  if (!uses) return mindo_error(uses.error(), req);
  const QuotaStatus quota = quota_status(sender.tier, *uses, ctx.jobs.now_ms());

  // The stored job's: a retry after a lost answer finds the first attempt's.
  json::object answer{{"bulk_send_id", bulk_send_id(stored.key)},
                      {"task_id", stored.id()},
                      {"status", "queued"},
                      {"template_name", s.template_name},
                      {"total_recipients", total},
                      {"unique_recipients", unique},
                      {"estimated_time_minutes", estimated_minutes(unique, stored.spec.rate_limit)},
                      {"created_at", format_rfc3339(stored.created_at)},
                      {"whatsapp_phone_number", phone_number_view(sender)},
                      {"quota_info", quota_info(true, unique, quota, sender.tier)}};
  return json_answer(202, answer);
}

// ---- status and cancel -------------------------------------------------------------

// Crier's job status in Mindo's six (docs/compat.md). A started job that
// has not attempted a message yet is still QUEUED; a paused one is in
// progress.
std::string_view mindo_status(JobStatus s, const JobCounters& c) {
  switch (s) {
    case JobStatus::created:
    case JobStatus::scheduled: return "QUEUED";
    case JobStatus::processing:
    case JobStatus::paused:
      return c[Counter::sent] + c[Counter::delivered] + c[Counter::failed] == 0 ? "QUEUED" : "PROCESSING";
    case JobStatus::completed: return "COMPLETED";
    case JobStatus::partial: return "PARTIAL";
    case JobStatus::failed: return "FAILED";
    case JobStatus::cancelled: return "CANCELLED";
    // Mindo has no transient state: still under way until the sweep ends,
    // so CANCELLED always comes with final counts.
    case JobStatus::cancelling: return "PROCESSING";
  }
  return "FAILED";
}

std::variant<Job, ApiResponse> job_of(ApiContext& ctx, const ApiRequest& req, std::string_view id) {
  auto not_found = [&] { return error_text(404, fmt::format("Envio masivo '{}' no encontrado", id)); };
  auto key = parse_bulk_send_id(id);
  if (!key) return not_found();
  auto job = ctx.jobs.get(req.tenant, job_id_string(*key));
  if (!job) return job.error().kind == ErrorKind::not_found ? not_found() : mindo_error(job.error(), req);
  return std::move(*job);
}

json::value time_or_null(const std::optional<std::int64_t>& ms) {
  return ms ? json::value(format_rfc3339(*ms)) : json::value(nullptr);
}

ApiResponse status_answer(ApiContext& ctx, const ApiRequest& req, const Job& job) {
  auto counters = ctx.jobs.counters(job);
  if (!counters) return mindo_error(counters.error(), req);
  const JobCounters& c = *counters;
  json::object mindo;
  if (!job.spec.metadata_json.empty()) {
    auto meta = json::parse(job.spec.metadata_json);
    if (auto* m = meta.as_object().if_contains("mindo"); m && m->is_object()) mindo = m->get_object();
  }
  auto from_meta = [&](std::string_view key, json::value fallback) {
    auto* v = mindo.if_contains(key);
    return v ? *v : fallback;
  };
  const std::int64_t unique = c[Counter::unique];
  const std::int64_t done = unique - c.outstanding();
  double progress = unique > 0 ? std::round(1000.0 * static_cast<double>(done) / static_cast<double>(unique)) / 10.0
                               : (is_final(job.status) ? 100.0 : 0.0);
  json::object o{{"bulk_send_id", bulk_send_id(job.key)},
                 {"task_id", job.id()},
                 {"status", mindo_status(job.status, c)},
                 {"template_name", from_meta("template_name", json::value(job.spec.template_id))},
                 {"language", from_meta("language", json::value(job.spec.locale))},
                 {"phone_number_id", from_meta("phone_number_id", json::value(job.spec.sender))},
                 {"total_recipients", from_meta("total_recipients", json::value(c[Counter::received]))},
                 {"unique_recipients", unique},
                 {"sent", c[Counter::sent] + c[Counter::delivered]},
                 {"delivered", c[Counter::delivered]},
                 {"read", c[Counter::read]},
                 {"failed", c[Counter::failed] + c[Counter::skipped]},
                 {"pending", c.outstanding()},
                 {"cancelled", c[Counter::cancelled]},
                 {"progress_percentage", progress},
                 {"created_at", format_rfc3339(job.created_at)},
                 {"started_at", time_or_null(job.started_at)},
                 {"completed_at", time_or_null(job.finished_at)}};
  return json_answer(200, o);
}

ApiResponse get_status(ApiContext& ctx, ApiRequest& req, std::string_view id) {
  auto job = job_of(ctx, req, id);
  if (auto* refused = std::get_if<ApiResponse>(&job)) return std::move(*refused);
  return status_answer(ctx, req, std::get<Job>(job));
}

ApiResponse cancel(ApiContext& ctx, ApiRequest& req, std::string_view id) {
  auto job = job_of(ctx, req, id);
  if (auto* refused = std::get_if<ApiResponse>(&job)) return std::move(*refused);
  auto cancelled = ctx.jobs.apply(req.tenant, std::get<Job>(job).id(), JobAction::cancel, req.idempotency);
  if (!cancelled) {
    if (cancelled.error().kind == ErrorKind::conflict)
      return error_text(409, fmt::format("El envio masivo '{}' no se puede cancelar: esta {}", id,
                                         cancelled.error().status));
    return mindo_error(cancelled.error(), req);
  }
  return status_answer(ctx, req, *cancelled);
}

ApiResponse route(ApiContext& ctx, ApiRequest& req) {
  auto p = path_parts(req.path);  // "api", "v1", "meta-templates", ...
  const std::string& m = req.method;
  if (p.size() >= 4 && p[3] == "send-bulk") {
    if (p.size() == 4) {
      if (m == "POST") return send_bulk(ctx, req);
      return mindo_error(method_not_allowed(req, "POST"), req);
    }
    if (p.size() == 5) {
      if (m == "GET") return get_status(ctx, req, p[4]);
      return mindo_error(method_not_allowed(req, "GET"), req);
    }
    if (p.size() == 6 && p[5] == "cancel") {
      if (m == "POST") return cancel(ctx, req, p[4]);
      return mindo_error(method_not_allowed(req, "POST"), req);
    }
  }
  return mindo_error(not_found(req), req);
}

Result<void> api_key_auth(const ApiContext& ctx, ApiRequest& req) { return header_key_auth(ctx, req, "x-api-key"); }

}  // namespace

const Facade& mindo() {
  static const Facade f{"mindo", api_key_auth, route, mindo_error};
  return f;
}

}  // namespace crier::api::compat
