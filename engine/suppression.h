// A tenant's suppression list: addresses that are never sent to on a
// channel, whatever a job says (a hard bounce, a spam complaint, a request
// made to support). Checked when each message is about to leave, so an
// address suppressed while a job runs is not sent to from then on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/channel.h"
#include "engine/result.h"

namespace crier {

struct Suppression {
  std::string tenant;
  Channel channel = Channel::email;
  std::string address;  // suppression_address(): the form lookups use
  std::string reason;   // free text, at most 256 bytes ("hard_bounce", "complaint", "manual", ...)
  std::int64_t created_at = 0;
};

inline constexpr std::size_t kMaxSuppressionReasonBytes = 256;

// The form an address is suppressed and looked up in: as ingest normalises
// it, and an email wholly in lower case (mailbox names are case-blind in
// practice, and a suppression must not be dodged by "Ann@" vs "ann@").
// Errors: the channel's invalid_* address code.
Result<std::string> suppression_address(Channel channel, std::string_view address);

// The same for an address ingest has already normalised (a recipient's):
// only an email changes, to lower case.
std::string suppression_form(Channel channel, std::string_view normalized);

// Whether a `failed` receipt with this error code puts the message's
// address on the tenant's suppression list: a hard bounce or a spam
// complaint (the codes a bridge from SES or SendGrid maps its events to).
// A plain `bounced` may be a soft bounce and does not; an unsubscribe is a
// subscription state, which transactional jobs may still send to, not a
// suppression.
bool receipt_suppresses(std::string_view error_code);

// Declared here, implemented in storage/. Thread-safe; writes synced.
class SuppressionStore {
 public:
  virtual ~SuppressionStore() = default;
  // Returns whether it was new (an existing entry keeps its created_at and
  // takes the new reason).
  virtual Result<bool> put_suppression(const Suppression& s) = 0;
  virtual Result<bool> delete_suppression(std::string_view tenant, Channel channel, std::string_view address) = 0;
  virtual Result<std::optional<Suppression>> find_suppression(std::string_view tenant, Channel channel,
                                                              std::string_view address) = 0;
  // The tenant's suppressions on `channel` in address order after `after`.
  virtual Result<std::vector<Suppression>> list_suppressions(std::string_view tenant, Channel channel,
                                                             std::string_view after, std::size_t limit) = 0;
  // Whether the address is suppressed: the dispatch-time check. An error
  // reads as "unknown": the caller must not send.
  virtual Result<bool> is_suppressed(std::string_view tenant, Channel channel, std::string_view address) = 0;
  // False when the tenant has no suppression at all (remembered in memory:
  // dispatch asks once per batch and then looks nothing up). True may be
  // stale after deletes; an error reads as true.
  virtual Result<bool> may_suppress(std::string_view tenant) = 0;
};

}  // namespace crier
