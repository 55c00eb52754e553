#include "engine/profile_resolution.h"

#include <boost/json.hpp>
#include <fmt/format.h>

namespace crier {
namespace json = boost::json;

void apply_profile(Recipient& r, const Profile& p, const JobSpec& job) {
  auto fill = [](std::string& field, const std::string& from) {
    if (field.empty()) field = from;
  };
  fill(r.email, p.email);
  fill(r.phone, p.phone);
  if (job.webhook_url.empty()) fill(r.webhook_url, p.webhook_url);
  fill(r.locale, p.locale);
  if (r.push_token.empty() && !p.push_tokens.empty()) r.push_token = p.push_tokens.front();
  if (p.attributes.empty()) return;
  json::object data = p.attributes;
  if (!r.data_json.empty()) {
    boost::system::error_code ec;
    auto own = json::parse(r.data_json, ec);
    // Ingest stored an object; anything else would be the record's damage,
    // and the recipient's own data is kept as it was.
    if (ec || !own.is_object()) return;
    for (auto& [k, v] : own.get_object()) data[k] = std::move(v);
  }
  r.data_json = json::serialize(data);
}

std::optional<Ineligible> ineligible(SubscriptionRequirement job_requirement, const Profile* profile,
                                     Channel channel) {
  const auto state = profile ? profile->subscription(channel) : SubscriptionState::subscribed;
  if (is_eligible(state, job_requirement)) return std::nullopt;
  if (state == SubscriptionState::unsubscribed)
    return Ineligible{"unsubscribed", fmt::format("the user unsubscribed from {}", to_string(channel))};
  return Ineligible{"not_opted_in",
                    fmt::format("the job sends to users opted in to {} only, and this user is not", to_string(channel))};
}

}  // namespace crier
