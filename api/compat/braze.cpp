// Braze's REST API (braze-api 2.13.x: `users.track`, `messages.send`,
// `sends.id.create`) over the native profiles and jobs:
//   POST /users/track        each attributes object is a JSON Merge Patch of
//                            the profile with that external_id (created
//                            unless _update_existing_only), as PATCH
//                            /v1/profiles does it
//   POST /messages/send      one native job over the named users by user_id
//                            (aliases looked up), created, ingested and run
//                            in one atomic write, or over a `segment_id` or
//                            an `audience` filter (the job's audience, added
//                            at run); the
//                            profiles give the addresses and standings at
//                            dispatch
//   POST /sends/id/create    a send id to tag sends with
// Every mapping, and what is not built yet, is listed in docs/compat.md.
#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "api/compat/facades.h"
#include "api/errors.h"
#include "api/ingest/accumulator.h"
#include "api/ingest/json_reader.h"
#include "api/routes/routes.h"
#include "engine/ids.h"

namespace crier::api::compat {
namespace json = boost::json;
namespace {

// Braze's documented request limits.
constexpr std::size_t kMaxSendUsers = 50;        // external_user_ids and user_aliases, each
constexpr std::size_t kMaxTrackObjects = 75;     // attributes objects per /users/track
constexpr std::size_t kMaxIdBytes = 64;          // campaign_id, send_id

Error invalid(std::string code, std::string message, std::string field = {}) {
  return make_error(ErrorKind::invalid, std::move(code), std::move(message), std::move(field));
}

// ---- errors ------------------------------------------------------------------------

// Braze's error body: {"message", "errors": [...]} (the client throws
// ResponseError(message, status, errors) for every non-2xx answer, after
// parsing it as JSON). Crier's code, field and request id go in errors[0].
ApiResponse braze_error(const Error& e, const ApiRequest& req) {
  log_detail(e, req.request_id);
  json::object detail{{"code", e.code}, {"message", e.message}, {"request_id", req.request_id}};
  if (!e.field.empty()) detail["field"] = e.field;
  std::string message = e.kind == ErrorKind::unauthorized ? "Invalid API key" : e.message;
  return json_answer(http_status(e.kind), json::object{{"message", std::move(message)},
                                                        {"errors", json::array{std::move(detail)}}});
}

const json::value* member(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() || it->value().is_null() ? nullptr : &it->value();
}

Result<std::string> optional_string(const json::object& o, std::string_view key, std::size_t max_bytes) {
  auto* v = member(o, key);
  if (!v) return std::string();
  if (!v->is_string() || v->get_string().size() > max_bytes)
    return invalid("invalid_field", fmt::format("'{}' must be a string of at most {} bytes", key, max_bytes),
                   std::string(key));
  return std::string(v->get_string());
}

Result<bool> optional_bool(const json::object& o, std::string_view key) {
  auto* v = member(o, key);
  if (!v) return false;
  // The page's own example sends "false" as a string.
  if (v->is_string() && (v->get_string() == "true" || v->get_string() == "false")) return v->get_string() == "true";
  if (!v->is_bool()) return invalid("invalid_field", fmt::format("'{}' must be true or false", key), std::string(key));
  return v->get_bool();
}

// ---- /users/track --------------------------------------------------------------------

// Braze's standard profile fields that are members of a Crier profile; the
// other standard fields (first_name, country, ...) and custom attributes are
// the profile's attributes.
json::object profile_patch(const json::object& attributes) {
  json::object patch, custom, subscriptions;
  for (const auto& [k, v] : attributes) {
    std::string_view key = k;
    if (key == "external_id" || key == "_update_existing_only" || key == "user_alias" || key == "braze_id") continue;
    if (key == "email" || key == "phone") patch[key] = v;
    else if (key == "language") patch["locale"] = v;
    else if (key == "time_zone") patch["timezone"] = v;
    else if (key == "email_subscribe") subscriptions["email"] = v;
    else if (key == "push_subscribe") subscriptions["push"] = v;
    else custom[key] = v;  // null removes it, as in Braze
  }
  if (!custom.empty()) patch["attributes"] = std::move(custom);
  if (!subscriptions.empty()) patch["subscriptions"] = std::move(subscriptions);
  return patch;
}

// Braze's array and number operators ({"add": [...]}, {"inc": 1}) would be
// stored as plain objects: refused until they are built.
std::optional<std::string> unsupported_operator(const json::object& attributes) {
  static const std::set<std::string_view> kOperators = {"add", "remove", "inc", "update", "remove_by"};
  for (const auto& [k, v] : attributes) {
    if (!v.is_object() || v.get_object().empty()) continue;
    bool all_operators = true;
    for (const auto& [op, _] : v.get_object()) all_operators = all_operators && kOperators.count(op);
    if (all_operators) return std::string(k);
  }
  return std::nullopt;
}

ApiResponse users_track(ApiContext& ctx, ApiRequest& req) {
  auto body = json_object_body(req);
  if (!body) return braze_error(body.error(), req);
  auto* attrs = member(*body, "attributes");
  if (attrs && !attrs->is_array())
    return braze_error(invalid("invalid_field", "'attributes' must be an array of objects", "attributes"), req);
  const json::array none;
  const json::array& list = attrs ? attrs->get_array() : none;
  if (list.size() > kMaxTrackObjects)
    return braze_error(invalid("too_many_objects", fmt::format("at most {} attributes objects per request", kMaxTrackObjects),
                               "attributes"),
                       req);
  json::array errors;
  auto refuse = [&](std::size_t i, std::string_view array, const Error& e) {
    json::object o{{"type", e.message}, {"input_array", array}, {"index", i}, {"code", e.code}};
    if (!e.field.empty()) o["field"] = e.field;
    errors.push_back(std::move(o));
  };
  std::size_t processed = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_object()) {
      refuse(i, "attributes", invalid("invalid_field", "an attributes object must be a JSON object"));
      continue;
    }
    const auto& a = list[i].get_object();
    auto id = optional_string(a, "external_id", 256);
    if (!id || id->empty()) {
      refuse(i, "attributes",
             invalid("missing_external_id", "Crier keeps profiles by external_id: each attributes object needs one",
                     "external_id"));
      continue;
    }
    if (auto op = unsupported_operator(a)) {
      refuse(i, "attributes",
             invalid("unsupported_operator",
                     fmt::format("'{}': the add, remove, inc and update operators are not supported yet; send the whole value", *op),
                     *op));
      continue;
    }
    auto update_only = optional_bool(a, "_update_existing_only");
    if (!update_only) {
      refuse(i, "attributes", update_only.error());
      continue;
    }
    auto stored = merge_into_profile(ctx, req.tenant, *id, profile_patch(a), !*update_only);
    if (!stored) {
      // A store that cannot write fails the request, as Braze's 5xx would.
      if (stored.error().kind == ErrorKind::internal || stored.error().kind == ErrorKind::unavailable ||
          stored.error().kind == ErrorKind::insufficient_storage)
        return braze_error(stored.error(), req);
      refuse(i, "attributes", stored.error());
      continue;
    }
    ++processed;
  }
  // Events and purchases are not stored: each is reported, not dropped silently.
  for (std::string_view array : {"events", "purchases"})
    if (auto* v = member(*body, array); v && v->is_array())
      for (std::size_t i = 0; i < v->get_array().size(); ++i)
        refuse(i, array, invalid("unsupported", fmt::format("Crier does not store {} yet", array), std::string(array)));
  json::object answer{{"message", "success"}, {"attributes_processed", processed}};
  if (!errors.empty()) answer["errors"] = std::move(errors);
  return json_answer(201, answer);
}

// ---- /messages/send ------------------------------------------------------------------

// Braze's Liquid personalisation as the native Mustache: {{${first_name}}}
// and {{custom_attribute.${plan}}} name the profile's attributes. Other
// Liquid (filters, tags) is left as written. A scan, not std::regex, whose
// matcher recurses per character (a long name could exhaust the stack).
std::string mustache_of(std::string_view liquid) {
  auto name_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; };
  auto skip_spaces = [](std::string_view s, std::size_t i) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    return i;
  };
  std::string out;
  out.reserve(liquid.size());
  std::size_t i = 0;
  while (i < liquid.size()) {
    const auto open = liquid.find("{{", i);
    if (open == std::string_view::npos) break;
    out.append(liquid.substr(i, open - i));
    std::size_t j = skip_spaces(liquid, open + 2);
    if (liquid.substr(j).starts_with("custom_attribute.")) j += std::string_view("custom_attribute.").size();
    std::size_t name_end = j;
    bool tag = liquid.substr(j).starts_with("${");
    if (tag) {
      name_end = j + 2;
      while (name_end < liquid.size() && name_char(liquid[name_end])) ++name_end;
      std::size_t k = name_end < liquid.size() && liquid[name_end] == '}' ? skip_spaces(liquid, name_end + 1) : 0;
      tag = name_end > j + 2 && k > 0 && liquid.substr(k).starts_with("}}");
      if (tag) {
        out += "{{";
        out.append(liquid.substr(j + 2, name_end - j - 2));
        out += "}}";
        i = k + 2;
        continue;
      }
    }
    // Not a tag here: one brace is text, and a tag may start at the next.
    out += '{';
    i = open + 1;
  }
  out.append(liquid.substr(std::min(i, liquid.size())));
  return out;
}

Result<std::string> text_of(const json::object& o, std::string_view key, std::string_view message_kind, bool required) {
  auto* v = member(o, key);
  if (!v) {
    if (required)
      return invalid("missing_field", fmt::format("messages.{} needs '{}'", message_kind, key),
                     fmt::format("messages.{}.{}", message_kind, key));
    return std::string();
  }
  if (!v->is_string())
    return invalid("invalid_field", fmt::format("messages.{}.{} must be a string", message_kind, key),
                   fmt::format("messages.{}.{}", message_kind, key));
  return mustache_of(v->get_string());
}

// The one message kind of the request as native {"channel", "content",
// "webhook_url"?} members.
Result<json::object> native_message(const json::object& messages) {
  std::vector<std::string_view> kinds;
  for (const auto& [k, v] : messages)
    if (!v.is_null()) kinds.push_back(k);
  if (kinds.empty())
    return invalid("missing_field", "'messages' needs one message object (email, sms, webhook, apple_push, android_push)",
                   "messages");
  if (kinds.size() > 1)
    return invalid("unsupported", "Crier's Braze API sends one message kind per request for now; send each kind on its own",
                   "messages");
  const std::string_view kind = kinds.front();
  const auto& v = messages.at(kind);
  if (!v.is_object()) return invalid("invalid_field", fmt::format("messages.{} must be an object", kind), "messages");
  const auto& m = v.get_object();
  json::object out;
  auto put = [&](json::object& into, std::string_view name, const Result<std::string>& r) -> Result<void> {
    if (!r) return r.error();
    if (!r->empty()) into[name] = *r;
    return {};
  };
  if (kind == "email") {
    json::object email;
    if (auto r = put(email, "subject", text_of(m, "subject", kind, true)); !r) return r.error();
    if (auto r = put(email, "html", text_of(m, "body", kind, false)); !r) return r.error();
    if (auto r = put(email, "text", text_of(m, "plaintext_body", kind, false)); !r) return r.error();
    out["channel"] = "email";
    out["content"] = json::object{{"email", std::move(email)}};
  } else if (kind == "sms") {
    json::object sms;
    if (auto r = put(sms, "body", text_of(m, "body", kind, true)); !r) return r.error();
    out["channel"] = "sms";
    out["content"] = json::object{{"sms", std::move(sms)}};
  } else if (kind == "apple_push" || kind == "android_push") {
    json::object push;
    if (auto r = put(push, "body", text_of(m, "alert", kind, true)); !r) return r.error();
    if (auto r = put(push, "title", text_of(m, "title", kind, false)); !r) return r.error();
    out["channel"] = "push";
    out["content"] = json::object{{"push", std::move(push)}};
  } else if (kind == "webhook") {
    auto url = text_of(m, "url", kind, true);
    if (!url) return url.error();
    auto method = optional_string(m, "request_method", 16);
    if (!method) return method.error();
    if (!method->empty() && *method != "POST")
      return invalid("unsupported", "Crier sends webhooks with POST only", "messages.webhook.request_method");
    if (auto* h = member(m, "request_headers"); h && !(h->is_object() && h->get_object().empty()))
      return invalid("unsupported",
                     "request_headers are not sent: a provider's headers are configured on the server (docs/configuration.md)",
                     "messages.webhook.request_headers");
    auto body = text_of(m, "body", kind, false);
    if (!body) return body.error();
    // A JSON body stays JSON (its strings rendered); any other text is sent
    // as one JSON string.
    boost::system::error_code ec;
    json::value parsed = body->empty() ? json::value(json::object{}) : json::parse(*body, ec);
    if (ec) parsed = json::string(*body);
    out["channel"] = "webhook";
    out["webhook_url"] = *url;
    out["content"] = json::object{{"webhook", json::object{{"body", std::move(parsed)}}}};
  } else {
    return invalid("unsupported", fmt::format("messages.{} is not supported by Crier", kind), "messages");
  }
  return out;
}

// The request's users as native {"user_id"} users, aliases looked up (an
// alias no profile holds is left out, as Braze sends to no one for it).
Result<json::array> named_users(ApiContext& ctx, std::string_view tenant, const json::object& body) {
  json::array users;
  if (auto* ids = member(body, "external_user_ids")) {
    if (!ids->is_array()) return invalid("invalid_field", "'external_user_ids' must be an array of strings", "external_user_ids");
    if (ids->get_array().size() > kMaxSendUsers)
      return invalid("too_many_users", fmt::format("at most {} external_user_ids per request", kMaxSendUsers),
                     "external_user_ids");
    for (const auto& id : ids->get_array()) {
      if (!id.is_string()) return invalid("invalid_field", "'external_user_ids' must be an array of strings", "external_user_ids");
      users.push_back(json::object{{"user_id", id.get_string()}});
    }
  }
  if (auto* aliases = member(body, "user_aliases")) {
    if (!aliases->is_array()) return invalid("invalid_field", "'user_aliases' must be an array of alias objects", "user_aliases");
    if (aliases->get_array().size() > kMaxSendUsers)
      return invalid("too_many_users", fmt::format("at most {} user_aliases per request", kMaxSendUsers), "user_aliases");
    if (!ctx.profiles) return make_error(ErrorKind::unavailable, "profiles_unavailable", "this server keeps no profiles");
    for (const auto& a : aliases->get_array()) {
      const json::object* o = a.if_object();
      auto name = o ? optional_string(*o, "alias_name", 256) : Result<std::string>(std::string());
      auto label = o ? optional_string(*o, "alias_label", 256) : Result<std::string>(std::string());
      if (!name || !label || name->empty() || label->empty())
        return invalid("invalid_field", "each user alias needs alias_name and alias_label (strings)", "user_aliases");
      auto holder = ctx.profiles->find_profile_by_alias(tenant, ProfileAlias{*name, *label});
      if (!holder) return holder.error();
      if (*holder) users.push_back(json::object{{"user_id", **holder}});
    }
  }
  return users;
}

ApiResponse messages_send(ApiContext& ctx, ApiRequest& req) {
  auto body = json_object_body(req);
  if (!body) return braze_error(body.error(), req);
  const json::object& b = *body;
  auto broadcast = optional_bool(b, "broadcast");
  if (!broadcast) return braze_error(broadcast.error(), req);
  const bool named = member(b, "external_user_ids") || member(b, "user_aliases");
  const json::value* filter = member(b, "audience");
  const json::value* segment = member(b, "segment_id");
  const bool audience = filter || segment;
  if (filter && segment)
    return braze_error(invalid("unsupported", "segment_id together with audience is not supported by Crier yet: give one",
                               "audience"),
                       req);
  if (*broadcast && named)
    return braze_error(invalid("invalid_broadcast", "broadcast cannot be true when external_user_ids or user_aliases are given",
                               "broadcast"),
                       req);
  if (!named && !audience)
    return braze_error(invalid("missing_recipients",
                               "name the users (external_user_ids or user_aliases), or give a segment_id or an audience",
                               "external_user_ids"),
                       req);
  // As Braze: an audience without named users reaches everyone who matches,
  // which must be asked for.
  if (audience && !named && !*broadcast)
    return braze_error(invalid("invalid_broadcast", "broadcast must be true to send to an audience without naming users",
                               "broadcast"),
                       req);
  if (audience && named)
    return braze_error(invalid("unsupported", "named users within a segment or an audience are not supported by Crier "
                                              "yet: give one or the other",
                               "audience"),
                       req);
  auto users = named_users(ctx, req.tenant, b);
  if (!users) return braze_error(users.error(), req);

  auto* messages = member(b, "messages");
  if (!messages || !messages->is_object())
    return braze_error(invalid("missing_field", "'messages' must be an object with one message", "messages"), req);
  auto spec = native_message(messages->get_object());
  if (!spec) return braze_error(spec.error(), req);
  auto state = optional_string(b, "recipient_subscription_state", 16);
  if (!state) return braze_error(state.error(), req);
  if (!state->empty()) (*spec)["subscription_state"] = *state;
  if (filter) (*spec)["audience"] = json::object{{"filter", *filter}};
  if (segment) (*spec)["audience"] = json::object{{"segment_id", *segment}};
  auto campaign = optional_string(b, "campaign_id", kMaxIdBytes);
  if (!campaign) return braze_error(campaign.error(), req);
  auto send_id = optional_string(b, "send_id", kMaxIdBytes);
  if (!send_id) return braze_error(send_id.error(), req);
  auto override_capping = optional_bool(b, "override_frequency_capping");
  if (!override_capping) return braze_error(override_capping.error(), req);
  if (*override_capping) (*spec)["override_frequency_capping"] = true;

  auto job = prepare_job_from(ctx, req.tenant, *spec);
  if (!job) return braze_error(job.error(), req);
  json::object braze{{"dispatch_id", job->id()}};
  if (!campaign->empty()) braze["campaign_id"] = *campaign;
  if (!send_id->empty()) braze["send_id"] = *send_id;
  job->spec.metadata_json = json::serialize(json::object{{"braze", std::move(braze)}});
  std::string users_body = json::serialize(json::object{{"users", std::move(*users)}});
  // Named users: created with them and run in one write. An audience: its
  // profiles are added when the job is run (run_job), right after.
  auto report = ingest_json_users(ctx, *job, users_body, CreateWith{.run = !audience, .claim = req.idempotency});
  if (!report) return braze_error(report.error(), req);
  if (audience && report->job.status == JobStatus::created)
    if (auto ran = run_job(ctx, req.tenant, report->job.id(), nullptr); !ran) return braze_error(ran.error(), req);
  // The stored job's id: a retry under the same Idempotency-Key finds the
  // first. Users ingest refused (no profile on a tenant that keeps none, say)
  // are listed rather than dropped silently.
  json::object answer{{"dispatch_id", report->job.id()}, {"message", "success"}};
  if (auto* rejected = report->summary.if_contains("rejected"); rejected && rejected->is_array() &&
                                                                 !rejected->get_array().empty())
    answer["errors"] = *rejected;
  return json_answer(201, answer);
}

// ---- /sends/id/create ----------------------------------------------------------------

ApiResponse send_id_create(ApiContext&, ApiRequest& req) {
  auto body = json_object_body(req);
  if (!body) return braze_error(body.error(), req);
  auto campaign = optional_string(*body, "campaign_id", kMaxIdBytes);
  if (!campaign) return braze_error(campaign.error(), req);
  if (campaign->empty()) return braze_error(invalid("missing_field", "campaign_id is required", "campaign_id"), req);
  auto send_id = optional_string(*body, "send_id", kMaxIdBytes);
  if (!send_id) return braze_error(send_id.error(), req);
  // Crier keeps no send registry: the id is the caller's tag, kept with each
  // job's metadata by /messages/send.
  std::string id = send_id->empty() ? "send_" + new_request_id().substr(4) : *send_id;
  return json_answer(201, json::object{{"send_id", id}, {"message", "success"}});
}

ApiResponse route(ApiContext& ctx, ApiRequest& req) {
  const std::string_view path = req.path;
  ApiResponse (*handler)(ApiContext&, ApiRequest&) = nullptr;
  if (path == "/users/track") handler = users_track;
  else if (path == "/messages/send") handler = messages_send;
  else if (path == "/sends/id/create") handler = send_id_create;
  if (!handler) return braze_error(not_found(req), req);
  if (req.method != "POST") return braze_error(method_not_allowed(req, "POST"), req);
  return handler(ctx, req);
}

}  // namespace

const Facade& braze() {
  static const Facade f{"braze", bearer_auth, route, braze_error};
  return f;
}

}  // namespace crier::api::compat
