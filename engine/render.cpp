#include "engine/render.h"

#include "engine/user_validation.h"
#include "engine/variable_template.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <kainjow/mustache.hpp>
#include <simdjson.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <functional>

namespace crier {
namespace mustache = kainjow::mustache;

namespace {

// Mustache's default HTML escaping is right for HTML only: an SMS or a JSON
// body must carry "&" as "&", not "&amp;".
mustache::mustache compile_text(const std::string& source, bool html) {
  mustache::mustache t{source};
  if (!html) t.set_custom_escape([](const std::string& s) { return s; });
  return t;
}

mustache::data to_mustache(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::object: {
      mustache::data d{mustache::data::type::object};
      for (const auto& [k, child] : v.get_object()) d.set(std::string(k), to_mustache(child));
      return d;
    }
    case boost::json::kind::array: {
      mustache::data d{mustache::data::type::list};
      for (const auto& child : v.get_array()) d.push_back(to_mustache(child));
      return d;
    }
    case boost::json::kind::string: return mustache::data{std::string(v.get_string())};
    case boost::json::kind::bool_: return mustache::data{v.get_bool()};
    case boost::json::kind::null: return mustache::data{false};
    case boost::json::kind::int64: return mustache::data{std::to_string(v.get_int64())};
    case boost::json::kind::uint64: return mustache::data{std::to_string(v.get_uint64())};
    case boost::json::kind::double_:  // shortest form that reads back the same: 9.99, not 9.99E0
      return mustache::data{fmt::format("{}", v.get_double())};
  }
  return mustache::data{false};  // unreachable: every kind is handled above
}

void collect_strings(boost::json::value& v, const std::function<void(boost::json::string&)>& f) {
  if (v.is_string()) {
    f(v.get_string());
  } else if (v.is_object()) {
    for (auto& [k, child] : v.get_object()) collect_strings(child, f);
  } else if (v.is_array()) {
    for (auto& child : v.get_array()) collect_strings(child, f);
  }
}

Result<void> check(const mustache::mustache& t, const std::string& field) {
  if (t.is_valid()) return {};
  return make_error(ErrorKind::unprocessable, "invalid_template",
                    field + ": " + t.error_message(), field);
}

}  // namespace

struct JobRenderer::Compiled {
  Channel channel = Channel::email;
  std::vector<std::pair<std::string, mustache::mustache>> fields;  // name -> template
  boost::json::value webhook_body;                                 // with placeholders
  std::vector<mustache::mustache> webhook_strings;                 // DFS order of its strings
  std::string template_name, language;
  // The same templates for the fast path, when every one of them is made
  // of text and variables only (then `fast` is true).
  bool fast = true;
  std::vector<VariableTemplate> fast_fields;            // parallel to `fields`
  // Where each of `fields` goes in a RenderedMessage (null: appended to
  // `parameters`), and whether it is HTML: decided once, not per message.
  std::vector<std::string RenderedMessage::*> slots;    // parallel to `fields`
  std::vector<bool> html;                               // parallel to `fields`
  std::vector<VariableTemplate> fast_webhook_strings;   // parallel to `webhook_strings`
  // The names its sections test: a lookup of one that finds nothing is a
  // false section, not a missing variable.
  std::set<std::string, std::less<>> section_names;

  void add_fast(std::vector<VariableTemplate>& to, const std::string& source) {
    if (!fast) return;
    auto t = VariableTemplate::compile(source);
    if (t) to.push_back(std::move(*t));
    else fast = false;
  }
};

namespace {

Result<std::unique_ptr<JobRenderer::Compiled>> compile_content(const Content& c, Channel channel,
                                                               const std::string& where);

// The member a rendered field is stored in; null for a WhatsApp parameter,
// which is appended to `parameters`.
std::string RenderedMessage::*field_slot(std::string_view name) {
  if (name == "subject") return &RenderedMessage::subject;
  if (name == "text") return &RenderedMessage::text;
  if (name == "html") return &RenderedMessage::html;
  if (name == "title") return &RenderedMessage::title;
  if (name == "body") return &RenderedMessage::body;
  return nullptr;
}

}  // namespace

void merge_data(boost::json::object& base, const boost::json::object& overrides) {
  for (const auto& [k, v] : overrides) {
    auto it = base.find(k);
    if (it != base.end() && it->value().is_object() && v.is_object()) {
      merge_data(it->value().get_object(), v.get_object());
    } else {
      base[k] = v;
    }
  }
}

namespace {

Result<std::unique_ptr<JobRenderer::Compiled>> compile_content(const Content& c, Channel channel,
                                                               const std::string& where) {
  auto out = std::make_unique<JobRenderer::Compiled>();
  out->channel = channel;
  auto add = [&](const char* name, const std::string& src, bool html) -> Result<void> {
    out->fields.emplace_back(name, compile_text(src, html));
    out->slots.push_back(field_slot(name));
    out->html.push_back(html);
    out->add_fast(out->fast_fields, src);
    collect_section_names(src, out->section_names);
    return check(out->fields.back().second, where + std::string(to_string(channel)) + "." + name);
  };
  auto missing = [&] {
    return make_error(ErrorKind::unprocessable, "content_missing_channel",
                      where + std::string(to_string(channel)) + " content is required for a " +
                          std::string(to_string(channel)) + " job",
                      where + std::string(to_string(channel)));
  };
  Result<void> r;
  switch (channel) {
    case Channel::email:
      if (!c.email) return missing();
      if (!(r = add("subject", c.email->subject, false))) return r.error();
      if (!(r = add("text", c.email->text, false))) return r.error();
      if (!(r = add("html", c.email->html, true))) return r.error();
      break;
    case Channel::sms:
      if (!c.sms) return missing();
      if (!(r = add("body", c.sms->body, false))) return r.error();
      break;
    case Channel::push:
      if (!c.push) return missing();
      if (!(r = add("title", c.push->title, false))) return r.error();
      if (!(r = add("body", c.push->body, false))) return r.error();
      break;
    case Channel::webhook: {
      if (!c.webhook) return missing();
      boost::system::error_code ec;
      out->webhook_body = boost::json::parse(c.webhook->body_json, ec);
      if (ec) return make_error(ErrorKind::unprocessable, "invalid_template",
                                where + "webhook.body is not JSON", where + "webhook.body");
      Result<void> bad;
      collect_strings(out->webhook_body, [&](boost::json::string& s) {
        out->webhook_strings.push_back(compile_text(std::string(s), false));
        out->add_fast(out->fast_webhook_strings, std::string(s));
        collect_section_names(s, out->section_names);
        if (bad) bad = check(out->webhook_strings.back(), where + "webhook.body");
      });
      if (!bad) return bad.error();
      break;
    }
    case Channel::whatsapp:
      if (!c.whatsapp) return missing();
      out->template_name = c.whatsapp->template_name;
      out->language = c.whatsapp->language;
      for (std::size_t i = 0; i < c.whatsapp->parameters.size(); ++i)
        if (!(r = add("parameter", c.whatsapp->parameters[i], false))) return r.error();
      break;
  }
  return out;
}

}  // namespace

namespace {

std::string_view trim(std::string_view t) {
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  return t;
}

// Calls `f` with every tag of a Mustache source, trimmed and not empty,
// following set-delimiter tags ({{=<% %>=}}) as kainjow does.
template <class F>
void for_each_tag(std::string_view s, F f) {
  std::string open = "{{", close = "}}";
  std::size_t pos = 0;
  while ((pos = s.find(open, pos)) != std::string_view::npos) {
    auto start = pos + open.size();
    auto end = s.find(close, start);
    if (end == std::string_view::npos) break;
    auto tag = trim(s.substr(start, end - start));
    pos = end + close.size();
    if (tag.empty()) continue;
    if (tag[0] == '=' && tag.size() >= 2 && tag.back() == '=') {
      auto inner = trim(tag.substr(1, tag.size() - 2));
      auto space = inner.find_first_of(" \t\r\n");
      if (space == std::string_view::npos) continue;  // not a valid set-delimiter: kainjow refuses it
      open = std::string(inner.substr(0, space));
      close = std::string(trim(inner.substr(space)));
      if (open.empty() || close.empty()) break;
      continue;
    }
    f(tag);
  }
}

}  // namespace

std::size_t section_depth(std::string_view s) {
  std::size_t depth = 0, deepest = 0;
  for_each_tag(s, [&](std::string_view tag) {
    if (tag[0] == '#' || tag[0] == '^') deepest = std::max(deepest, ++depth);
    else if (tag[0] == '/' && depth > 0) --depth;
  });
  return deepest;
}

void collect_section_names(std::string_view source, std::set<std::string, std::less<>>& out) {
  for_each_tag(source, [&](std::string_view tag) {
    if (tag[0] == '#' || tag[0] == '^') out.emplace(trim(tag.substr(1)));
  });
}

namespace {

// Every template source of `c` with its field name, e.g. ("email.subject", ...).
template <class F>
void for_each_source(const Content& c, F f) {
  if (c.email) {
    f("email.subject", c.email->subject);
    f("email.text", c.email->text);
    f("email.html", c.email->html);
  }
  if (c.sms) f("sms.body", c.sms->body);
  if (c.push) {
    f("push.title", c.push->title);
    f("push.body", c.push->body);
  }
  if (c.webhook) f("webhook.body", c.webhook->body_json);
  if (c.whatsapp)
    for (std::size_t i = 0; i < c.whatsapp->parameters.size(); ++i)
      f("whatsapp.parameters[" + std::to_string(i) + "]", c.whatsapp->parameters[i]);
}

Result<void> check_limits(const LocalizedContent& content) {
  std::size_t total = 0;
  std::optional<Error> error;
  auto check = [&](const std::string& where) {
    return [&, where](const std::string& name, const std::string& source) {
      if (error) return;
      std::string field = where + name;
      total += source.size();
      auto bad = [&](std::string message) {
        error = make_error(ErrorKind::unprocessable, "invalid_template", field + ": " + message, field);
      };
      if (source.size() > kMaxTemplateFieldBytes)
        bad(fmt::format("the template is {} bytes; the limit is {}", source.size(), kMaxTemplateFieldBytes));
      else if (total > kMaxTemplateTotalBytes)
        bad(fmt::format("the content's templates are over {} bytes in all", kMaxTemplateTotalBytes));
      else if (auto d = section_depth(source); d > kMaxTemplateSectionDepth)
        bad(fmt::format("sections are nested {} deep; the limit is {}", d, kMaxTemplateSectionDepth));
    };
  };
  for_each_source(content.base, check("content."));
  for (const auto& [locale, c] : content.locales) for_each_source(c, check("content.locales." + locale + "."));
  if (error) return *error;
  return {};
}

}  // namespace

Result<void> check_templates(const LocalizedContent& content) {
  if (auto r = check_limits(content); !r) return r;
  // Every channel present is checked, not only the job's: a template is
  // stored for all of its channels.
  for (Channel ch : {Channel::email, Channel::sms, Channel::push, Channel::webhook, Channel::whatsapp}) {
    auto check_one = [&](const Content& c, const std::string& where) -> Result<void> {
      bool present = (ch == Channel::email && c.email) || (ch == Channel::sms && c.sms) ||
                     (ch == Channel::push && c.push) || (ch == Channel::webhook && c.webhook) ||
                     (ch == Channel::whatsapp && c.whatsapp);
      if (!present) return {};
      auto compiled = compile_content(c, ch, where);
      if (!compiled) return compiled.error();
      return {};
    };
    if (auto r = check_one(content.base, "content."); !r) return r;
    for (const auto& [locale, c] : content.locales)
      if (auto r = check_one(c, "content.locales." + locale + "."); !r) return r;
  }
  return {};
}

struct JobRenderer::Scratch {
  simdjson::dom::parser parser;
};

JobRenderer::~JobRenderer() = default;

Result<std::unique_ptr<JobRenderer>> JobRenderer::compile(const JobSpec& spec) {
  std::unique_ptr<JobRenderer> r(new JobRenderer());
  r->scratch_ = std::make_unique<Scratch>();
  r->routes_.channel = spec.channel;
  r->routes_.routing = spec.routing;
  r->routes_.webhook_url = spec.webhook_url;
  r->locale_ = spec.locale;
  r->strict_ = spec.strict_variables;
  boost::system::error_code ec;
  auto global = boost::json::parse(spec.data_json, ec);
  if (ec || !global.is_object())
    return make_error(ErrorKind::internal, "invalid_job_data", "the job's data is not an object");
  r->global_ = std::move(global.get_object());
  for (Channel channel : routed_channels(spec)) {
    const auto ch = static_cast<std::size_t>(channel);
    auto base = compile_content(spec.content.base, channel, "content.");
    if (!base) {
      Error e = base.error();
      if (spec.routing && e.code == "content_missing_channel")
        e.message = "content." + std::string(to_string(channel)) + " content is required: " +
                    std::string(to_string(channel)) + " is in the job's routing";
      return e;
    }
    r->base_[ch] = std::move(*base);
    for (const auto& [locale, c] : spec.content.locales) {
      auto compiled = compile_content(c, channel, "content.locales." + locale + ".");
      if (!compiled) continue;  // a variant without this channel falls back to the base
      r->locales_[ch].emplace(locale, std::move(*compiled));
    }
  }
  return r;
}

JobRenderer::Compiled& JobRenderer::for_locale(std::size_t channel, const std::string& user_locale) {
  auto& locales = locales_[channel];
  auto variant = [&](const std::string& locale) -> Compiled* {
    if (locale.empty()) return nullptr;
    if (auto it = locales.find(locale); it != locales.end()) return it->second.get();
    if (auto dash = locale.find('-'); dash != std::string::npos)
      if (auto it = locales.find(locale.substr(0, dash)); it != locales.end()) return it->second.get();
    return nullptr;
  };
  if (locales.empty()) return *base_[channel];
  if (Compiled* c = variant(user_locale)) return *c;
  if (Compiled* c = variant(locale_)) return *c;
  return *base_[channel];
}

namespace {

// Appends rendered pieces to a string: kainjow's string-returning render
// builds an ostringstream (and its locale) per call, which dominated the cost.
struct Appender {
  std::string& out;
  Appender& operator<<(const std::string& s) {
    out += s;
    return *this;
  }
};

// Whether layering `user` over `global` gives the same lookups as merging
// them: it does unless both hold an object under the same key (a merge
// combines the two objects; a layer would hide the global one).
bool layers_like_merge(const boost::json::object& global, const boost::json::object& user) {
  for (const auto& [k, v] : user)
    if (v.is_object())
      if (auto* g = global.if_contains(k); g && g->is_object()) return false;
  return true;
}

// The recipient's own data (an object; empty when none was given), its
// values allocated from `sp`.
Result<boost::json::object> user_data_of(const Recipient& r, boost::json::storage_ptr sp = {}) {
  if (r.data_json.empty()) return boost::json::object(sp);
  boost::system::error_code ec;
  boost::json::parse_options depth;
  depth.max_depth = kMaxUserDataDepth;  // what ingest accepts
  auto user = boost::json::parse(r.data_json, ec, sp, depth);
  if (ec || !user.is_object())
    return make_error(ErrorKind::invalid, "invalid_data", "the user's data is not an object");
  return std::move(user.get_object());
}

// Where a rendered field goes in `m`.
std::string& field_of(RenderedMessage& m, std::string RenderedMessage::*slot) {
  return slot ? m.*slot : m.parameters.emplace_back();
}

// The same lookups over a recipient's data parsed by simdjson (read in
// place, nothing copied) as walk() and append_value() do over boost::json,
// with boost::json's reading of a repeated key: the last one counts.
bool dom_find(simdjson::dom::object o, std::string_view key, simdjson::dom::element& out) {
  bool found = false;
  for (auto field : o)
    if (field.key == key) {
      out = field.value;
      found = true;
    }
  return found;
}

bool dom_walk(simdjson::dom::object root, std::span<const std::string> path, simdjson::dom::element& out) {
  if (!dom_find(root, path.front(), out)) return false;
  for (std::size_t i = 1; i < path.size(); ++i) {
    simdjson::dom::object o;
    if (out.get_object().get(o) || !dom_find(o, path[i], out)) return false;
  }
  return true;
}

void dom_append_value(simdjson::dom::element v, bool escape, std::string& out) {
  std::string number;
  std::string_view s;
  switch (v.type()) {
    case simdjson::dom::element_type::STRING: s = v.get_string().value_unsafe(); break;
    case simdjson::dom::element_type::INT64: s = number = std::to_string(v.get_int64().value_unsafe()); break;
    case simdjson::dom::element_type::UINT64: s = number = std::to_string(v.get_uint64().value_unsafe()); break;
    case simdjson::dom::element_type::DOUBLE: s = number = fmt::format("{}", v.get_double().value_unsafe()); break;
    default: return;  // booleans, null, objects and arrays render nothing
  }
  if (escape) VariableTemplate::append_escaped(s, out);
  else out += s;
}

// layers_like_merge for data read by simdjson.
bool dom_layers_like_merge(const boost::json::object& global, simdjson::dom::object user) {
  for (auto field : user)
    if (field.value.is_object())
      if (auto* g = global.if_contains(field.key); g && g->is_object()) return false;
  return true;
}

// The recipient's own fields, under "user": whether `path` names one (then
// it is appended) or nothing at all ("user" alone is an object).
bool emit_user_field(const Recipient& r, std::span<const std::string> path, bool escape, std::string& out) {
  if (path.size() == 1) return true;  // an object: renders nothing
  if (path.size() != 2) return false;
  const std::string* field = path[1] == "id"       ? &r.user_id
                             : path[1] == "email"  ? &r.email
                             : path[1] == "phone"  ? &r.phone
                             : path[1] == "locale" ? &r.locale
                                                   : nullptr;
  if (!field) return false;
  if (escape) VariableTemplate::append_escaped(*field, out);
  else out += *field;
  return true;
}

void note_missing(RenderedMessage& m, std::span<const std::string> path) {
  if (m.missing_variables++ > 0) return;
  for (const auto& step : path) {
    if (!m.first_missing.empty()) m.first_missing += '.';
    m.first_missing += step;
  }
}

// kainjow's lookups, watched: a name that finds nothing and is no
// section's is a missing variable. Lookups inside a section go through here
// too, so a variable is missing only when no enclosing context has it.
class WatchingContext final : public mustache::context<std::string> {
 public:
  WatchingContext(const mustache::data* data, const std::set<std::string, std::less<>>& sections,
                  RenderedMessage& m)
      : mustache::context<std::string>(data), sections_(sections), m_(m) {}
  const mustache::data* get(const std::string& name) const override {
    const mustache::data* v = mustache::context<std::string>::get(name);
    if (!v && !sections_.contains(name)) {
      if (m_.missing_variables++ == 0) m_.first_missing = name;
    }
    return v;
  }

 private:
  const std::set<std::string, std::less<>>& sections_;
  RenderedMessage& m_;
};

// The webhook body with each of its strings rendered by `render_string(i, out)`
// (i: the string's index in depth-first order).
template <class RenderString>
std::string render_webhook_body(const boost::json::value& templ, const RenderString& render_string) {
  boost::json::value body = templ;
  std::size_t i = 0;
  collect_strings(body, [&](boost::json::string& s) {
    std::string out;
    render_string(i++, out);
    s = out;
  });
  return boost::json::serialize(body);
}

}  // namespace

Result<RenderedMessage> JobRenderer::render(const Recipient& r) {
  RenderedMessage m;
  if (auto ok = render_into(r, m); !ok) return ok.error();
  return m;
}

Result<void> JobRenderer::render_into(const Recipient& r, RenderedMessage& m) {
  return render_into(r, route_for(routes_, r).value_or(routed_channels(routes_).front()), m);
}

void RenderedMessage::clear() {
  for (std::string* f : {&subject, &text, &html, &title, &body, &json_body, &template_name, &language}) f->clear();
  parameters.clear();
  sms.reset();
  buttons.clear();
  missing_variables = 0;
  first_missing.clear();
}

namespace {

Error invalid_buttons(std::string why) {
  return make_error(ErrorKind::invalid, "invalid_data",
                    "data." + std::string(kWhatsappButtonsKey) + " must be an array of {\"index\", \"sub_type\", \"text\"}: " +
                        why,
                    "data." + std::string(kWhatsappButtonsKey));
}

Result<void> read_buttons(const boost::json::value& v, std::vector<WhatsappButton>& out) {
  if (!v.is_array()) return invalid_buttons("not an array");
  std::uint32_t position = 0;
  for (const auto& item : v.get_array()) {
    if (!item.is_object()) return invalid_buttons("an item is not an object");
    const auto& o = item.get_object();
    WhatsappButton b;
    b.index = position++;
    if (auto* i = o.if_contains("index"); i && !i->is_null()) {
      if (!i->is_int64() && !i->is_uint64()) return invalid_buttons("index is not a whole number");
      auto n = i->to_number<std::int64_t>();
      if (n < 0 || n > 9) return invalid_buttons("index is not from 0 to 9");
      b.index = static_cast<std::uint32_t>(n);
    }
    if (auto* t = o.if_contains("sub_type"); t && !t->is_null()) {
      if (!t->is_string() || (t->get_string() != "url" && t->get_string() != "quick_reply"))
        return invalid_buttons("sub_type is not url or quick_reply");
      b.sub_type = t->get_string();
    }
    auto* text = o.if_contains("text");
    if (!text || !text->is_string()) return invalid_buttons("text is not a string");
    b.text = text->get_string();
    out.push_back(std::move(b));
  }
  return {};
}

// The buttons of a whatsapp message: the recipient's data, else the job's.
Result<void> whatsapp_buttons(const Recipient& r, const boost::json::object& global, std::vector<WhatsappButton>& out) {
  // Most recipients have none: look for the key before parsing anything.
  if (r.data_json.find(kWhatsappButtonsKey) != std::string::npos) {
    boost::system::error_code ec;
    auto data = boost::json::parse(r.data_json, ec);
    if (!ec && data.is_object())
      if (auto* v = data.get_object().if_contains(kWhatsappButtonsKey)) return read_buttons(*v, out);
  }
  if (auto* v = global.if_contains(kWhatsappButtonsKey)) return read_buttons(*v, out);
  return {};
}

}  // namespace

Result<void> JobRenderer::render_into(const Recipient& r, Channel channel, RenderedMessage& m) {
  m.clear();  // fields are appended to, and `m` may hold an earlier message
  const auto ch = static_cast<std::size_t>(channel);
  if (ch >= base_.size() || !base_[ch])
    return make_error(ErrorKind::invalid, "render_failed",
                      "the job has no " + std::string(to_string(channel)) + " content");
  Compiled& c = for_locale(ch, r.locale);
  auto rendered = c.fast ? render_fast(c, r, m) : render_mustache(c, r, m);
  // Measured here, once per message, so every reader of an SMS (providers,
  // the users listing) sees the same encoding and segments.
  if (rendered && channel == Channel::sms) m.sms = count_sms_segments(m.body);
  if (rendered && strict_ && m.missing_variables > 0)
    return make_error(ErrorKind::unprocessable, "missing_variable",
                      fmt::format("the variable '{}' has no value in the job's or the user's data{}", m.first_missing,
                                  m.missing_variables > 1 ? fmt::format(" ({} in all)", m.missing_variables) : ""),
                      "data");
  if (rendered && channel == Channel::whatsapp) return whatsapp_buttons(r, global_, m.buttons);
  return rendered;
}

Result<void> JobRenderer::render_mustache(Compiled& c, const Recipient& r, RenderedMessage& m) {
  if (!global_view_) global_view_ = std::make_unique<mustache::data>(to_mustache(global_));
  auto parsed = user_data_of(r);
  if (!parsed) return parsed.error();
  boost::json::object& user_data = *parsed;
  // The user's data over the job's: as a layer of the lookup context when
  // that is the same as merging them (the common case: no conversion of
  // the job's data per message), else merged and converted whole.
  mustache::data merged;
  const bool layered = layers_like_merge(global_, user_data);
  mustache::data view = layered ? to_mustache(user_data) : mustache::data{mustache::data::type::object};
  if (!layered) {
    boost::json::object data = global_;
    merge_data(data, user_data);
    merged = to_mustache(data);
  }
  // The recipient's own fields are there too, under "user".
  mustache::data user{mustache::data::type::object};
  user.set("id", r.user_id);
  user.set("email", r.email);
  user.set("phone", r.phone);
  user.set("locale", r.locale);
  view.set("user", user);
  WatchingContext ctx(layered ? global_view_.get() : &merged, c.section_names, m);
  ctx.push(&view);

  for (std::size_t i = 0; i < c.fields.size(); ++i) {
    auto& [name, t] = c.fields[i];
    Appender sink{field_of(m, c.slots[i])};
    t.render(ctx, sink);
    if (!t.is_valid())
      return make_error(ErrorKind::invalid, "render_failed", name + ": " + t.error_message());
  }
  if (c.channel == Channel::webhook)
    m.json_body = render_webhook_body(c.webhook_body, [&](std::size_t i, std::string& out) {
      Appender sink{out};
      c.webhook_strings[i].render(ctx, sink);
    });
  m.template_name = c.template_name;
  m.language = c.language;
  return {};
}

template <class Emit>
void JobRenderer::fill(Compiled& c, const Emit& emit, RenderedMessage& m) {
  for (std::size_t i = 0; i < c.fields.size(); ++i) {
    std::string& out = field_of(m, c.slots[i]);
    // One allocation, not one per doubling.
    if (auto hint = c.fast_fields[i].size_hint()) out.reserve(out.size() + hint);
    c.fast_fields[i].render(emit, c.html[i], out);
  }
  if (c.channel == Channel::webhook)
    m.json_body = render_webhook_body(c.webhook_body, [&](std::size_t i, std::string& out) {
      c.fast_webhook_strings[i].render(emit, false, out);
    });
  m.template_name = c.template_name;
  m.language = c.language;
}

Result<void> JobRenderer::render_fast(Compiled& c, const Recipient& r, RenderedMessage& m) {
  // The recipient's data read in place (simdjson's parser keeps its memory
  // from one message to the next). Data it will not read (a number out of
  // its range), or that would hide a nested object of the job's data, goes
  // the boost::json way, which also reports data that is not an object.
  simdjson::dom::object user;
  const bool has_user = !r.data_json.empty();
  if (has_user) {
    simdjson::dom::element root;
    if (scratch_->parser.parse(r.data_json).get(root) || root.get_object().get(user) ||
        !dom_layers_like_merge(global_, user))
      return render_fast_merged(c, r, m);
  }
  // The two layers of the kainjow path: the user's data and their own
  // fields under "user", over the job's data.
  auto emit = [&](std::span<const std::string> path, bool escape, std::string& out) {
    if (path.front() == "user") {
      if (emit_user_field(r, path, escape, out)) return;
    } else if (has_user) {
      simdjson::dom::element v;
      if (dom_walk(user, path, v)) return dom_append_value(v, escape, out);
    }
    if (const auto* v = walk(global_, path)) VariableTemplate::append_value(*v, escape, out);
    else note_missing(m, path);
  };
  fill(c, emit, m);
  return {};
}

Result<void> JobRenderer::render_fast_merged(Compiled& c, const Recipient& r, RenderedMessage& m) {
  // The previous message's data is gone (it lived in that call): its
  // memory is taken again from the start.
  arena_.release();
  auto parsed = user_data_of(r, boost::json::storage_ptr(&arena_));
  if (!parsed) return parsed.error();
  boost::json::object& user_data = *parsed;
  // The same two layers as the kainjow path: the user's data and their own
  // fields under "user", over the job's data (merged with the user's when
  // layering would hide a nested object).
  const bool layered = layers_like_merge(global_, user_data);
  boost::json::object merged;
  if (!layered) {
    merged = global_;
    merge_data(merged, user_data);
  }
  const boost::json::object& outer = layered ? global_ : merged;
  auto emit = [&](std::span<const std::string> path, bool escape, std::string& out) {
    if (path.front() == "user") {
      if (emit_user_field(r, path, escape, out)) return;
    } else if (layered) {
      if (const auto* v = walk(user_data, path)) return VariableTemplate::append_value(*v, escape, out);
    }
    if (const auto* v = walk(outer, path)) VariableTemplate::append_value(*v, escape, out);
    else note_missing(m, path);
  };
  fill(c, emit, m);
  return {};
}

}  // namespace crier
