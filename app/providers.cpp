#include "app/providers.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

namespace crier {
namespace {

constexpr const char* kTypes = "log, null, webhook, smtp, twilio_sms, fcm_push, whatsapp_cloud";

Error config_error(std::string message) {
  return make_error(ErrorKind::invalid, "invalid_config", std::move(message));
}

// Reads typed keys of one table, remembering the first error; keys it was
// never asked about are reported as unknown, so a typo cannot pass silently.
class Fields {
 public:
  Fields(const toml::table& t, std::string where) : t_(t), where_(std::move(where)) {}

  void str(const char* key, std::string& out) {
    seen_.insert(key);
    if (auto* n = t_.get(key)) {
      if (auto v = n->value<std::string>()) out = *v;
      else fail(fmt::format("{}.{} must be a string", where_, key));
    }
  }
  template <typename Int>
  void integer(const char* key, Int& out, std::int64_t min, std::int64_t max) {
    seen_.insert(key);
    if (auto* n = t_.get(key)) {
      auto v = n->value<std::int64_t>();
      if (!v || *v < min || *v > max)
        fail(fmt::format("{}.{} must be an integer from {} to {}", where_, key, min, max));
      else out = static_cast<Int>(*v);
    }
  }
  void number(const char* key, double& out) {
    seen_.insert(key);
    if (auto* n = t_.get(key)) {
      auto v = n->value<double>();  // integers convert
      if (!v || !std::isfinite(*v) || *v < 0 || *v > 1e9)
        fail(fmt::format("{}.{} must be a number from 0 to 1e9", where_, key));
      else out = *v;
    }
  }
  void boolean(const char* key, bool& out) {
    seen_.insert(key);
    if (auto* n = t_.get(key)) {
      if (auto v = n->value<bool>()) out = *v;
      else fail(fmt::format("{}.{} must be true or false", where_, key));
    }
  }
  void millis(const char* key, std::chrono::milliseconds& out) {
    std::int64_t ms = out.count();
    integer(key, ms, 1, 3'600'000);
    out = std::chrono::milliseconds(ms);
  }
  void headers(const char* key, HttpHeaders& out) {
    seen_.insert(key);
    auto* n = t_.get(key);
    if (!n) return;
    auto* h = n->as_table();
    if (!h) return fail(fmt::format("{}.{} must be a table of header = value", where_, key));
    for (const auto& [name, value] : *h) {
      auto v = value.value<std::string>();
      if (!v) return fail(fmt::format("{}.{}.{} must be a string", where_, key, name.str()));
      out.emplace_back(std::string(name.str()), *v);
    }
  }
  void limits(ProviderSettings& s) {
    number("rate_limit", s.limit.rate);
    number("burst", s.limit.burst);
    integer("max_attempts", s.max_attempts, 1, 100);
    integer("backoff_base_ms", s.backoff_base_ms, 1, 3'600'000);
    integer("backoff_max_ms", s.backoff_max_ms, 1, 86'400'000);
  }
  Result<void> finish() {
    if (!error_.empty()) return config_error(error_);
    for (const auto& [k, v] : t_)
      if (!seen_.count(std::string(k.str())))
        return config_error(fmt::format("{}.{} is not a known setting", where_, k.str()));
    return {};
  }

 private:
  void fail(std::string e) {
    if (error_.empty()) error_ = std::move(e);
  }
  const toml::table& t_;
  std::string where_;
  std::set<std::string> seen_{"type"};
  std::string error_;
};

Result<ProviderConfig> parse_provider(const std::string& name, const toml::table& t) {
  const std::string where = "providers." + name;
  // A table named after a type ([providers.smtp]) needs no `type`.
  std::string type = name;
  if (auto v = t["type"].value<std::string>()) type = *v;
  else if (t.contains("type")) return config_error(where + ".type must be a string");
  Fields f(t, where);
  ProviderConfig out;
  f.limits(out.settings);
  if (type == "log") {
    LogProviderOptions o;
    o.name = name;
    f.str("path", o.path);
    out.options = o;
  } else if (type == "null") {
    out.options = NullProviderOptions{name};
  } else if (type == "webhook") {
    WebhookProviderOptions o;
    o.name = name;
    f.str("url", o.default_url);
    f.str("signing_secret", o.signing_secret);
    f.integer("pool_size", o.pool_size, 1, 4096);
    f.millis("timeout_ms", o.timeout);
    f.headers("headers", o.extra_headers);
    if (auto r = validate_webhook_options(o); !r) return config_error(where + ": " + r.error().message);
    out.options = o;
  } else if (type == "smtp") {
    SmtpProviderOptions o;
    o.name = name;
    std::string tls = "starttls";
    f.str("host", o.host);
    f.integer("port", o.port, 1, 65535);
    f.str("from", o.from_address);
    f.str("from_name", o.from_name);
    f.str("helo", o.helo_name);
    f.str("tls", tls);
    f.boolean("tls_verify_peer", o.tls_verify_peer);
    f.str("tls_ca_file", o.tls_ca_file);
    f.str("username", o.username);
    f.str("password", o.password);
    f.boolean("allow_auth_without_tls", o.allow_auth_without_tls);
    f.integer("pool_size", o.pool_size, 1, 1024);
    f.integer("max_messages_per_connection", o.max_messages_per_connection, 1, 1'000'000);
    f.millis("timeout_ms", o.command_timeout);
    if (tls == "none") o.tls = SmtpTls::none;
    else if (tls == "starttls") o.tls = SmtpTls::starttls;
    else if (tls == "required") o.tls = SmtpTls::required_starttls;
    else return config_error(where + ".tls must be none, starttls or required");
    if (o.from_address.empty()) return config_error(where + ".from is required");
    out.options = o;
  } else if (auto shape = parse_vendor_shape(type)) {
    HttpVendorOptions o;
    o.name = name;
    o.shape = *shape;
    f.str("url", o.url);
    f.str("account_sid", o.account_sid);
    f.str("auth_token", o.auth_token);
    f.str("from", o.from);
    f.str("default_language", o.default_language);
    f.integer("pool_size", o.pool_size, 1, 4096);
    f.millis("timeout_ms", o.timeout);
    f.headers("headers", o.extra_headers);
    if (o.url.empty()) return config_error(where + ".url is required: the vendor's endpoint");
    out.options = o;
  } else {
    return config_error(fmt::format("{}.type '{}' is not a provider type ({})", where, type, kTypes));
  }
  if (auto r = f.finish(); !r) return r.error();
  return out;
}

}  // namespace

std::string ProviderConfig::name() const {
  return std::visit([](const auto& o) { return o.name; }, options);
}

ProvidersConfig default_providers() {
  ProvidersConfig c;
  c.providers.push_back({LogProviderOptions{}, {}});
  c.providers.push_back({NullProviderOptions{}, {}});
  c.providers.push_back({WebhookProviderOptions{}, {}});
  return c;
}

Result<void> load_providers(const toml::table& t, ProvidersConfig& out) {
  if (auto* providers = t["providers"].as_table()) {
    for (const auto& [key, node] : *providers) {
      std::string name(key.str());
      auto* table = node.as_table();
      if (!table) return config_error(fmt::format("providers.{} must be a table", name));
      auto p = parse_provider(name, *table);
      if (!p) return p.error();
      std::erase_if(out.providers, [&](const ProviderConfig& c) { return c.name() == name; });
      out.providers.push_back(std::move(*p));
    }
  }
  if (auto* tenants = t["tenants"].as_table()) {
    for (const auto& [key, node] : *tenants) {
      std::string name(key.str());
      auto* table = node.as_table();
      if (!table) return config_error(fmt::format("tenants.{} must be a table", name));
      Fields f(*table, "tenants." + name);
      RateLimit l;
      f.number("rate_limit", l.rate);
      f.number("burst", l.burst);
      if (auto r = f.finish(); !r) return r;
      out.tenant_limits[name] = l;
    }
  }
  return {};
}

Result<void> register_providers(const ProvidersConfig& config, const std::string& data_dir,
                                Dispatcher& dispatcher) {
  for (const auto& p : config.providers) {
    std::unique_ptr<Provider> provider = std::visit(
        [&](const auto& o) -> std::unique_ptr<Provider> {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, LogProviderOptions>) {
            std::string path = o.path.empty() ? (std::filesystem::path(data_dir) / "delivery.log").string() : o.path;
            return make_log_provider(path, o.name);
          } else if constexpr (std::is_same_v<T, NullProviderOptions>) {
            return make_null_provider(o.name);
          } else if constexpr (std::is_same_v<T, WebhookProviderOptions>) {
            return make_webhook_provider(o);
          } else if constexpr (std::is_same_v<T, SmtpProviderOptions>) {
            return make_smtp_provider(o);
          } else {
            return make_http_vendor_provider(o);
          }
        },
        p.options);
    dispatcher.add_provider(std::move(provider), p.settings);
  }
  for (const auto& [tenant, limit] : config.tenant_limits) dispatcher.set_tenant_limit(tenant, limit);
  return {};
}

void apply_limits(const ProvidersConfig& before, const ProvidersConfig& after, Dispatcher& dispatcher) {
  // Only the names that are gone are cleared, so a bucket that stays keeps
  // its state (no fresh burst) and is never briefly unlimited.
  for (const auto& p : before.providers)
    if (std::none_of(after.providers.begin(), after.providers.end(),
                     [&](const ProviderConfig& a) { return a.name() == p.name(); }))
      dispatcher.set_provider_limit(p.name(), {});
  for (const auto& [tenant, limit] : before.tenant_limits)
    if (!after.tenant_limits.count(tenant)) dispatcher.set_tenant_limit(tenant, {});
  for (const auto& p : after.providers) dispatcher.set_provider_limit(p.name(), p.settings.limit);
  for (const auto& [tenant, limit] : after.tenant_limits) dispatcher.set_tenant_limit(tenant, limit);
}

}  // namespace crier
