#include "storage/job_codec.h"

#include <boost/json.hpp>

#include "engine/content_json.h"
#include "engine/routing_json.h"

namespace crier::records {
namespace json = boost::json;
namespace {

void put_opt(json::object& o, const char* k, const std::optional<std::int64_t>& v) {
  if (v) o[k] = *v;
}

std::optional<std::int64_t> get_opt(const json::object& o, const char* k) {
  auto it = o.find(k);
  if (it == o.end() || !it->value().is_int64()) return std::nullopt;
  return it->value().get_int64();
}

std::string get_str(const json::object& o, const char* k) {
  auto it = o.find(k);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
}

}  // namespace

std::string encode(const Job& job) {
  const auto& s = job.spec;
  json::object o;
  o["v"] = 1;
  o["id"] = job.id();
  o["tenant"] = job.tenant;
  o["status"] = to_string(job.status);
  o["created_at"] = job.created_at;
  o["updated_at"] = job.updated_at;
  put_opt(o, "started_at", job.started_at);
  put_opt(o, "finished_at", job.finished_at);
  // A routed job stores its routing and no channel: a build from before
  // routing refuses such a record instead of sending every recipient on
  // the routing's first channel.
  if (s.routing) o["routing"] = routing_to_json(*s.routing);
  else o["channel"] = to_string(s.channel);
  o["template"] = s.template_id;
  o["content"] = content_to_json(s.content);
  o["data"] = json::parse(s.data_json);
  o["locale"] = s.locale;
  o["webhook_url"] = s.webhook_url;
  o["correlation_id"] = s.correlation_id;
  o["callback_url"] = s.callback_url;
  o["provider"] = s.provider;
  if (!s.sender.empty()) o["sender"] = s.sender;
  put_opt(o, "schedule_at", s.schedule_at);
  put_opt(o, "expires_at", s.expires_at);
  o["rate_limit"] = s.rate_limit;
  if (!s.metadata_json.empty()) o["metadata"] = json::parse(s.metadata_json);
  if (!s.notification_group.empty()) o["notification_group"] = s.notification_group;
  if (!s.audience_json.empty()) o["audience"] = json::parse(s.audience_json);
  if (s.override_frequency_capping) o["override_frequency_capping"] = true;
  if (s.strict_variables) o["strict_variables"] = true;
  if (s.subscription_state != SubscriptionRequirement::subscribed)
    o["subscription_state"] = to_string(s.subscription_state);
  return json::serialize(o);
}

std::optional<Job> decode_job(std::string_view in) {
  boost::system::error_code ec;
  auto v = json::parse(in, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  Job job;
  auto key = parse_job_id(get_str(o, "id"));
  auto status = parse_job_status(get_str(o, "status"));
  // Records from before routing have a channel and no routing.
  std::optional<Routing> routing;
  if (auto it = o.find("routing"); it != o.end() && !it->value().is_null()) {
    auto r = routing_from_json(it->value());
    if (!r) return std::nullopt;
    routing = std::move(*r);
  }
  auto channel = routing ? std::optional<Channel>(routing->channels.front()) : parse_channel(get_str(o, "channel"));
  if (!key || !status || !channel) return std::nullopt;
  job.key = *key;
  job.status = *status;
  job.tenant = get_str(o, "tenant");
  job.created_at = get_opt(o, "created_at").value_or(0);
  job.updated_at = get_opt(o, "updated_at").value_or(0);
  job.started_at = get_opt(o, "started_at");
  job.finished_at = get_opt(o, "finished_at");
  auto& s = job.spec;
  s.channel = *channel;
  s.routing = std::move(routing);
  s.template_id = get_str(o, "template");
  if (auto it = o.find("content"); it != o.end()) {
    auto c = content_from_json(it->value(), "content");
    if (!c) return std::nullopt;
    s.content = std::move(*c);
  }
  if (auto it = o.find("data"); it != o.end()) s.data_json = json::serialize(it->value());
  s.locale = get_str(o, "locale");
  s.webhook_url = get_str(o, "webhook_url");
  s.correlation_id = get_str(o, "correlation_id");
  s.callback_url = get_str(o, "callback_url");
  s.provider = get_str(o, "provider");
  s.sender = get_str(o, "sender");
  s.schedule_at = get_opt(o, "schedule_at");
  s.expires_at = get_opt(o, "expires_at");
  if (auto it = o.find("rate_limit"); it != o.end() && it->value().is_number())
    s.rate_limit = it->value().to_number<double>();
  if (auto it = o.find("metadata"); it != o.end() && it->value().is_object())
    s.metadata_json = json::serialize(it->value());
  s.notification_group = get_str(o, "notification_group");
  if (auto it = o.find("override_frequency_capping"); it != o.end() && it->value().is_bool())
    s.override_frequency_capping = it->value().get_bool();
  if (auto it = o.find("strict_variables"); it != o.end() && it->value().is_bool())
    s.strict_variables = it->value().get_bool();
  if (auto it = o.find("audience"); it != o.end() && it->value().is_object())
    s.audience_json = json::serialize(it->value());
  // Records from before subscriptions have none: the default.
  if (auto st = get_str(o, "subscription_state"); !st.empty()) {
    auto r = parse_subscription_requirement(st);
    if (!r) return std::nullopt;
    s.subscription_state = *r;
  }
  return job;
}

std::string encode(const Template& t) {
  json::object o;
  o["v"] = 1;
  o["tenant"] = t.tenant;
  o["id"] = t.id;
  o["content"] = content_to_json(t.content);
  o["created_at"] = t.created_at;
  o["updated_at"] = t.updated_at;
  return json::serialize(o);
}

std::optional<Template> decode_template(std::string_view in) {
  boost::system::error_code ec;
  auto v = json::parse(in, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  Template t;
  t.tenant = get_str(o, "tenant");
  t.id = get_str(o, "id");
  auto it = o.find("content");
  if (it == o.end()) return std::nullopt;
  auto c = content_from_json(it->value(), "content");
  if (!c) return std::nullopt;
  t.content = std::move(*c);
  t.created_at = get_opt(o, "created_at").value_or(0);
  t.updated_at = get_opt(o, "updated_at").value_or(0);
  return t;
}

std::string encode(const NotificationGroup& g) {
  json::object o;
  o["v"] = 1;
  o["tenant"] = g.tenant;
  o["id"] = g.id;
  o["spec"] = json::parse(g.spec_json);
  o["created_at"] = g.created_at;
  o["updated_at"] = g.updated_at;
  return json::serialize(o);
}

std::optional<NotificationGroup> decode_group(std::string_view in) {
  boost::system::error_code ec;
  auto v = json::parse(in, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  auto spec = o.find("spec");
  if (spec == o.end() || !spec->value().is_object()) return std::nullopt;
  NotificationGroup g;
  g.tenant = get_str(o, "tenant");
  g.id = get_str(o, "id");
  if (g.id.empty()) return std::nullopt;
  g.spec_json = json::serialize(spec->value());
  g.created_at = get_opt(o, "created_at").value_or(0);
  g.updated_at = get_opt(o, "updated_at").value_or(0);
  return g;
}

std::string encode(const TenantSigningSecrets& s) {
  return json::serialize(json::object{{"v", 1},
                                      {"current", s.current},
                                      {"created_at", s.created_at},
                                      {"previous", s.previous},
                                      {"previous_expires_at", s.previous_expires_at}});
}

std::optional<TenantSigningSecrets> decode_signing_secrets(std::string_view in) {
  boost::system::error_code ec;
  auto v = json::parse(in, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  TenantSigningSecrets s;
  s.current = get_str(o, "current");
  if (s.current.empty()) return std::nullopt;
  s.created_at = get_opt(o, "created_at").value_or(0);
  s.previous = get_str(o, "previous");
  s.previous_expires_at = get_opt(o, "previous_expires_at").value_or(0);
  return s;
}

}  // namespace crier::records
