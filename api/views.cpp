#include "api/views.h"

#include <boost/json.hpp>

#include <cmath>

#include "engine/content_json.h"
#include "engine/routing_json.h"
#include "engine/time_format.h"

namespace crier::api {
namespace json = boost::json;
namespace {

json::value time_or_null(const std::optional<std::int64_t>& ms) {
  return ms ? json::value(format_rfc3339(*ms)) : json::value(nullptr);
}

json::value str_or_null(const std::string& s) { return s.empty() ? json::value(nullptr) : json::value(s); }

// Boost.JSON writes every double in exponent form (5E3): whole numbers go
// out as integers, so rates read as people write them.
json::value number(double v) {
  double whole = std::round(v);
  if (std::fabs(v - whole) < 1e-9 && std::fabs(whole) < 9e15) return json::value(static_cast<std::int64_t>(whole));
  return json::value(v);
}

json::value ms_or_null(std::int64_t ms) { return ms ? json::value(format_rfc3339(ms)) : json::value(nullptr); }

}  // namespace

json::object job_view(const Job& job, const JobCounters& c, double rate, const DispatchHold* hold) {
  const auto& s = job.spec;
  json::object o;
  o["job_id"] = job.id();
  o["status"] = to_string(job.status);
  // One of the two: a routed job has no single channel.
  o["channel"] = s.routing ? json::value(nullptr) : json::value(to_string(s.channel));
  o["routing"] = s.routing ? json::value(routing_to_json(*s.routing)) : json::value(nullptr);
  o["template"] = str_or_null(s.template_id);
  o["content"] = content_to_json(s.content);
  o["data"] = json::parse(s.data_json);
  o["locale"] = str_or_null(s.locale);
  o["webhook_url"] = str_or_null(s.webhook_url);
  o["correlation_id"] = str_or_null(s.correlation_id);
  o["callback_url"] = str_or_null(s.callback_url);
  o["provider"] = str_or_null(s.provider);
  o["sender"] = str_or_null(s.sender);
  o["rate_limit"] = s.rate_limit > 0 ? number(s.rate_limit) : json::value(nullptr);
  o["schedule_at"] = time_or_null(s.schedule_at);
  o["expires_at"] = time_or_null(s.expires_at);
  o["metadata"] = s.metadata_json.empty() ? json::value(nullptr) : json::parse(s.metadata_json);
  o["notification_group"] = str_or_null(s.notification_group);
  o["subscription_state"] = to_string(s.subscription_state);
  o["override_frequency_capping"] = s.override_frequency_capping;
  o["strict_variables"] = s.strict_variables;
  o["audience"] = s.audience_json.empty() ? json::value(nullptr) : json::parse(s.audience_json);
  for (std::size_t i = 0; i < kCounterCount; ++i)
    o[to_string(static_cast<Counter>(i))] = c.values[i];
  // A finished job reports its average over the run; a running one, the
  // rate measured over the last few seconds.
  if (is_final(job.status) && job.started_at && job.finished_at && *job.finished_at > *job.started_at) {
    auto attempted = c[Counter::sent] + c[Counter::delivered] + c[Counter::failed];
    rate = static_cast<double>(attempted) * 1000.0 / static_cast<double>(*job.finished_at - *job.started_at);
  }
  // Whole messages per second; a tenth below 10/s, where whole numbers lie.
  o["rate_per_second"] = number(rate >= 10 ? std::round(rate) : std::round(rate * 10) / 10);
  auto outstanding = c.outstanding();
  if (job.status == JobStatus::processing && rate > 0)
    o["estimated_seconds_remaining"] = static_cast<std::int64_t>(std::ceil(static_cast<double>(outstanding) / rate));
  else if (is_final(job.status) || outstanding == 0)
    o["estimated_seconds_remaining"] = 0;
  else
    o["estimated_seconds_remaining"] = nullptr;  // not moving: no honest estimate
  o["created_at"] = format_rfc3339(job.created_at);
  o["updated_at"] = format_rfc3339(job.updated_at);
  o["started_at"] = time_or_null(job.started_at);
  o["finished_at"] = time_or_null(job.finished_at);
  o["dispatch_hold"] = hold ? json::value(json::object{{"code", hold->code},
                                                        {"message", hold->message},
                                                        {"since", format_rfc3339(hold->since_ms)},
                                                        {"failures", hold->failures}})
                            : json::value(nullptr);
  return o;
}

json::object recipient_view(const Job& job, const RecipientView& v) {
  const auto& r = v.recipient;
  const auto& s = v.state;
  json::object o;
  o["seq"] = r.seq;
  // The channel it is (or was) sent on: computed from the record, as
  // dispatch computes it, so nothing is stored for it.
  auto channel = route_for(job.spec, r);
  o["channel"] = channel ? json::value(to_string(*channel)) : json::value(nullptr);
  o["user_id"] = str_or_null(r.user_id);
  o["email"] = str_or_null(r.email);
  o["phone"] = str_or_null(r.phone);
  o["push_token"] = str_or_null(r.push_token);
  o["webhook_url"] = str_or_null(r.webhook_url);
  o["locale"] = str_or_null(r.locale);
  o["data"] = r.data_json.empty() ? json::value(json::object()) : json::parse(r.data_json);
  o["status"] = to_string(s.status);
  // A message id exists once the recipient was handed to a provider.
  bool handed_over = s.attempts > 0 || s.status == RecipientStatus::enqueued;
  o["message_id"] = handed_over ? json::value(message_id(job.key, r.seq)) : json::value(nullptr);
  o["attempts"] = s.attempts;
  o["error"] = s.error_code.empty()
                   ? json::value(nullptr)
                   : json::value(json::object{{"code", s.error_code}, {"message", s.error_message}});
  o["updated_at"] = ms_or_null(s.updated_at);
  // Waiting for a retry after a transient failure: when it is due.
  o["next_attempt_at"] = ms_or_null(s.next_attempt_at);
  o["read_at"] = ms_or_null(s.read_at);
  o["sent_at"] = ms_or_null(s.sent_at);
  o["delivered_at"] = ms_or_null(s.delivered_at);
  return o;
}

json::object sms_view(const SmsSegments& s) {
  return json::object{{"encoding", to_string(s.encoding)}, {"segments", s.segments}, {"characters", s.characters}};
}

json::object sender_view(const Sender& s, const QuotaStatus& q) {
  auto limit = [](const std::optional<std::int64_t>& v) { return v ? json::value(*v) : json::value(nullptr); };
  return json::object{{"phone_number_id", s.phone_number_id},
                      {"display_phone_number", s.display_phone_number},
                      {"verified_name", s.verified_name},
                      {"quality_rating", to_string(s.quality_rating)},
                      {"messaging_limit_tier", to_string(s.tier)},
                      {"provider", str_or_null(s.provider)},
                      {"messages_per_second", number(s.messages_per_second)},
                      {"quota_total", limit(q.total)},
                      {"quota_used_24h", q.used},
                      {"quota_available", limit(q.available)},
                      {"created_at", format_rfc3339(s.created_at)},
                      {"updated_at", format_rfc3339(s.updated_at)}};
}

json::object template_view(const Template& t) {
  return json::object{{"template_id", t.id},
                      {"content", content_to_json(t.content)},
                      {"created_at", format_rfc3339(t.created_at)},
                      {"updated_at", format_rfc3339(t.updated_at)}};
}

json::object group_view(const NotificationGroup& g) {
  json::object o{{"group_id", g.id}};
  auto spec = json::parse(g.spec_json);
  for (std::string_view member : {"channel", "template", "content", "provider", "webhook_url"}) {
    auto* v = spec.is_object() ? spec.get_object().if_contains(member) : nullptr;
    o[member] = v ? *v : json::value(nullptr);
  }
  o["created_at"] = format_rfc3339(g.created_at);
  o["updated_at"] = format_rfc3339(g.updated_at);
  return o;
}

}  // namespace crier::api
