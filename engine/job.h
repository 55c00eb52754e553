// A bulk job: what to send, to which channel, and where it stands.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/channel.h"
#include "engine/content.h"
#include "engine/ids.h"
#include "engine/routing.h"
#include "engine/subscription.h"

namespace crier {

enum class JobStatus : std::uint8_t {
  created,
  scheduled,
  processing,
  paused,
  completed,
  partial,
  failed,
  cancelled,
  // Cancelled, while the dispatcher sweeps the recipients still PENDING or
  // ENQUEUED to CANCELLED; CANCELLED once none is left, so a final status
  // always comes with final counters. Last, so the stored numbers of the
  // others do not move.
  cancelling,
};

std::string_view to_string(JobStatus s);  // upper case, as the API shows it
std::optional<JobStatus> parse_job_status(std::string_view s);  // case-insensitive
bool is_final(JobStatus s);

struct JobSpec {
  // The one channel of a single-channel job. With a routing, its first
  // channel; which channel a recipient goes on is route_for's answer
  // (engine/routing.h), never this field alone.
  Channel channel = Channel::email;
  // Several channels in order of preference; nullopt for a single-channel job.
  std::optional<Routing> routing;
  std::string template_id;  // empty when the content was given inline
  LocalizedContent content;
  std::string data_json = "{}";  // global data, a JSON object
  std::string locale;
  std::string webhook_url;
  std::string correlation_id;
  std::string callback_url;
  // Empty: each channel's configured provider (dispatch.channels), else the
  // default. Named, it carries every message of the job, so a job routed
  // over several channels names none (the API refuses it).
  std::string provider;
  // A WhatsApp sender's phone_number_id (sender.h): the job takes its
  // provider and pace from the sender, and its unique recipients consume
  // the sender's quota when the job starts. Empty: none.
  std::string sender;
  std::optional<std::int64_t> schedule_at;  // unix ms
  std::optional<std::int64_t> expires_at;   // unix ms
  double rate_limit = 0;                    // messages/s; 0 = no job-level limit
  // The caller's own JSON object, stored and shown as given (empty: none).
  // The vendors' façades keep the vendor's job definition here.
  std::string metadata_json;
  // Which recipients with a stored profile it sends to, by their standing on
  // the channel (engine/subscription.h): `subscribed` (the default),
  // `opted_in` only, or `all` (transactional).
  SubscriptionRequirement subscription_state = SubscriptionRequirement::subscribed;
  // Frequency caps do not apply to it (engine/frequency_cap.h).
  bool override_frequency_capping = false;
  // A variable with no value fails the recipient (missing_variable) instead
  // of rendering empty and counting a render warning (engine/render.h).
  bool strict_variables = false;
  // The tenant's profiles the job is also for: {"filter": <audience filter>}
  // (engine/audience_filter.h), checked at create; added to the job as users
  // by user_id when it is run (api/routes/audience.cpp). Empty: none.
  std::string audience_json;
  // The notification group the job was made from (empty: none). The store
  // files the job under it in the same write as the job
  // (engine/notification_group.h).
  std::string notification_group;
};

struct Job {
  JobKey key{};
  std::string tenant;
  JobSpec spec;
  JobStatus status = JobStatus::created;
  std::int64_t created_at = 0;  // unix ms
  std::int64_t updated_at = 0;
  std::optional<std::int64_t> started_at;
  std::optional<std::int64_t> finished_at;

  std::string id() const { return job_id_string(key); }
};

}  // namespace crier
