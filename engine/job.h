// A bulk job: what to send, to which channel, and where it stands.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/content.h"
#include "engine/ids.h"

namespace crier {

enum class Channel : std::uint8_t { email, sms, push, webhook, whatsapp };

enum class JobStatus : std::uint8_t {
  created,
  scheduled,
  processing,
  paused,
  completed,
  partial,
  failed,
  cancelled,
};

std::string_view to_string(Channel c);
std::optional<Channel> parse_channel(std::string_view s);
std::string_view to_string(JobStatus s);  // upper case, as the API shows it
std::optional<JobStatus> parse_job_status(std::string_view s);  // case-insensitive
bool is_final(JobStatus s);

struct JobSpec {
  Channel channel = Channel::email;
  std::string template_id;  // empty when the content was given inline
  LocalizedContent content;
  std::string data_json = "{}";  // global data, a JSON object
  std::string locale;
  std::string webhook_url;
  std::string correlation_id;
  std::string callback_url;
  std::string provider;  // empty: the channel's configured default
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
