// Courier's Bulk API (@trycourier/courier 7.x) over the native jobs:
//   POST /bulk                 create   -> create_job_from (native spec)
//   POST /bulk/{id}            addUsers -> ingest_json_users (native users);
//                              to.list_id / to.list_pattern -> the lists' members
//   POST /bulk/{id}/run        runJob   -> JobAction::run, 202 without a body
//   GET  /bulk/{id}            retrieveJob: counters in Courier's terms
//   GET  /bulk/{id}/users      listUsers: recipients in Courier's terms
//   /lists…                    client.lists.*: the native lists (courier_lists.cpp)
// Every mapping is listed in docs/compat.md.
#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

#include <simdjson.h>

#include "api/compat/courier_lists.h"
#include "api/compat/facades.h"
#include "api/cursor.h"
#include "api/errors.h"
#include "api/routes/routes.h"
#include "api/ingest/json_reader.h"
#include "engine/ids.h"
#include "engine/routing.h"

namespace crier::api::compat {
namespace json = boost::json;
namespace {

Error invalid(std::string code, std::string message, std::string field = {}) {
  return make_error(ErrorKind::invalid, std::move(code), std::move(message), std::move(field));
}

// Courier's error body: a string `message` (the client builds its error
// text from it) and a type.
ApiResponse courier_error(const Error& e, const ApiRequest& req) {
  log_detail(e, req.request_id);
  int status = http_status(e.kind);
  json::object o{{"message", e.message}, {"type", status >= 500 ? "api_error" : "invalid_request_error"},
                 {"code", e.code}, {"request_id", req.request_id}};
  if (!e.field.empty()) o["field"] = e.field;
  auto r = json_answer(status, o);
  // The client retries 408, 409, 429 and 5xx twice unless told not to: a
  // refused request (a second run, a reused key) would be sent three times.
  if (status < 500 && status != 429) r.headers.emplace_back("x-should-retry", "false");
  return r;
}

const json::value* member(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() || it->value().is_null() ? nullptr : &it->value();
}

std::string_view string_member(const json::object& o, std::string_view key) {
  auto* v = member(o, key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

// ---- Elemental content -------------------------------------------------------

// Text and a title per channel, as far as text goes: meta → title; text,
// quote → paragraphs; action → its text and link; channel → that channel's
// own text. Images, dividers and HTML have no text form and are left out.
struct ElementalChannel;
struct Elemental {
  std::string title, body;
  // In the order given. Not pair<string, Elemental>: a pair needs complete
  // types, which Elemental is not yet here (clang with libstdc++ refuses it).
  std::vector<ElementalChannel> channels;
};
struct ElementalChannel {
  std::string channel;
  Elemental own;
};

void append_paragraph(std::string& body, std::string_view text) {
  if (text.empty()) return;
  if (!body.empty()) body += "\n\n";
  body += text;
}

Result<void> read_elements(const json::array& elements, Elemental& out, bool top) {
  for (const auto& el : elements) {
    if (!el.is_object()) return invalid("invalid_content", "each Elemental element must be an object", "message.content.elements");
    const auto& o = el.get_object();
    auto type = string_member(o, "type");
    if (type == "meta") {
      if (auto t = string_member(o, "title"); !t.empty()) out.title = t;
    } else if (type == "text" || type == "quote" || type.empty()) {
      append_paragraph(out.body, string_member(o, "content"));
    } else if (type == "action") {
      auto text = string_member(o, "content");
      auto href = string_member(o, "href");
      append_paragraph(out.body, href.empty() ? std::string(text) : fmt::format("{}: {}", text, href));
    } else if (type == "channel") {
      if (!top) return invalid("invalid_content", "channel elements are only valid at the top level", "message.content.elements");
      auto channel = string_member(o, "channel");
      if (channel.empty()) return invalid("invalid_content", "a channel element needs a channel", "message.content.elements");
      Elemental own;
      if (auto* sub = member(o, "elements"); sub && sub->is_array())
        if (auto r = read_elements(sub->get_array(), own, false); !r) return r;
      out.channels.push_back(ElementalChannel{std::string(channel), std::move(own)});
    }
  }
  return {};
}

// One channel's native content from a title and a body.
json::value channel_content(std::string_view channel, const std::string& title, const std::string& body) {
  if (channel == "email") return json::object{{"subject", title}, {"text", body}};
  if (channel == "sms") return json::object{{"body", body}};
  if (channel == "push") return json::object{{"title", title}, {"body", body}};
  return json::object{{"body", json::object{{"title", title}, {"body", body}}}};  // webhook
}

constexpr std::array<std::string_view, 4> kTextChannels = {"email", "sms", "push", "webhook"};

bool text_channel(std::string_view c) {
  return std::find(kTextChannels.begin(), kTextChannels.end(), c) != kTextChannels.end();
}

// Native content for every text channel, and the order the content lists
// its channels in (empty when it names none).
Result<std::pair<json::object, std::vector<std::string>>> native_content(const json::value& v) {
  if (!v.is_object()) return invalid("invalid_content", "message.content must be an object", "message.content");
  const auto& o = v.get_object();
  Elemental e;
  if (auto* elements = member(o, "elements")) {
    if (!elements->is_array()) return invalid("invalid_content", "message.content.elements must be an array", "message.content.elements");
    if (auto r = read_elements(elements->get_array(), e, true); !r) return r.error();
  } else {
    auto* title = member(o, "title");
    auto* body = member(o, "body");
    if ((title && !title->is_string()) || (body && !body->is_string()) || (!title && !body))
      return invalid("invalid_content", "message.content needs a title and a body (strings), or Elemental elements", "message.content");
    e.title = title ? std::string(title->get_string()) : "";
    e.body = body ? std::string(body->get_string()) : "";
  }
  json::object content;
  std::vector<std::string> order;
  for (auto c : kTextChannels) content[c] = channel_content(c, e.title, e.body);
  for (const auto& [channel, own] : e.channels) {
    if (!text_channel(channel))
      return invalid("unsupported_channel", fmt::format("channel '{}' is not one Crier sends on (email, sms, push, webhook)", channel),
                     "message.content.elements");
    content[channel] = channel_content(channel, own.title.empty() ? e.title : own.title, own.body.empty() ? e.body : own.body);
    order.push_back(channel);
  }
  return std::pair{std::move(content), std::move(order)};
}

// ---- create ---------------------------------------------------------------------

// Crier's channel for a Courier routing channel name.
std::optional<std::string> routed_channel(std::string_view c) {
  if (c == "email" || c == "sms" || c == "push" || c == "webhook" || c == "whatsapp") return std::string(c);
  return std::nullopt;
}

Result<std::vector<std::string>> routing_channels(const json::value& v) {
  if (!v.is_object()) return invalid("invalid_routing", "message.routing must be an object", "message.routing");
  const auto& o = v.get_object();
  auto method = string_member(o, "method");
  if (!method.empty() && method != "single")
    return invalid("invalid_routing", "only routing method 'single' is supported (each user gets the first channel they have an address for)",
                   "message.routing.method");
  auto* channels = member(o, "channels");
  if (!channels || !channels->is_array() || channels->get_array().empty())
    return invalid("invalid_routing", "message.routing.channels must be a non-empty array", "message.routing.channels");
  std::vector<std::string> out;
  for (const auto& c : channels->get_array()) {
    if (!c.is_string())
      return invalid("invalid_routing", "nested routing is not supported: list channel names", "message.routing.channels");
    auto ch = routed_channel(c.get_string());
    if (!ch)
      return invalid("unsupported_channel", fmt::format("channel '{}' is not one Crier sends on (email, sms, push, webhook, whatsapp)",
                                                        std::string_view(c.get_string())),
                     "message.routing.channels");
    if (std::find(out.begin(), out.end(), *ch) == out.end()) out.push_back(*ch);
  }
  return out;
}

// The channels a stored template has, in Crier's order.
Result<std::vector<std::string>> template_channels(ApiContext& ctx, std::string_view tenant, std::string_view id) {
  auto t = ctx.templates.find_template(tenant, id);
  if (!t) return t.error();
  if (!*t)
    return make_error(ErrorKind::not_found, "template_not_found",
                      fmt::format("no notification template or event '{}'", id), "message.template");
  const Content& c = (*t)->content.base;
  std::vector<std::string> out;
  if (c.email) out.push_back("email");
  if (c.sms) out.push_back("sms");
  if (c.push) out.push_back("push");
  if (c.webhook) out.push_back("webhook");
  if (c.whatsapp) out.push_back("whatsapp");
  return out;
}

// The native spec for a Courier bulk message: the seed's nested shape
// {"message":{"message":{"template"},"data"}} and the client's flat one
// {"message":{"event"|"template","content","data","locale",...}} alike.
Result<json::object> native_spec(ApiContext& ctx, std::string_view tenant, const json::object& body) {
  auto* message = member(body, "message");
  if (!message || !message->is_object()) return invalid("missing_field", "message is required (an object)", "message");
  const auto& outer = message->get_object();
  const json::object* inner = nullptr;
  if (auto* m = member(outer, "message"); m && m->is_object()) inner = &m->get_object();
  auto pick = [&](std::string_view key) -> const json::value* {
    if (inner)
      if (auto* v = member(*inner, key)) return v;
    return member(outer, key);
  };

  json::object spec;
  std::vector<std::string> channels;
  if (auto* content = pick("content")) {
    auto c = native_content(*content);
    if (!c) return c.error();
    spec["content"] = std::move(c->first);
    channels = c->second.empty() ? std::vector<std::string>(kTextChannels.begin(), kTextChannels.end()) : c->second;
  } else {
    const json::value* id = pick("template");
    if (!id) id = pick("event");
    if (!id || !id->is_string() || id->get_string().empty())
      return invalid("missing_field", "message.event (or message.template, or message.content) is required", "message.event");
    spec["template"] = id->get_string();
    auto t = template_channels(ctx, tenant, id->get_string());
    if (!t) return t.error();
    channels = std::move(*t);
  }
  if (auto* routing = pick("routing")) {
    auto r = routing_channels(*routing);
    if (!r) return r.error();
    channels = std::move(*r);
  }
  if (channels.size() == 1) {
    spec["channel"] = channels.front();
  } else {
    json::array list;
    for (const auto& c : channels) list.emplace_back(c);
    spec["routing"] = json::object{{"method", "single"}, {"channels", std::move(list)}};
  }

  // Global data: the outer message's, then the inner one's over it.
  json::object data;
  for (const json::object* level : {&outer, inner}) {
    if (!level) continue;
    if (auto* d = member(*level, "data")) {
      if (!d->is_object()) return invalid("invalid_data", "message.data must be an object", "message.data");
      for (const auto& [k, v] : d->get_object()) data[k] = v;
    }
  }
  if (!data.empty()) spec["data"] = std::move(data);
  // A locale string is the job's default locale; Courier's per-locale
  // override objects have no Crier meaning and are ignored (docs/compat.md).
  if (auto* locale = pick("locale"); locale && locale->is_string()) spec["locale"] = *locale;
  spec["metadata"] = json::object{{"courier", json::object{{"definition", *message}}}};
  return spec;
}

ApiResponse create(ApiContext& ctx, ApiRequest& req) {
  auto body = json_object_body(req);
  if (!body) return courier_error(body.error(), req);
  auto spec = native_spec(ctx, req.tenant, *body);
  if (!spec) return courier_error(spec.error(), req);
  auto job = create_job_from(ctx, req.tenant, *spec, req.idempotency);
  if (!job) return courier_error(job.error(), req);
  return json_answer(200, json::object{{"jobId", job->id()}});
}

// ---- ingest ---------------------------------------------------------------------

// What the client sent, as Boost.JSON: simdjson read it, nested up to its
// own limit (1024), deeper than Boost.JSON parses by default (32), which
// threw (a 500) for a user whose data ingest then refuses as too deep.
json::value as_sent(simdjson::dom::element e) {
  json::parse_options deep;
  deep.max_depth = 1024;
  boost::system::error_code ec;
  const std::string text = simdjson::minify(e);
  json::value v = json::parse(text, ec, {}, deep);
  if (ec) return json::string(text);
  return v;
}

// A Courier user as a native one, written straight into `out` as JSON text:
// identity, addresses and data from `to`, `profile` and `recipient`;
// per-user data is `data` with `to.data` over it. Values are copied as the
// JSON they are (the native parser validates them), so a batch is read once
// by simdjson here and once by the native ingest, with no tree built.
void append_native_user(simdjson::dom::object u, std::string& out) {
  namespace dom = simdjson::dom;
  auto child = [](dom::object o, std::string_view key) -> std::optional<dom::element> {
    dom::element e;
    if (o.at_key(key).get(e) || e.is_null()) return std::nullopt;
    return e;
  };
  std::optional<dom::object> to, profile;
  if (auto e = child(u, "to"); e && e->is_object()) to = dom::object(*e);
  if (auto e = child(u, "profile"); e && e->is_object()) profile = dom::object(*e);
  auto first = [&](std::initializer_list<std::pair<const std::optional<dom::object>*, std::string_view>> places)
      -> std::optional<dom::element> {
    for (auto [o, key] : places)
      if (*o)
        if (auto e = child(**o, key)) return e;
    return std::nullopt;
  };
  const std::optional<dom::object> self = u;
  bool any = false;
  auto put = [&](std::string_view name, const std::optional<dom::element>& e) {
    if (!e) return;
    out += any ? ",\"" : "\"";
    any = true;
    out += name;
    out += "\":";
    out += simdjson::minify(*e);
  };
  out += '{';
  put("user_id", first({{&to, "user_id"}, {&self, "recipient"}}));
  put("email", first({{&profile, "email"}, {&to, "email"}}));
  put("phone", first({{&profile, "phone_number"}, {&to, "phone_number"}}));
  put("push_token", first({{&profile, "push_token"}, {&to, "push_token"}}));
  put("webhook_url", first({{&profile, "webhook_url"}, {&to, "webhook_url"}}));
  put("locale", first({{&to, "locale"}, {&profile, "locale"}}));
  put("preferences", first({{&self, "preferences"}, {&to, "preferences"}}));
  auto data = child(u, "data");
  auto to_data = to ? child(*to, "data") : std::nullopt;
  if (data && to_data && data->is_object() && to_data->is_object()) {
    // Both: merged, to.data's keys over data's (rare; Boost.JSON is fine here).
    json::value merged_value = as_sent(*data);
    json::object& merged = merged_value.as_object();
    const json::value over = as_sent(*to_data);  // named: it must outlive the loop
    for (const auto& [k, v] : over.as_object()) merged[k] = v;
    out += any ? ",\"data\":" : "\"data\":";
    any = true;
    out += json::serialize(merged);
  } else {
    put("data", to_data ? to_data : data);
  }
  out += '}';
}

ApiResponse add_users(ApiContext& ctx, ApiRequest& req, std::string_view job_id) {
  auto job = ctx.jobs.get(req.tenant, job_id);
  if (!job) return courier_error(job.error(), req);
  if (auto r = expect_json(req); !r) return courier_error(r.error(), req);
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(req.body.data(), req.body.size()).get(doc))
    return courier_error(invalid("invalid_json", "the body is not valid JSON (UTF-8)"), req);
  simdjson::dom::array users;
  if (!doc.is_object() || doc.at_key("users").get_array().get(users))
    return courier_error(invalid("missing_field", "users is required (an array)", "users"), req);
  std::string native_body;
  native_body.reserve(req.body.size() + simdjson::SIMDJSON_PADDING);
  native_body += "{\"users\":[";
  bool first = true;
  std::vector<std::size_t> origin;  // each native user's index among the call's users
  std::vector<ListTarget> targets;
  std::size_t index = 0;
  for (simdjson::dom::element u : users) {
    const std::size_t i = index++;
    if (u.is_object())
      if (auto t = list_target(u.get_object().value_unsafe(), i)) {
        targets.push_back(std::move(*t));
        continue;
      }
    if (!first) native_body += ',';
    first = false;
    origin.push_back(i);
    if (u.is_object()) append_native_user(u.get_object().value_unsafe(), native_body);
    else native_body += simdjson::minify(u);  // the native parser refuses it, for this user only
  }
  native_body += "]}";
  // What refuses the call whole is checked before the lists are added, so
  // such an answer means nothing was stored.
  if (targets.size() > kMaxListTargetsPerCall)
    return courier_error(make_error(ErrorKind::too_large, "too_many_list_targets",
                                    fmt::format("at most {} list recipients (to.list_id, to.list_pattern) per call",
                                                kMaxListTargetsPerCall),
                                    "users"),
                         req);
  if (origin.size() > ctx.limits.max_users_per_batch)
    return courier_error(make_error(ErrorKind::too_large, "too_many_users",
                                    fmt::format("at most {} users per JSON batch; send more batches, or stream NDJSON",
                                                ctx.limits.max_users_per_batch),
                                    "users"),
                         req);
  // The lists first, so that the answer stored under an Idempotency-Key (in
  // the named users' ingest, below) counts them too. Adding a list again
  // (a retry) stores no one twice: its members are deduplicated.
  std::int64_t list_total = 0;
  json::array list_errors;
  for (const auto& t : targets) {
    auto added = add_target(ctx, *job, t);
    if (!added) return courier_error(added.error(), req);
    list_total += added->accepted;
    if (added->refused && list_errors.size() < ctx.limits.max_rejected_listed)
      list_errors.push_back(json::object{{"error", added->refused->message},
                                         {"user", as_sent(users.at(t.index).value_unsafe())},
                                         {"code", added->refused->code}});
  }
  // Courier's answer, made of the native report; under an Idempotency-Key
  // it is stored in the ingest's own write (AnswerUnder).
  auto answer = [&](const IngestReport& report) {
    json::array errors = list_errors;
    std::int64_t total = list_total;
    for (std::size_t j = 0; j < report.users.size() && j < origin.size(); ++j) {
      const auto& o = report.users[j];
      if (o.kind == UserOutcome::Kind::accepted) {
        ++total;
      } else if (errors.size() < ctx.limits.max_rejected_listed) {
        std::string error = o.kind == UserOutcome::Kind::duplicate ? "Duplicate user" : o.error.message;
        // The user as it was sent (read again only for the ones listed).
        json::object e{{"error", error}, {"user", as_sent(users.at(origin[j]).value_unsafe())}};
        if (o.kind == UserOutcome::Kind::rejected) e["code"] = o.error.code;
        errors.push_back(std::move(e));
      }
    }
    json::object body{{"total", total}};
    if (!errors.empty()) body["errors"] = std::move(errors);
    return json_answer(200, body);
  };
  auto report = ingest_json_users(ctx, *job, native_body, std::nullopt, AnswerUnder{req.idempotency, answer});
  if (!report) return courier_error(report.error(), req);
  return answer(*report);
}

// ---- run and status ---------------------------------------------------------------

ApiResponse run(ApiContext& ctx, ApiRequest& req, std::string_view job_id) {
  auto job = run_job(ctx, req.tenant, job_id, req.idempotency);
  if (!job) return courier_error(job.error(), req);
  return empty_answer(202);
}

// Crier's job status in Courier's four (docs/compat.md): a job that ran to
// its end is COMPLETED even with failed recipients (they are `failures`);
// one that failed as a whole or was cancelled is ERROR.
std::string_view courier_status(JobStatus s) {
  switch (s) {
    case JobStatus::created: return "CREATED";
    case JobStatus::scheduled:
    case JobStatus::processing:
    case JobStatus::paused:
    case JobStatus::cancelling: return "PROCESSING";  // ERROR once its counters are final
    case JobStatus::completed:
    case JobStatus::partial: return "COMPLETED";
    case JobStatus::failed:
    case JobStatus::cancelled: return "ERROR";
  }
  return "ERROR";
}

// The definition the job was created with, or one made from a native job.
json::value definition(const Job& job) {
  if (!job.spec.metadata_json.empty()) {
    auto meta = json::parse(job.spec.metadata_json);
    if (auto* c = meta.as_object().if_contains("courier"))
      if (auto* d = c->is_object() ? c->as_object().if_contains("definition") : nullptr) return *d;
  }
  json::object d{{"event", job.spec.template_id.empty() ? job.id() : job.spec.template_id}};
  if (!job.spec.template_id.empty()) d["template"] = job.spec.template_id;
  d["data"] = json::parse(job.spec.data_json);
  return d;
}

ApiResponse retrieve(ApiContext& ctx, ApiRequest& req, std::string_view job_id) {
  auto job = ctx.jobs.get(req.tenant, job_id);
  if (!job) return courier_error(job.error(), req);
  auto c = ctx.jobs.counters(*job);
  if (!c) return courier_error(c.error(), req);
  std::int64_t enqueued = (*c)[Counter::enqueued] + (*c)[Counter::sent] + (*c)[Counter::delivered] + (*c)[Counter::failed];
  json::object j{{"definition", definition(*job)},
                 {"enqueued", enqueued},
                 {"failures", (*c)[Counter::failed]},
                 {"received", (*c)[Counter::received]},
                 {"status", courier_status(job->status)}};
  return json_answer(200, json::object{{"job", std::move(j)}});
}

// A recipient's state in Courier's three: not handed on yet, in the
// pipeline (or delivered), or given up.
std::string_view courier_user_status(RecipientStatus s) {
  switch (s) {
    case RecipientStatus::pending: return "PENDING";
    case RecipientStatus::enqueued:
    case RecipientStatus::sent:
    case RecipientStatus::delivered: return "ENQUEUED";
    case RecipientStatus::failed:
    case RecipientStatus::skipped:
    case RecipientStatus::cancelled: return "ERROR";
  }
  return "ERROR";
}

json::object courier_item(const Job& job, const RecipientView& v) {
  const Recipient& r = v.recipient;
  json::object item;
  json::object to;
  json::object profile;
  if (!r.user_id.empty()) {
    item["recipient"] = r.user_id;
    to["user_id"] = r.user_id;
  }
  if (!r.email.empty()) profile["email"] = to["email"] = r.email;
  if (!r.phone.empty()) profile["phone_number"] = to["phone_number"] = r.phone;
  if (!r.push_token.empty()) profile["push_token"] = r.push_token;
  if (!r.webhook_url.empty()) profile["webhook_url"] = r.webhook_url;
  if (!r.locale.empty()) to["locale"] = r.locale;
  if (!r.data_json.empty()) to["data"] = json::parse(r.data_json);
  item["to"] = std::move(to);
  if (!profile.empty()) item["profile"] = std::move(profile);
  if (!r.preferences_json.empty()) item["preferences"] = json::parse(r.preferences_json);
  if (auto channel = route_for(job.spec, r)) item["channel"] = to_string(*channel);
  item["status"] = courier_user_status(v.state.status);
  if (v.state.status != RecipientStatus::pending) item["messageId"] = message_id(job.key, r.seq);
  if (!v.state.error_code.empty()) item["error"] = v.state.error_code;
  return item;
}

ApiResponse list_users(ApiContext& ctx, ApiRequest& req, std::string_view job_id) {
  auto job = ctx.jobs.get(req.tenant, job_id);
  if (!job) return courier_error(job.error(), req);
  std::uint64_t from = 0;
  if (auto it = req.query.find("cursor"); it != req.query.end() && !it->second.empty()) {
    auto seq = decode_seq_cursor(job->key, it->second);
    if (!seq) return courier_error(invalid("invalid_cursor", "the cursor is not valid for this job", "cursor"), req);
    from = *seq;
  }
  auto page = ctx.store.list_recipients(job->key, from, ctx.limits.default_page, std::nullopt, ctx.limits.max_scan);
  if (!page) return courier_error(page.error(), req);
  json::array items;
  for (const auto& v : page->items) items.push_back(courier_item(*job, v));
  json::object paging{{"more", page->next_seq.has_value()},
                      {"cursor", page->next_seq ? json::value(encode_seq_cursor(job->key, *page->next_seq)) : json::value(nullptr)}};
  return json_answer(200, json::object{{"items", std::move(items)}, {"paging", std::move(paging)}});
}

ApiResponse route(ApiContext& ctx, ApiRequest& req) {
  auto p = path_parts(req.path);  // p[0] == "bulk" or "lists"
  const std::string& m = req.method;
  if (!p.empty() && p[0] == "lists") return lists_route(ctx, req, courier_error);
  if (p.size() == 1) {
    if (m == "POST") return create(ctx, req);
    return courier_error(method_not_allowed(req, "POST"), req);
  }
  if (p.size() == 2) {
    if (m == "POST") return add_users(ctx, req, p[1]);
    if (m == "GET") return retrieve(ctx, req, p[1]);
    return courier_error(method_not_allowed(req, "GET, POST"), req);
  }
  if (p.size() == 3 && p[2] == "run") {
    if (m == "POST") return run(ctx, req, p[1]);
    return courier_error(method_not_allowed(req, "POST"), req);
  }
  if (p.size() == 3 && p[2] == "users") {
    if (m == "GET") return list_users(ctx, req, p[1]);
    return courier_error(method_not_allowed(req, "GET"), req);
  }
  return courier_error(not_found(req), req);
}

}  // namespace

const Facade& courier() {
  static const Facade f{"courier", bearer_auth, route, courier_error};
  return f;
}

}  // namespace crier::api::compat
