#include "engine/suppression.h"

#include <algorithm>
#include <cctype>

#include "engine/user_validation.h"

namespace crier {

bool receipt_suppresses(std::string_view error_code) {
  return error_code == "hard_bounce" || error_code == "complaint" || error_code == "spam_complaint";
}

std::string suppression_form(Channel channel, std::string_view normalized) {
  std::string out(normalized);
  if (channel == Channel::email)
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Result<std::string> suppression_address(Channel channel, std::string_view address) {
  switch (channel) {
    case Channel::email: {
      auto e = normalize_email(address);
      if (!e) return e.error();
      return suppression_form(channel, *e);
    }
    case Channel::sms:
    case Channel::whatsapp: return normalize_phone(address);
    case Channel::webhook: return normalize_webhook_url(address);
    case Channel::push: {
      const bool ok = !address.empty() && address.size() <= kMaxAddressBytes &&
                      std::none_of(address.begin(), address.end(),
                                   [](char c) { return static_cast<unsigned char>(c) <= 0x20; });
      if (ok) return std::string(address);
      return make_error(ErrorKind::invalid, "invalid_push_token",
                        "a push token is 1 to 2048 bytes without spaces or control characters", "address");
    }
  }
  return make_error(ErrorKind::invalid, "invalid_channel", "unknown channel", "channel");
}

}  // namespace crier
