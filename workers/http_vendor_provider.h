// Providers for vendors with an HTTP API: one request per message over the
// same keep-alive pool and the same outcome mapping as the webhook provider
// (http_delivery_outcome). Every request carries X-Crier-Message-Id and
// Idempotency-Key with the message id.
//
//   twilio_sms      POST <url>, form-urlencoded To, From, Body;
//                   Authorization: Basic base64(account_sid:auth_token).
//                   url is e.g. https://api.twilio.com/2010-04-01/Accounts/<sid>/Messages.json
//   fcm_push        POST <url> (https://fcm.googleapis.com/v1/projects/<p>/messages:send),
//                   {"message":{"token":to,"notification":{"title","body"},
//                   "data":{"message_id":…}}}; Authorization: Bearer <token>.
//   whatsapp_cloud  POST <url> (https://graph.facebook.com/v19.0/<phone-id>/messages),
//                   {"messaging_product":"whatsapp","to":…,"type":"template",
//                   "template":{"name","language":{"code"},"components":[{"type":"body",
//                   "parameters":[{"type":"text","text":…},…]},
//                   {"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text",
//                   "text":…}]},…]}} (one button component per rendered button; a quick_reply's
//                   parameter is {"type":"payload","payload":…}); Bearer token.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "workers/http_client.h"
#include "workers/provider.h"

namespace crier {

enum class VendorShape { twilio_sms, fcm_push, whatsapp_cloud };

std::string_view to_string(VendorShape shape);
std::optional<VendorShape> parse_vendor_shape(std::string_view s);

struct HttpVendorOptions {
  std::string name;            // the provider's name; empty: the shape's name
  VendorShape shape = VendorShape::twilio_sms;
  std::string url;             // the vendor's endpoint
  std::string account_sid;     // twilio_sms: Basic auth user
  std::string auth_token;      // twilio_sms: Basic auth password; others: the Bearer token
  std::string from;            // twilio_sms: the sending number
  std::string default_language = "en";  // whatsapp_cloud, when the message has none
  std::size_t pool_size = 32;
  std::chrono::milliseconds timeout{10'000};
  HttpHeaders extra_headers;
  NetworkOptions network;  // [tls] and [network]: trust anchors, idle connection cap
};

std::unique_ptr<Provider> make_http_vendor_provider(HttpVendorOptions options);

}  // namespace crier
