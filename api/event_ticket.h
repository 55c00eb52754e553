// Tickets for the event stream (GET /v1/jobs/{id}/events): a browser's
// EventSource cannot send an Authorization header, and an API key must not
// travel in a URL (URLs land in logs, histories and proxies). A ticket is
// what goes in the URL instead: read-only, for one tenant's one job, valid
// for five minutes, usable several times meanwhile (EventSource reconnects
// by itself).
//
// Stateless: a ticket is its claims (tenant, job id, expiry) and their
// HMAC-SHA256 under the server's ticket key (a secret of 32 random bytes
// kept in the data directory, app/secrets.h), so no store is written to
// issue or check one and a restart keeps tickets valid. The MAC is compared
// in constant time before any claim is looked at.
//
//   ticket = base64url(claims) "." base64url(HMAC-SHA256(key, "crier-event-ticket\n" claims))
//   claims = "1\n" tenant "\n" job_id "\n" expires_at_unix_ms
//
// Thread-safe (immutable once built).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "api/http_types.h"
#include "engine/result.h"

namespace crier::api {

class EventTickets {
 public:
  static constexpr std::chrono::milliseconds kLifetime = std::chrono::minutes(5);
  using Clock = std::function<std::int64_t()>;  // unix ms

  // `key`: the server's secret, at least 16 bytes.
  EventTickets(std::string key, Clock clock);

  struct Issued {
    std::string ticket;
    std::int64_t expires_at = 0;  // unix ms
  };
  Issued issue(std::string_view tenant, std::string_view job_id) const;

  // The tenant a genuine, unexpired ticket for `job_id` was issued to.
  // Errors (unauthorized): invalid_ticket (not made with this key, or for
  // another job), ticket_expired.
  Result<std::string> verify(std::string_view ticket, std::string_view job_id) const;

 private:
  std::string mac(std::string_view claims) const;
  std::string key_;
  Clock clock_;
};

// Whether the request presents a ticket instead of an API key: a `ticket`
// query parameter and no Authorization header.
bool presents_ticket(const ApiRequest& req);
// Authenticates a request that presents a ticket: only GET
// /v1/jobs/{id}/events, with a ticket for that job (sets req.tenant).
// `tickets` may be null (none issued: every ticket is refused).
Result<void> authenticate_ticket(const EventTickets* tickets, ApiRequest& req);

}  // namespace crier::api
