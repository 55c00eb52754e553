// Prelude's Notify batch (@prelude.so/sdk 0.10.x, `notify.sendBatch`) over
// the native jobs:
//   POST /v2/notify/batch   one native job, created, ingested and run in one
//                           atomic write (create_job_with_users); the answer
//                           speaks per number, in the order of `to`.
// Every mapping is listed in docs/compat.md.
#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "api/compat/facades.h"
#include "api/errors.h"
#include "api/routes/routes.h"
#include "api/ingest/json_reader.h"
#include "engine/ids.h"
#include "engine/render.h"
#include "engine/sms_segments.h"
#include "engine/time_format.h"
#include "engine/user_validation.h"

namespace crier::api::compat {
namespace json = boost::json;
namespace {

// Prelude's documented limit for correlation_id (the OpenAPI maxLength,
// counted in characters).
constexpr std::size_t kMaxCorrelationChars = 80;
// A Sender ID is an alphanumeric name or a number; anything longer is not one.
constexpr std::size_t kMaxSenderIdBytes = 64;

Error invalid(std::string code, std::string message, std::string field = {}) {
  return make_error(ErrorKind::invalid, std::move(code), std::move(message), std::move(field));
}

// ---- errors ------------------------------------------------------------------------

// Prelude's error type for each status family.
std::string_view prelude_type(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid:
    case ErrorKind::too_large:
    case ErrorKind::unsupported:
    case ErrorKind::unprocessable: return "bad_request";
    case ErrorKind::unauthorized: return "unauthorized";
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::method_not_allowed: return "method_not_allowed";
    case ErrorKind::conflict: return "conflict";
    case ErrorKind::unavailable: return "service_unavailable";
    case ErrorKind::timeout: return "request_timeout";
    case ErrorKind::exhausted: return "rate_limit_exceeded";
    case ErrorKind::insufficient_storage: return "insufficient_storage";
    case ErrorKind::internal: return "internal_error";
  }
  return "internal_error";
}

// A native error in Prelude's terms: Prelude's code where its error list has
// one for the same fault, and its parameter names (docs/compat.md).
Error prelude_terms(Error e) {
  if (e.code == "invalid_timestamp") e.code = "invalid_date_format";
  if (e.code == "invalid_data") e.code = "invalid_template_variables";
  if (e.code == "too_many_users") e.code = "batch_size_exceeded";
  if (e.code == "unknown_template") {  // deleted since the façade looked it up
    e.code = "template_not_found";
    e.kind = ErrorKind::invalid;
  }
  if (e.field == "template") e.field = "template_id";
  if (e.field == "data") e.field = "variables";
  if (e.field == "users" || e.field == "phone") e.field = "to";
  return e;
}

// Prelude's error body, at the top level (the client reads `message` there):
// {"code", "message", "type", "request_id", "param"?}.
ApiResponse prelude_error(const Error& native, const ApiRequest& req) {
  Error e = prelude_terms(native);
  log_detail(e, req.request_id);
  int status = http_status(e.kind);
  json::object o{{"code", e.code}, {"message", e.message}, {"type", prelude_type(e.kind)}, {"request_id", req.request_id}};
  if (!e.field.empty()) o["param"] = e.field;
  auto r = json_answer(status, o);
  if (e.kind == ErrorKind::unauthorized) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  // The client retries 408, 409, 429 and 5xx twice unless told not to: a
  // refused request (a reused Idempotency-Key) would be sent three times.
  if (status < 500 && status != 429) r.headers.emplace_back("x-should-retry", "false");
  return r;
}

// ---- the request -------------------------------------------------------------------

const json::value* member(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() || it->value().is_null() ? nullptr : &it->value();
}

std::size_t utf8_chars(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// The channels a batch goes on, best first: WhatsApp before SMS when it is
// preferred and the template has WhatsApp content; SMS otherwise (Crier has
// no RCS); a template with only one of the two goes on that one.
Result<std::vector<std::string>> batch_channels(const Template& t, std::string_view preferred) {
  const Content& c = t.content.base;
  std::vector<std::string> out;
  if (preferred == "whatsapp" && c.whatsapp) out.emplace_back("whatsapp");
  if (c.sms) out.emplace_back("sms");
  if (out.empty() && c.whatsapp) out.emplace_back("whatsapp");
  if (out.empty())
    return invalid("invalid_template_id", fmt::format("template '{}' has no SMS or WhatsApp content", t.id), "template_id");
  return out;
}

struct Batch {
  std::vector<std::string> to;  // as given
  json::object spec;            // the native job spec
  const json::value* variables = nullptr;
  std::string from;
};

// The native spec of a batch, every member checked (docs/compat.md).
Result<Batch> read_batch(ApiContext& ctx, std::string_view tenant, const json::object& body) {
  Batch b;
  auto* to = member(body, "to");
  if (!to) return invalid("missing_field", "to is required: an array of E.164 phone numbers", "to");
  if (!to->is_array()) return invalid("invalid_field", "to must be an array of E.164 phone numbers", "to");
  const auto& list = to->get_array();
  if (list.empty()) return invalid("empty_batch", "to is empty: give at least one phone number", "to");
  if (list.size() > ctx.limits.max_users_per_batch)
    return make_error(ErrorKind::too_large, "batch_size_exceeded",
                      fmt::format("at most {} phone numbers per batch", ctx.limits.max_users_per_batch), "to");
  b.to.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string())
      return invalid("invalid_field", fmt::format("to[{}] must be a string (an E.164 phone number)", i), "to");
    b.to.emplace_back(list[i].get_string());
  }

  auto* id = member(body, "template_id");
  if (!id) return invalid("missing_field", "template_id is required", "template_id");
  if (!id->is_string() || id->get_string().empty())
    return invalid("invalid_template_id", "template_id must be the id of a stored template", "template_id");
  std::string_view template_id = id->get_string();
  auto t = ctx.templates.find_template(tenant, template_id);
  if (!t) return t.error();
  if (!*t) return invalid("template_not_found", fmt::format("no template '{}' exists", template_id), "template_id");

  std::string_view preferred = "sms";
  if (auto* p = member(body, "preferred_channel")) {
    if (!p->is_string() || (p->get_string() != "sms" && p->get_string() != "rcs" && p->get_string() != "whatsapp"))
      return invalid("invalid_field", "preferred_channel must be one of sms, rcs, whatsapp", "preferred_channel");
    preferred = p->get_string();
  }
  auto channels = batch_channels(**t, preferred);
  if (!channels) return channels.error();
  json::object& spec = b.spec;
  spec["template"] = template_id;
  if (channels->size() == 1) {
    spec["channel"] = channels->front();
  } else {
    json::array routed;
    for (const auto& c : *channels) routed.emplace_back(c);
    spec["routing"] = json::object{{"method", "single"}, {"channels", std::move(routed)}};
  }

  if (auto* v = member(body, "variables")) {
    if (!v->is_object()) return invalid("invalid_template_variables", "variables must be an object", "variables");
    spec["data"] = *v;
    b.variables = v;
  }
  if (auto* l = member(body, "locale")) {
    if (!l->is_string()) return invalid("invalid_locale", "locale must be a BCP 47 string such as fr-FR", "locale");
    spec["locale"] = *l;
  }
  for (const char* key : {"schedule_at", "expires_at"}) {
    if (auto* v = member(body, key)) {
      if (!v->is_string())
        return invalid("invalid_date_format", fmt::format("{} must be an RFC 3339 time such as 2026-12-01T09:00:00Z", key), key);
      spec[key] = *v;
    }
  }
  if (auto* u = member(body, "callback_url")) {
    if (!u->is_string()) return invalid("invalid_callback_url", "callback_url must be an absolute http or https URL", "callback_url");
    spec["callback_url"] = *u;
  }
  if (auto* c = member(body, "correlation_id")) {
    if (!c->is_string() || utf8_chars(c->get_string()) > kMaxCorrelationChars)
      return invalid("invalid_correlation_id",
                     fmt::format("correlation_id must be a string of at most {} characters", kMaxCorrelationChars), "correlation_id");
    spec["correlation_id"] = *c;
  }

  // What Crier keeps but does not send with: the Sender ID (the providers'
  // own configuration says who sends), the preference and the media header.
  json::object kept;
  if (auto* f = member(body, "from")) {
    if (!f->is_string() || f->get_string().empty() || f->get_string().size() > kMaxSenderIdBytes)
      return invalid("invalid_sender_id", fmt::format("from must be a Sender ID of 1 to {} bytes", kMaxSenderIdBytes), "from");
    b.from = f->get_string();
    kept["from"] = *f;
  }
  if (auto* p = member(body, "preferred_channel")) kept["preferred_channel"] = *p;
  if (auto* d = member(body, "document")) {
    auto* url = d->is_object() ? member(d->get_object(), "url") : nullptr;
    if (!url || !url->is_string() || url->get_string().empty())
      return invalid("invalid_field", "document must be an object with a url", "document");
    kept["document"] = *d;
  }
  spec["metadata"] = json::object{{"prelude", std::move(kept)}};
  return b;
}

// ---- the answer --------------------------------------------------------------------

json::object failure(std::string_view phone, std::string_view code, std::string_view message) {
  return json::object{{"phone_number", phone}, {"success", false}, {"error", json::object{{"code", code}, {"message", message}}}};
}

// A number the native validation refused, in Prelude's terms: each user
// carries only its number, so any refusal is about the number, and an empty
// one (missing_address, or the parser's invalid_field) is as invalid as a
// malformed one.
json::object refused(std::string_view phone, const Error& e) {
  if (e.code == "invalid_phone_number") return failure(phone, e.code, e.message);
  return failure(phone, "invalid_phone_number", phone.empty() ? "the phone number is empty" : e.message);
}

// The `message` of an accepted number; the same for every number of the
// job but its id and number.
// The SMS every number of the batch gets, measured (engine/sms_segments.h):
// Prelude has no per-number variables, so the body is the same for all and
// is rendered once. None when the batch does not go out as SMS.
std::optional<SmsSegments> sms_measure(const Job& job) {
  if (job.spec.channel != Channel::sms) return std::nullopt;
  auto renderer = JobRenderer::compile(job.spec);
  if (!renderer) return std::nullopt;
  auto m = (*renderer)->render(Recipient{});
  if (!m || !m->sms) return std::nullopt;
  return *m->sms;
}

json::object accepted(const Job& job, const Batch& b, std::uint64_t seq, const std::string& normalized,
                      const std::optional<SmsSegments>& sms) {
  json::object m{{"id", message_id(job.key, seq)}, {"to", normalized}};
  if (!b.from.empty()) m["from"] = b.from;
  m["created_at"] = format_rfc3339(job.created_at);
  if (job.spec.schedule_at) m["schedule_at"] = format_rfc3339(*job.spec.schedule_at);
  if (job.spec.expires_at) m["expires_at"] = format_rfc3339(*job.spec.expires_at);
  if (!job.spec.correlation_id.empty()) m["correlation_id"] = job.spec.correlation_id;
  if (!job.spec.locale.empty()) m["locale"] = job.spec.locale;
  if (sms) {
    m["encoding"] = to_string(sms->encoding);
    m["estimated_segment_count"] = sms->segments;
  }
  return m;
}

json::object answer(const ApiRequest& req, const Job& job, const Batch& b, json::array results) {
  std::int64_t ok = 0;
  for (const auto& r : results) ok += r.get_object().at("success").as_bool() ? 1 : 0;
  auto total = static_cast<std::int64_t>(results.size());
  json::object o{{"results", std::move(results)},
                 {"total_count", total},
                 {"success_count", ok},
                 {"error_count", total - ok},
                 {"request_id", req.request_id}};
  if (!job.spec.callback_url.empty()) o["callback_url"] = job.spec.callback_url;
  if (b.variables) o["variables"] = *b.variables;
  o["template_id"] = job.spec.template_id;
  return o;
}

ApiResponse send_batch(ApiContext& ctx, ApiRequest& req) {
  auto body = json_object_body(req);
  if (!body) return prelude_error(body.error(), req);
  auto batch = read_batch(ctx, req.tenant, *body);
  if (!batch) return prelude_error(batch.error(), req);
  const auto& to = batch->to;

  // Each number as the native validation sees it (the same function ingest
  // calls): a batch with no valid number stores no job at all.
  JobSpec sms;
  sms.channel = Channel::sms;
  std::vector<Result<Recipient>> checked;
  checked.reserve(to.size());
  bool any_valid = false;
  for (const auto& n : to) {
    RawUser u;
    u.phone = n;
    checked.push_back(validate_user(u, sms));
    any_valid = any_valid || checked.back().ok();
  }
  if (!any_valid) {
    // Nothing would be sent: no job, but the rest of the request is checked
    // as if one were created.
    auto job = prepare_job_from(ctx, req.tenant, batch->spec);
    if (!job) return prelude_error(job.error(), req);
    json::array results;
    for (std::size_t i = 0; i < to.size(); ++i) results.push_back(refused(to[i], checked[i].error()));
    return json_answer(200, answer(req, *job, *batch, std::move(results)));
  }

  json::array users;
  users.reserve(to.size());
  for (const auto& n : to) users.push_back(json::object{{"phone", n}});
  std::string users_body = json::serialize(json::object{{"users", std::move(users)}});
  auto report = create_job_with_users(ctx, req.tenant, batch->spec, users_body, true, req.idempotency);
  if (!report) return prelude_error(report.error(), req);

  json::array results;
  results.reserve(to.size());
  const auto measure = sms_measure(report->job);
  std::map<std::string_view, std::size_t> first_of;  // normalised number -> its first index
  for (std::size_t i = 0; i < to.size(); ++i) {
    if (i >= report->users.size()) {
      results.push_back(failure(to[i], "internal", "no outcome was recorded for this number"));
      continue;
    }
    const UserOutcome& o = report->users[i];
    switch (o.kind) {
      case UserOutcome::Kind::accepted: {
        const std::string& phone = checked[i]->phone;
        first_of.emplace(phone, i);
        results.push_back(json::object{{"phone_number", to[i]}, {"success", true},
                                       {"message", accepted(report->job, *batch, o.seq, phone, measure)}});
        break;
      }
      case UserOutcome::Kind::duplicate: {
        auto first = checked[i] ? first_of.find(checked[i]->phone) : first_of.end();
        std::string why = first == first_of.end()
                              ? std::string("this number is already in the batch: it receives one message")
                              : fmt::format("this number is already in the batch at to[{}]: it receives one message", first->second);
        results.push_back(failure(to[i], "duplicate_recipient", why));
        break;
      }
      case UserOutcome::Kind::rejected: results.push_back(refused(to[i], o.error)); break;
    }
  }
  return json_answer(200, answer(req, report->job, *batch, std::move(results)));
}

ApiResponse route(ApiContext& ctx, ApiRequest& req) {
  auto p = path_parts(req.path);  // p[0] == "v2", p[1] == "notify"
  if (p.size() == 3 && p[2] == "batch") {
    if (req.method == "POST") return send_batch(ctx, req);
    auto r = prelude_error(method_not_allowed(req, "POST"), req);
    r.headers.emplace_back("Allow", "POST");
    return r;
  }
  return prelude_error(not_found(req), req);
}

}  // namespace

const Facade& prelude() {
  static const Facade f{"prelude", bearer_auth, route, prelude_error};
  return f;
}

}  // namespace crier::api::compat
