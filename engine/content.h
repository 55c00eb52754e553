// Message content per channel, with {{var}} Mustache placeholders. A job
// carries it inline or snapshots it from a stored template at create time.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace crier {

struct EmailContent {
  std::string subject, text, html;
};
struct SmsContent {
  std::string body;
};
struct PushContent {
  std::string title, body;
};
// A JSON document (any type) whose string leaves may hold placeholders.
struct WebhookContent {
  std::string body_json;
};
struct WhatsappContent {
  std::string template_name, language;
  std::vector<std::string> parameters;
};

struct Content {
  std::optional<EmailContent> email;
  std::optional<SmsContent> sms;
  std::optional<PushContent> push;
  std::optional<WebhookContent> webhook;
  std::optional<WhatsappContent> whatsapp;
};

// Content with optional per-locale variants; `base` serves every locale
// that has no variant of its own.
struct LocalizedContent {
  Content base;
  std::map<std::string, Content> locales;

  // The variant for a locale: exact ("pt-BR"), then language ("pt"), then base.
  const Content& for_locale(const std::string& locale) const;
};

struct Template {
  std::string tenant;
  std::string id;
  LocalizedContent content;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

}  // namespace crier
