#include "workers/webhook_provider.h"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>

#include "workers/peer_text.h"
#include "workers/webhook_signature.h"

namespace crier {
namespace json = boost::json;

namespace {

// Retry-After in delta-seconds (the HTTP-date form is rare from APIs and is
// ignored: the dispatcher's own backoff applies). Capped at a day.
std::int64_t retry_after_ms(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || seconds < 0) return 0;
  return std::min<std::int64_t>(seconds, 86'400) * 1000;
}

// The start of a peer's answer, on one line and in UTF-8, for error messages.
std::string quote_body(std::string_view body) {
  std::string out = peer_text(body, 200);
  for (auto& c : out)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return out;
}

DeliveryOutcome failure(bool transient, std::string code, std::string message) {
  DeliveryOutcome o;
  o.ok = false;
  o.transient = transient;
  o.error_code = std::move(code);
  o.error_message = std::move(message);
  return o;
}

class WebhookProvider final : public Provider {
 public:
  explicit WebhookProvider(WebhookProviderOptions options)
      : options_(std::move(options)), client_(client_options(options_)) {
    if (!options_.signing_secret.empty()) {
      auto signer = WebhookSigner::from_secret(options_.signing_secret);
      if (signer) signer_.emplace(std::move(*signer));
      else {
        secret_error_ = signer.error().message;
        spdlog::error("provider {}: {}; every message will fail", options_.name, secret_error_);
      }
    }
  }

  std::string_view name() const override { return options_.name; }

  boost::asio::awaitable<std::vector<DeliveryOutcome>> send(std::span<const OutboundMessage> messages) override {
    const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
    return send_each(client_, messages, [this, now_s](const OutboundMessage& m) { return build(m, now_s); });
  }

 private:
  static HttpClientOptions client_options(const WebhookProviderOptions& o) {
    HttpClientOptions c;
    c.max_connections_per_origin = o.pool_size;
    c.timeout = o.timeout;
    return c;
  }

  Result<HttpRequest> build(const OutboundMessage& m, std::int64_t now_s) const {
    if (!secret_error_.empty()) return make_error(ErrorKind::invalid, "invalid_secret", secret_error_);
    HttpRequest req;
    req.url = m.to.empty() ? options_.default_url : m.to;
    if (req.url.empty()) return make_error(ErrorKind::invalid, "invalid_address", "no webhook URL");
    boost::system::error_code ec;
    json::value data = json::parse(m.content.json_body, ec);
    if (ec) return make_error(ErrorKind::invalid, "invalid_body", "the rendered webhook body is not JSON: " + ec.message());
    auto or_null = [](const std::string& s) { return s.empty() ? json::value(nullptr) : json::value(s); };
    json::object envelope{{"message_id", m.message_id},
                          {"job_id", m.job_id},
                          {"seq", m.seq},
                          {"user_id", or_null(m.user_id)},
                          {"correlation_id", or_null(m.correlation_id)},
                          {"channel", to_string(m.channel)},
                          {"data", std::move(data)}};
    req.body = json::serialize(envelope);
    req.headers.reserve(5 + options_.extra_headers.size());
    req.headers.emplace_back("Content-Type", "application/json");
    req.headers.emplace_back("Idempotency-Key", m.message_id);
    if (signer_) {
      req.headers.emplace_back("webhook-id", m.message_id);
      req.headers.emplace_back("webhook-timestamp", std::to_string(now_s));
      req.headers.emplace_back("webhook-signature", signer_->sign(m.message_id, now_s, req.body));
    }
    for (const auto& h : options_.extra_headers) req.headers.push_back(h);
    return req;
  }

  WebhookProviderOptions options_;
  PooledHttpClient client_;
  std::optional<WebhookSigner> signer_;
  std::string secret_error_;
};

}  // namespace

boost::asio::awaitable<std::vector<DeliveryOutcome>> send_each(PooledHttpClient& client,
                                                               std::span<const OutboundMessage> messages,
                                                               HttpRequestBuilder build) {
  std::vector<DeliveryOutcome> outcomes(messages.size());
  std::vector<HttpRequest> requests;
  std::vector<std::size_t> sent;  // requests[k] carries messages[sent[k]]
  requests.reserve(messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    auto req = build(messages[i]);
    if (req) {
      requests.push_back(std::move(*req));
      sent.push_back(i);
    } else {
      outcomes[i] = failure(false, req.error().code, req.error().message);
    }
  }
  if (!requests.empty()) {
    auto results = co_await client.request_all(std::move(requests));
    for (std::size_t k = 0; k < results.size(); ++k) outcomes[sent[k]] = http_delivery_outcome(results[k]);
  }
  co_return outcomes;
}

DeliveryOutcome http_delivery_outcome(const Result<HttpResponse>& result) {
  if (!result) {
    const Error& e = result.error();
    if (e.code == "invalid_url" || e.code == "invalid_method") return failure(false, "invalid_address", e.message);
    if (e.code == "invalid_header") return failure(false, e.code, e.message);
    // Transport failures, and anything unexpected, are worth another try:
    // the idempotency key makes a repeat harmless.
    return failure(true, e.code, e.message);
  }
  const HttpResponse& r = *result;
  if (r.status >= 200 && r.status < 300) return {};
  auto message = fmt::format("HTTP {}: {}", r.status, quote_body(r.body));
  if (r.status == 429 || r.status >= 500) {
    auto o = failure(true, r.status == 429 ? "rate_limited" : fmt::format("http_{}", r.status), std::move(message));
    if (r.status == 429 || r.status == 503) o.retry_after_ms = retry_after_ms(r.header("Retry-After"));
    return o;
  }
  return failure(false, fmt::format("http_{}", r.status), std::move(message));
}

Result<void> validate_webhook_options(const WebhookProviderOptions& options) {
  if (options.signing_secret.empty()) return {};
  auto signer = WebhookSigner::from_secret(options.signing_secret);
  if (!signer) return signer.error();
  return {};
}

std::unique_ptr<Provider> make_webhook_provider(WebhookProviderOptions options) {
  return std::make_unique<WebhookProvider>(std::move(options));
}

}  // namespace crier
