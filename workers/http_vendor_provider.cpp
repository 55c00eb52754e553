#include "workers/http_vendor_provider.h"

#include <boost/json.hpp>

#include <cctype>

#include "workers/webhook_provider.h"
#include "workers/webhook_signature.h"

namespace crier {
namespace json = boost::json;

namespace {

// application/x-www-form-urlencoded (WHATWG URL §5): unreserved bytes as
// they are, space as '+', everything else percent-encoded.
void append_form_value(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '*') out.push_back(static_cast<char>(c));
    else if (c == ' ') out.push_back('+');
    else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
}

std::string form(std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out.push_back('&');
    append_form_value(out, k);
    out.push_back('=');
    append_form_value(out, v);
  }
  return out;
}

class HttpVendorProvider final : public Provider {
 public:
  explicit HttpVendorProvider(HttpVendorOptions options)
      : options_(std::move(options)), client_(client_options(options_)) {
    if (options_.name.empty()) options_.name = std::string(to_string(options_.shape));
    authorization_ = options_.shape == VendorShape::twilio_sms
                         ? "Basic " + base64_encode(options_.account_sid + ":" + options_.auth_token)
                         : "Bearer " + options_.auth_token;
  }

  std::string_view name() const override { return options_.name; }

  boost::asio::awaitable<std::vector<DeliveryOutcome>> send(std::span<const OutboundMessage> messages) override {
    return send_each(client_, messages, [this](const OutboundMessage& m) -> Result<HttpRequest> {
      if (m.to.empty()) return make_error(ErrorKind::invalid, "invalid_address", "no recipient address");
      return build(m);
    });
  }

 private:
  static HttpClientOptions client_options(const HttpVendorOptions& o) {
    HttpClientOptions c;
    c.max_connections_per_origin = o.pool_size;
    c.timeout = o.timeout;
    c.network = o.network;
    return c;
  }

  HttpRequest build(const OutboundMessage& m) const {
    HttpRequest req;
    req.url = options_.url;
    req.headers.emplace_back("Authorization", authorization_);
    req.headers.emplace_back("X-Crier-Message-Id", m.message_id);
    req.headers.emplace_back("Idempotency-Key", m.message_id);
    const auto& c = m.content;
    switch (options_.shape) {
      case VendorShape::twilio_sms:
        req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
        req.body = form({{"To", m.to}, {"From", options_.from}, {"Body", c.body}});
        break;
      case VendorShape::fcm_push: {
        req.headers.emplace_back("Content-Type", "application/json");
        json::object message{{"token", m.to},
                             {"notification", {{"title", c.title}, {"body", c.body}}},
                             {"data", {{"message_id", m.message_id}}}};
        req.body = json::serialize(json::object{{"message", std::move(message)}});
        break;
      }
      case VendorShape::whatsapp_cloud: {
        req.headers.emplace_back("Content-Type", "application/json");
        json::array parameters;
        for (const auto& p : c.parameters) parameters.push_back(json::object{{"type", "text"}, {"text", p}});
        json::array components;
        components.push_back(json::object{{"type", "body"}, {"parameters", std::move(parameters)}});
        // Dynamic buttons: a URL button's suffix is text, a quick reply's a payload.
        for (const auto& b : c.buttons) {
          json::object parameter = b.sub_type == "quick_reply" ? json::object{{"type", "payload"}, {"payload", b.text}}
                                                               : json::object{{"type", "text"}, {"text", b.text}};
          components.push_back(json::object{{"type", "button"},
                                            {"sub_type", b.sub_type},
                                            {"index", std::to_string(b.index)},
                                            {"parameters", json::array{std::move(parameter)}}});
        }
        json::object tmpl{{"name", c.template_name},
                          {"language", {{"code", c.language.empty() ? options_.default_language : c.language}}},
                          {"components", std::move(components)}};
        req.body = json::serialize(json::object{{"messaging_product", "whatsapp"},
                                                {"to", m.to},
                                                {"type", "template"},
                                                {"template", std::move(tmpl)}});
        break;
      }
    }
    for (const auto& h : options_.extra_headers) req.headers.push_back(h);
    return req;
  }

  HttpVendorOptions options_;
  PooledHttpClient client_;
  std::string authorization_;
};

}  // namespace

std::string_view to_string(VendorShape shape) {
  switch (shape) {
    case VendorShape::twilio_sms: return "twilio_sms";
    case VendorShape::fcm_push: return "fcm_push";
    case VendorShape::whatsapp_cloud: return "whatsapp_cloud";
  }
  return "unknown";
}

std::optional<VendorShape> parse_vendor_shape(std::string_view s) {
  for (auto shape : {VendorShape::twilio_sms, VendorShape::fcm_push, VendorShape::whatsapp_cloud})
    if (to_string(shape) == s) return shape;
  return std::nullopt;
}

std::unique_ptr<Provider> make_http_vendor_provider(HttpVendorOptions options) {
  return std::make_unique<HttpVendorProvider>(std::move(options));
}

}  // namespace crier
