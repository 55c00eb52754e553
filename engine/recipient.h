// One recipient of a job. Its identity is (job, seq), seq counting from 0 in
// ingest order. The record is written once at ingest; its delivery state is
// a separate, small record, absent while the recipient is PENDING.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace crier {

enum class RecipientStatus : std::uint8_t {
  pending,
  enqueued,
  sent,
  delivered,
  failed,
  skipped,
  cancelled,
};

std::string_view to_string(RecipientStatus s);  // upper case
std::optional<RecipientStatus> parse_recipient_status(std::string_view s);
bool is_final(RecipientStatus s);  // SENT and beyond: never sent again

struct Recipient {
  std::uint64_t seq = 0;
  std::string user_id;
  std::string email;
  std::string phone;
  std::string push_token;
  std::string webhook_url;
  std::string locale;
  std::string data_json;         // empty or a JSON object: overrides the job's data
  std::string preferences_json;  // empty or a JSON object, kept for routing
};

struct RecipientState {
  RecipientStatus status = RecipientStatus::pending;
  std::uint32_t attempts = 0;
  std::int64_t updated_at = 0;  // unix ms; 0 while pending since ingest
  std::string error_code;
  std::string error_message;
  // While a transient failure waits for its retry: when it is due (unix ms).
  // The recipient stays ENQUEUED meanwhile; 0 when no retry is scheduled.
  std::int64_t next_attempt_at = 0;
  // When a provider reported the message read (unix ms); 0 when not.
  std::int64_t read_at = 0;
  // When a provider accepted the message (unix ms): set with SENT and kept
  // through the receipts after it; 0 when never sent.
  std::int64_t sent_at = 0;
  // When a provider reported it delivered (unix ms); 0 when not. A read
  // receipt alone implies delivery but gives no time for it.
  std::int64_t delivered_at = 0;
};

struct RecipientView {
  Recipient recipient;
  RecipientState state;
};

}  // namespace crier
