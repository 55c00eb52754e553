// Names of the enums as the API and the storage show them.
#include <algorithm>
#include <cctype>
#include <string>

#include "engine/counters.h"
#include "engine/enum_names.h"
#include "engine/job.h"
#include "engine/recipient.h"

namespace crier {
namespace {

constexpr std::string_view kChannels[] = {"email", "sms", "push", "webhook", "whatsapp"};
constexpr std::string_view kJobStatuses[] = {"CREATED",   "SCHEDULED", "PROCESSING", "PAUSED",
                                             "COMPLETED", "PARTIAL",   "FAILED",     "CANCELLED", "CANCELLING"};
constexpr std::string_view kRecipientStatuses[] = {"PENDING", "ENQUEUED", "SENT",     "DELIVERED",
                                                   "FAILED",  "SKIPPED",  "CANCELLED"};
constexpr std::string_view kCounters[] = {
    "received", "unique", "duplicates", "rejected", "pending", "enqueued",
    "sent",     "delivered", "failed",  "skipped",  "cancelled", "read",
    "render_warnings"};
static_assert(std::size(kCounters) == kCounterCount);



}  // namespace

std::string_view to_string(Channel c) { return kChannels[static_cast<std::size_t>(c)]; }
std::optional<Channel> parse_channel(std::string_view s) { return find_name<Channel>(kChannels, s); }

std::string_view to_string(JobStatus s) { return kJobStatuses[static_cast<std::size_t>(s)]; }
std::optional<JobStatus> parse_job_status(std::string_view s) {
  return find_name<JobStatus>(kJobStatuses, s);
}
bool is_final(JobStatus s) {
  return s == JobStatus::completed || s == JobStatus::partial || s == JobStatus::failed ||
         s == JobStatus::cancelled;
}

std::string_view to_string(RecipientStatus s) {
  return kRecipientStatuses[static_cast<std::size_t>(s)];
}
std::optional<RecipientStatus> parse_recipient_status(std::string_view s) {
  return find_name<RecipientStatus>(kRecipientStatuses, s);
}
bool is_final(RecipientStatus s) {
  return s != RecipientStatus::pending && s != RecipientStatus::enqueued;
}

std::string_view to_string(Counter c) { return kCounters[static_cast<std::size_t>(c)]; }

Counter counter_for(RecipientStatus s) {
  switch (s) {
    case RecipientStatus::pending: return Counter::pending;
    case RecipientStatus::enqueued: return Counter::enqueued;
    case RecipientStatus::sent: return Counter::sent;
    case RecipientStatus::delivered: return Counter::delivered;
    case RecipientStatus::failed: return Counter::failed;
    case RecipientStatus::skipped: return Counter::skipped;
    case RecipientStatus::cancelled: return Counter::cancelled;
  }
  return Counter::pending;
}

const Content& LocalizedContent::for_locale(const std::string& locale) const {
  if (locale.empty() || locales.empty()) return base;
  if (auto it = locales.find(locale); it != locales.end()) return it->second;
  auto dash = locale.find('-');
  if (dash != std::string::npos) {
    if (auto it = locales.find(locale.substr(0, dash)); it != locales.end()) return it->second;
  }
  return base;
}

}  // namespace crier
