#include "engine/content_json.h"

#include <boost/json.hpp>

#include "engine/user_validation.h"

namespace crier {
namespace {

Error bad(std::string field, std::string message) {
  return make_error(ErrorKind::invalid, "invalid_content", std::move(message), std::move(field));
}

// Reads an optional string member; errors when present and not a string.
Result<std::string> str(const boost::json::object& o, std::string_view key, const std::string& where) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::string();
  if (!it->value().is_string()) return bad(where + std::string(key), where + std::string(key) + " must be a string");
  return std::string(it->value().get_string());
}

Result<Content> one_from_json(const boost::json::value& v, const std::string& where, bool allow_locales) {
  if (!v.is_object()) return bad(where, where + " must be an object");
  const auto& o = v.get_object();
  Content c;
  for (const auto& [k, val] : o) {
    std::string key(k);
    std::string w = where + "." + key + ".";
    if (key == "locales" && allow_locales) continue;
    if (key != "email" && key != "sms" && key != "push" && key != "webhook" && key != "whatsapp")
      return bad(where + "." + key, "unknown channel '" + key + "' in " + where +
                                        " (expected email, sms, push, webhook, whatsapp" +
                                        (allow_locales ? ", locales)" : ")"));
    if (!val.is_object()) return bad(where + "." + key, where + "." + key + " must be an object");
    const auto& ch = val.get_object();
    if (key == "email") {
      EmailContent e;
      auto s = str(ch, "subject", w), t = str(ch, "text", w), h = str(ch, "html", w);
      if (!s) return s.error();
      if (!t) return t.error();
      if (!h) return h.error();
      e.subject = *s, e.text = *t, e.html = *h;
      if (e.text.empty() && e.html.empty()) return bad(w + "text", "email content needs text or html");
      c.email = std::move(e);
    } else if (key == "sms") {
      auto b = str(ch, "body", w);
      if (!b) return b.error();
      if (b->empty()) return bad(w + "body", "sms content needs a body");
      c.sms = SmsContent{*b};
    } else if (key == "push") {
      auto t = str(ch, "title", w), b = str(ch, "body", w);
      if (!t) return t.error();
      if (!b) return b.error();
      if (t->empty() && b->empty()) return bad(w + "body", "push content needs a title or a body");
      c.push = PushContent{*t, *b};
    } else if (key == "webhook") {
      auto it = ch.find("body");
      if (it == ch.end()) return bad(w + "body", "webhook content needs a body (any JSON)");
      c.webhook = WebhookContent{boost::json::serialize(it->value())};
    } else {
      WhatsappContent wa;
      auto n = str(ch, "template", w), l = str(ch, "language", w);
      if (!n) return n.error();
      if (!l) return l.error();
      if (n->empty()) return bad(w + "template", "whatsapp content needs a template name");
      wa.template_name = *n;
      wa.language = l->empty() ? "en" : *l;
      if (auto it = ch.find("parameters"); it != ch.end()) {
        if (!it->value().is_array()) return bad(w + "parameters", "parameters must be an array of strings");
        for (const auto& p : it->value().get_array()) {
          if (!p.is_string()) return bad(w + "parameters", "parameters must be an array of strings");
          wa.parameters.emplace_back(p.get_string());
        }
      }
      c.whatsapp = std::move(wa);
    }
  }
  if (!c.email && !c.sms && !c.push && !c.webhook && !c.whatsapp)
    return bad(where, where + " must have content for at least one channel");
  return c;
}

boost::json::object one_to_json(const Content& c) {
  boost::json::object o;
  if (c.email) o["email"] = {{"subject", c.email->subject}, {"text", c.email->text}, {"html", c.email->html}};
  if (c.sms) o["sms"] = {{"body", c.sms->body}};
  if (c.push) o["push"] = {{"title", c.push->title}, {"body", c.push->body}};
  if (c.webhook) o["webhook"] = {{"body", boost::json::parse(c.webhook->body_json)}};
  if (c.whatsapp) {
    boost::json::array params;
    for (const auto& p : c.whatsapp->parameters) params.emplace_back(p);
    o["whatsapp"] = {{"template", c.whatsapp->template_name},
                     {"language", c.whatsapp->language},
                     {"parameters", std::move(params)}};
  }
  return o;
}

}  // namespace

Result<LocalizedContent> content_from_json(const boost::json::value& v, std::string_view where) {
  std::string w(where);
  auto base = one_from_json(v, w, true);
  if (!base) return base.error();
  LocalizedContent out;
  out.base = std::move(*base);
  const auto& o = v.get_object();
  if (auto it = o.find("locales"); it != o.end()) {
    if (!it->value().is_object()) return bad(w + ".locales", "locales must be an object keyed by locale");
    for (const auto& [locale, c] : it->value().get_object()) {
      std::string name(locale);
      if (!is_valid_locale(name)) return bad(w + ".locales." + name, "'" + name + "' is not a BCP 47 locale");
      auto one = one_from_json(c, w + ".locales." + name, false);
      if (!one) return one.error();
      out.locales.emplace(canonical_locale(name), std::move(*one));
    }
  }
  return out;
}

boost::json::object content_to_json(const LocalizedContent& c) {
  auto o = one_to_json(c.base);
  if (!c.locales.empty()) {
    boost::json::object locales;
    for (const auto& [k, v] : c.locales) locales[k] = one_to_json(v);
    o["locales"] = std::move(locales);
  }
  return o;
}

}  // namespace crier
