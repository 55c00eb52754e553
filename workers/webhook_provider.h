// The `webhook` channel: one signed JSON POST per message.
//
// Envelope (the request body), every key always present:
//   {"message_id": "msg_…", "job_id": "job_…", "seq": 12,
//    "user_id": "u1" | null, "correlation_id": "c9" | null,
//    "channel": "webhook", "data": <the job's rendered JSON body>}
// Headers: Content-Type: application/json; Idempotency-Key: <message_id>;
// when signed also webhook-id (= message_id, identical on every attempt, so
// receivers drop duplicates), webhook-timestamp and webhook-signature
// (Standard Webhooks, see webhook_signature.h): with the provider's own
// secret, else with the message's tenant's (both the new and the previous
// one during a rotation's grace period; tenant_signing.h).
#pragma once

#include <chrono>
#include <functional>
#include <span>
#include <vector>
#include <cstddef>
#include <memory>
#include <string>

#include "engine/result.h"
#include "workers/egress_policy.h"
#include "workers/http_client.h"
#include "workers/tenant_signing.h"
#include "workers/provider.h"

namespace crier {

struct WebhookProviderOptions {
  std::string name = "webhook";
  // Used when a message's `to` is empty; the only destination of a provider
  // that carries credentials (below).
  std::string default_url;
  std::string signing_secret;  // "whsec_<base64>" or raw; empty: the tenant's secret (below)
  // Signs each message with its tenant's secret when the provider has no
  // secret of its own; null (and no secret): unsigned.
  TenantSigning* tenant_signing = nullptr;
  std::size_t pool_size = 32;  // keep-alive connections per origin
  std::chrono::milliseconds timeout{10'000};  // per request
  HttpHeaders extra_headers;   // added to every request (e.g. an API key)
  // Where it may connect (egress_policy.h): the tenants choose its URLs.
  // Not applied to a provider that carries credentials: it sends only to
  // the URL the operator configured.
  EgressPolicy egress;
};

// Whether the provider carries the operator's credentials: a signing secret
// of its own, extra headers, or a user:password in its URL. Such a provider
// sends only to its `default_url`: a message's `to` (the recipient's or the
// job's webhook_url) never redirects it, so a tenant can never point the
// operator's credentials or signature at a URL of its choosing.
bool carries_credentials(const WebhookProviderOptions& options);

// Start-up check for configuration: the signing secret must parse, and a
// provider that carries credentials needs its URL.
Result<void> validate_webhook_options(const WebhookProviderOptions& options);

// A provider for these options. With a secret validate_webhook_options()
// refuses, every message fails permanently (invalid_secret) rather than
// going out unsigned.
std::unique_ptr<Provider> make_webhook_provider(WebhookProviderOptions options);

// How every HTTP provider reads an answer: 2xx ok; transport failures
// (connect_failed, timeout, ...) transient; 429 (rate_limited) and 5xx
// (http_<status>) transient, 429 and 503 honouring Retry-After in seconds;
// any other status permanent http_<status>. The message is the status line
// ("HTTP 400 Bad Request"), never the body. An invalid URL is permanent
// invalid_address; a destination the egress policy refuses permanent
// egress_denied.
DeliveryOutcome http_delivery_outcome(const Result<HttpResponse>& result);

// What every HTTP provider's send() does: one request per message, built by
// `build` (a message it refuses fails permanently with its error code), all
// sent concurrently over `client`, each answer read by http_delivery_outcome.
using HttpRequestBuilder = std::function<Result<HttpRequest>(const OutboundMessage&)>;
boost::asio::awaitable<std::vector<DeliveryOutcome>> send_each(PooledHttpClient& client,
                                                               std::span<const OutboundMessage> messages,
                                                               HttpRequestBuilder build);

}  // namespace crier
