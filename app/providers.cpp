#include "app/providers.h"

#include "app/toml_fields.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

namespace crier {
namespace {

constexpr const char* kTypes = "log, null, webhook, smtp, twilio_sms, fcm_push, whatsapp_cloud";

// A provider's rate limit, attempts and backoff.
void read_settings(TomlFields& f, ProviderSettings& s) {
  f.number("rate_limit", s.limit.rate);
  f.number("burst", s.limit.burst);
  f.integer("max_attempts", s.max_attempts, 1, 100);
  f.integer("backoff_base_ms", s.backoff_base_ms, 1, 3'600'000);
  f.integer("backoff_max_ms", s.backoff_max_ms, 1, 86'400'000);
}

Result<ProviderConfig> parse_provider(const std::string& name, const toml::table& t) {
  const std::string where = "providers." + name;
  // A table named after a type ([providers.smtp]) needs no `type`.
  std::string type = name;
  if (auto v = t["type"].value<std::string>()) type = *v;
  else if (t.contains("type")) return config_error(where + ".type must be a string");
  TomlFields f(t, where, {"type"});
  ProviderConfig out;
  read_settings(f, out.settings);
  f.strings("tenants", out.tenants);
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
  if (out.tenants) {
    for (const auto& tenant : *out.tenants)
      if (tenant != "*" && !valid_tenant_name(tenant))
        return config_error(fmt::format("{}.tenants: '{}' is not a tenant name (1 to 64 letters, digits, '-', '_' "
                                        "or '.'), nor \"*\" for every tenant", where, tenant));
  } else if (out.carries_credentials()) {
    // Never every tenant by accident: the operator says who.
    return config_error(fmt::format("{} carries credentials: name the tenants that may use it "
                                    "(tenants = [\"acme\"], or [\"*\"] for every tenant)", where));
  }
  return out;
}

}  // namespace

bool valid_tenant_name(std::string_view t) {
  return !t.empty() && t.size() <= 64 && std::all_of(t.begin(), t.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

bool ProviderConfig::carries_credentials() const {
  return std::visit(
      [](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, LogProviderOptions> || std::is_same_v<T, NullProviderOptions>) return false;
        else if constexpr (std::is_same_v<T, WebhookProviderOptions>) return crier::carries_credentials(o);
        else return true;  // smtp and the HTTP vendors send in the operator's name
      },
      options);
}

std::vector<ProviderGrant> provider_grants(const ProvidersConfig& config) {
  std::vector<ProviderGrant> grants;
  for (const auto& p : config.providers) {
    ProviderGrant g;
    g.provider = p.name();
    g.fixed_destination = p.carries_credentials();
    if (!p.tenants) g.every_tenant = !g.fixed_destination;  // parse_provider refused the other case
    else
      for (const auto& t : *p.tenants) {
        if (t == "*") g.every_tenant = true;
        else g.tenants.insert(t);
      }
    grants.push_back(std::move(g));
  }
  return grants;
}

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
      TomlFields f(*table, "tenants." + name);
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
                                TenantSigning* signing, const EgressPolicy& egress, Dispatcher& dispatcher) {
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
            WebhookProviderOptions with_signing = o;
            with_signing.tenant_signing = signing;
            with_signing.egress = egress;
            return make_webhook_provider(std::move(with_signing));
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
