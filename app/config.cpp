#include "app/config.h"

#include "app/toml_fields.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <set>

namespace crier {
namespace {

bool valid_tenant(std::string_view t) { return valid_tenant_name(t); }

}  // namespace

Result<void> add_api_key(Config& config, std::string_view pair) {
  // A key is a secret: no message here quotes it, nor the entry holding it.
  // Split at the last '=': a tenant has none, a key may.
  auto eq = pair.rfind('=');
  if (eq == std::string_view::npos || eq == 0) return config_error("an API key entry must be KEY=TENANT");
  std::string_view key = pair.substr(0, eq);
  std::string tenant(pair.substr(eq + 1));
  if (key.size() < 8 || std::any_of(key.begin(), key.end(), [](char c) { return c <= 0x20 || c >= 0x7f; }))
    return config_error("an API key must be at least 8 visible ASCII characters");
  if (!valid_tenant(tenant))
    return config_error(fmt::format("tenant '{}' must be 1 to 64 letters, digits, '-', '_' or '.'", tenant));
  config.api_keys.add(key, std::move(tenant));
  return {};
}

Result<void> load_toml(Config& c, const std::string& path) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return config_error(fmt::format("{}: {}", path, e.description()));
  }
  // Every section and key is checked: a misspelt or mistyped one is an
  // error at start-up, never silently the default.
  static const std::set<std::string, std::less<>> kSections = {"server",   "storage",   "auth",    "limits",
                                                               "dispatch", "providers", "tenants", "egress",
                                                               "tls",      "network"};
  for (const auto& [name, node] : t)
    if (!kSections.count(name.str()))
      return config_error(fmt::format("{}: [{}] is not a known section (server, storage, auth, limits, "
                                      "dispatch, providers, tenants, egress, tls, network)", path, name.str()));
  auto section = [&](const char* name) -> Result<const toml::table*> {
    static const toml::table empty;
    auto* n = t.get(name);
    if (!n) return &empty;
    if (auto* table = n->as_table()) return table;
    return config_error(fmt::format("{} must be a table", name));
  };
  auto server = section("server"), storage = section("storage"), auth = section("auth"),
       limits = section("limits"), dispatch = section("dispatch"), egress = section("egress");
  auto tls = section("tls"), network = section("network");
  for (auto* r : {&server, &storage, &auth, &limits, &dispatch, &egress, &tls, &network})
    if (!*r) return r->error();

  TomlFields sv(**server, "server");
  sv.str("listen", c.listen);
  sv.integer("threads", c.threads, 0, 256);
  sv.integer("max_connections", c.max_connections, 1, 1'000'000);
  sv.integer("request_timeout", c.request_timeout, 1, 86'400);
  sv.integer("min_body_rate", c.min_body_rate, 0, std::int64_t{1} << 30);
  sv.integer("min_rate_window", c.min_rate_window, 1, 3'600);
  sv.integer("max_event_streams", c.max_event_streams, 1, 1'000'000);
  sv.integer("stream_write_timeout", c.stream_write_timeout, 1, 3'600);
  sv.str("log_level", c.log_level);
  sv.str("log_format", c.log_format);
  sv.boolean("metrics_require_key", c.metrics_require_key);
  if (auto r = sv.finish(); !r) return r;

  TomlFields st(**storage, "storage");
  st.str("data_dir", c.data_dir);
  st.boolean("sync_writes", c.sync_writes);
  if (auto r = st.finish(); !r) return r;

  TomlFields au(**auth, "auth", {"api_keys"});
  if (auto r = au.finish(); !r) return r;
  if (auto* keys = (*auth)->get("api_keys")) {
    auto* table = keys->as_table();
    if (!table) return config_error("auth.api_keys must be a table of key = tenant");
    for (const auto& [key, tenant] : *table) {
      auto name = tenant.value<std::string>();
      if (!name) return config_error("auth.api_keys values must be tenant names");
      if (auto r = add_api_key(c, std::string(key.str()) + "=" + *name); !r) return r;
    }
  }

  constexpr std::int64_t kMax = std::int64_t{1} << 40;
  TomlFields li(**limits, "limits");
  li.integer("max_body_bytes", c.limits.max_body_bytes, 1, kMax);
  li.integer("max_users_per_batch", c.limits.max_users_per_batch, 1, kMax);
  li.integer("stream_commit_users", c.limits.stream_commit_users, 1, kMax);
  li.integer("max_line_bytes", c.limits.max_line_bytes, 1, kMax);
  li.integer("max_page", c.limits.max_page, 1, kMax);
  if (auto r = li.finish(); !r) return r;

  TomlFields di(**dispatch, "dispatch", {"channels"});
  di.integer("threads", c.dispatch.threads, 0, 256);
  di.integer("window", c.dispatch.window, 1, 1'000'000);
  di.integer("lanes", c.dispatch.lanes, 1, 64);
  di.integer("nice", c.dispatch.nice, 0, 19);
  di.str("default_provider", c.dispatch.default_provider);
  if (auto r = di.finish(); !r) return r;
  if (auto* n = (*dispatch)->get("channels")) {
    auto* channels = n->as_table();
    if (!channels) return config_error("dispatch.channels must be a table of channel = provider");
    for (const auto& [name, node] : *channels) {
      auto ch = parse_channel(name.str());
      auto provider = node.value<std::string>();
      if (!ch || !provider)
        return config_error(fmt::format("dispatch.channels.{} must name a provider, for a channel "
                                        "(email, sms, push, webhook, whatsapp)", name.str()));
      c.dispatch.channel_providers[*ch] = *provider;
    }
  }
  TomlFields eg(**egress, "egress");
  std::optional<std::vector<std::string>> allow;
  eg.strings("allow", allow);
  if (auto r = eg.finish(); !r) return r;
  if (allow) c.egress_allow.insert(c.egress_allow.end(), allow->begin(), allow->end());
  TomlFields tl(**tls, "tls");
  tl.str("ca_file", c.providers.network.ca_file);
  if (auto r = tl.finish(); !r) return r;
  TomlFields ne(**network, "network");
  ne.integer("max_idle_connections", c.providers.network.max_idle_connections, 1, 1'000'000);
  if (auto r = ne.finish(); !r) return r;
  if (auto r = load_providers(t, c.providers); !r) return r;
  return {};
}

Result<ProvidersConfig> reload_limits(const std::string& path) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return config_error(fmt::format("{}: {}", path, e.description()));
  }
  ProvidersConfig c = default_providers();
  if (auto r = load_providers(t, c); !r) return r.error();
  return c;
}

Result<api::ServerOptions> listen_options(const Config& c) {
  auto colon = c.listen.rfind(':');
  if (colon == std::string::npos) return config_error(fmt::format("--listen '{}' must be HOST:PORT", c.listen));
  api::ServerOptions o;
  o.host = c.listen.substr(0, colon);
  if (o.host.size() > 2 && o.host.front() == '[' && o.host.back() == ']') o.host = o.host.substr(1, o.host.size() - 2);
  unsigned port = 0;
  auto portstr = std::string_view(c.listen).substr(colon + 1);
  auto [p, ec] = std::from_chars(portstr.data(), portstr.data() + portstr.size(), port);
  if (ec != std::errc() || p != portstr.data() + portstr.size() || port > 65535)
    return config_error(fmt::format("--listen '{}' has no valid port", c.listen));
  o.port = static_cast<unsigned short>(port);
  o.max_connections = c.max_connections;
  o.request_timeout = std::chrono::seconds(c.request_timeout);
  o.min_body_rate = c.min_body_rate;
  o.min_rate_window = std::chrono::seconds(c.min_rate_window);
  o.stream_write_timeout = std::chrono::seconds(c.stream_write_timeout);
  return o;
}

}  // namespace crier
