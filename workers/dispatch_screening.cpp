// What stands between a recipient and its message, looked up as each batch
// is built (Dispatcher::build_batch): its stored profile, the suppression
// list and the tenant's frequency caps. Dispatcher members, kept apart from
// the turn and lane machinery in dispatcher.cpp.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/profile_resolution.h"
#include "engine/suppression.h"
#include "engine/time_format.h"
#include "workers/dispatcher.h"

namespace crier {

bool Dispatcher::caps_active(const Job& job) {
  if (!caps_ || job.spec.override_frequency_capping) return false;
  auto rules = caps_->frequency_rules(job.tenant);
  // Unreadable rules: reserve_sends reads them again and holds the items.
  return !rules || !rules->empty();
}

bool Dispatcher::resolve_profiles(const Job& job, std::vector<RecipientView>& items,
                                  std::vector<std::optional<Profile>>& profiles, std::vector<bool>& held) {
  profiles.assign(items.size(), std::nullopt);
  std::vector<std::string_view> ids;
  std::vector<std::size_t> index;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].recipient.user_id.empty()) continue;
    ids.push_back(items[i].recipient.user_id);
    index.push_back(i);
  }
  if (ids.empty()) return true;
  auto found = profiles_->find_profiles(job.tenant, ids);
  if (!found) {
    // Not known where or whether to send: not now. They stay ENQUEUED and
    // come back as a retry does (no attempt is counted: nothing was sent).
    spdlog::warn("job {}: profiles unreadable: {} ({})", job.id(), found.error().message, found.error().detail);
    held.assign(items.size(), false);
    for (auto i : index) held[i] = true;
    return false;
  }
  held.assign(items.size(), false);
  for (std::size_t k = 0; k < index.size(); ++k) {
    auto& f = (*found)[k];
    auto& item = items[index[k]];
    if (f.unreadable) {
      // A damaged record fails its own recipient, not the window: not
      // knowing the user's standing, Crier does not send.
      spdlog::error("job {}: the profile of user {} is unreadable (storage_corrupt)", job.id(), item.recipient.user_id);
      held[index[k]] = true;
      item.state.attempts += 1;
      item.state.status = RecipientStatus::failed;
      item.state.error_code = "profile_unreadable";
      item.state.error_message = "the user's stored profile cannot be read";
      continue;
    }
    if (!f.profile) continue;
    apply_profile(item.recipient, *f.profile, job.spec);
    profiles[index[k]] = std::move(f.profile);
  }
  return true;
}

bool Dispatcher::held_back(const Job& job, RecipientView& item, Channel channel) {
  if (!suppressions_) return false;
  const std::string address = suppression_form(channel, address_on(job.spec, item.recipient, channel));
  auto suppressed = suppressions_->is_suppressed(job.tenant, channel, address);
  if (suppressed && !*suppressed) return false;
  if (suppressed) {
    item.state.status = RecipientStatus::skipped;
    item.state.error_code = "suppressed";
    item.state.error_message = fmt::format("the address is on the tenant's {} suppression list", to_string(channel));
    return true;
  }
  // Not known whether it may be sent: it is not, for now. It stays ENQUEUED
  // and comes back as a retry does (no attempt is counted: nothing was sent).
  spdlog::warn("job {}: suppression check failed: {} ({})", job.id(), suppressed.error().message,
               suppressed.error().detail);
  item.state.error_code = "suppression_unknown";
  item.state.error_message = "the suppression list could not be read; retried later";
  item.state.next_attempt_at = now_unix_ms() + 1000;
  return true;
}

}  // namespace crier
