#include "api/event_ticket.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <stdexcept>
#include <vector>

#include "api/base64url.h"
#include "api/compat/common.h"
#include "engine/ids.h"

namespace crier::api {
namespace {

constexpr std::string_view kDomain = "crier-event-ticket\n";
constexpr std::size_t kMacBytes = 32;

Error invalid(std::string message) {
  return make_error(ErrorKind::unauthorized, "invalid_ticket", std::move(message));
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    auto at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

}  // namespace

EventTickets::EventTickets(std::string key, Clock clock) : key_(std::move(key)), clock_(std::move(clock)) {
  if (key_.size() < 16) throw std::invalid_argument("an event ticket key needs at least 16 bytes");
}

std::string EventTickets::mac(std::string_view claims) const {
  std::string content(kDomain);
  content.append(claims);
  std::string out(kMacBytes, '\0');
  unsigned int n = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(),
       reinterpret_cast<unsigned char*>(out.data()), &n);
  out.resize(n);
  return out;
}

EventTickets::Issued EventTickets::issue(std::string_view tenant, std::string_view job_id) const {
  Issued out;
  out.expires_at = clock_() + kLifetime.count();
  std::string claims = fmt::format("1\n{}\n{}\n{}", tenant, job_id, out.expires_at);
  out.ticket = base64url(claims) + "." + base64url(mac(claims));
  return out;
}

Result<std::string> EventTickets::verify(std::string_view ticket, std::string_view job_id) const {
  auto dot = ticket.find('.');
  if (dot == std::string_view::npos) return invalid("the ticket is not valid");
  auto claims = unbase64url(ticket.substr(0, dot));
  auto presented = unbase64url(ticket.substr(dot + 1));
  if (!claims || !presented || presented->size() != kMacBytes) return invalid("the ticket is not valid");
  // The MAC first, in constant time: nothing in the claims is trusted (or
  // even parsed) before it matches.
  const std::string expected = mac(*claims);
  if (CRYPTO_memcmp(expected.data(), presented->data(), kMacBytes) != 0) return invalid("the ticket is not valid");
  auto parts = split(*claims, '\n');
  std::int64_t expires_at = 0;
  if (parts.size() != 4 || parts[0] != "1" ||
      std::from_chars(parts[3].data(), parts[3].data() + parts[3].size(), expires_at).ec != std::errc())
    return invalid("the ticket is not valid");
  if (parts[2] != job_id) return invalid("the ticket is for another job");
  if (clock_() >= expires_at)
    return make_error(ErrorKind::unauthorized, "ticket_expired",
                      "the ticket has expired (tickets last 5 minutes); get a new one from POST "
                      "/v1/jobs/{id}/events/ticket");
  return std::string(parts[1]);
}

bool presents_ticket(const ApiRequest& req) { return req.authorization.empty() && req.query.contains("ticket"); }

Result<void> authenticate_ticket(const EventTickets* tickets, ApiRequest& req) {
  auto p = compat::path_parts(req.path);
  if (req.method != "GET" || p.size() != 4 || p[0] != "v1" || p[1] != "jobs" || p[3] != "events")
    return invalid("a ticket opens GET /v1/jobs/{id}/events only; send your API key as 'Authorization: Bearer <key>'");
  if (!tickets) return invalid("the ticket is not valid");
  // Job ids are read in any case; tickets name the canonical one.
  auto key = parse_job_id(p[2]);
  const std::string job_id = key ? job_id_string(*key) : std::string(p[2]);
  auto tenant = tickets->verify(req.query.find("ticket")->second, job_id);
  if (!tenant) return tenant.error();
  req.tenant = std::move(*tenant);
  return {};
}

}  // namespace crier::api
