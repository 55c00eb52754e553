#include "app/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>

namespace crier {
namespace {

Error config_error(std::string message) {
  return make_error(ErrorKind::invalid, "invalid_config", std::move(message));
}

bool valid_tenant(std::string_view t) {
  return !t.empty() && t.size() <= 64 && std::all_of(t.begin(), t.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

}  // namespace

Result<void> add_api_key(Config& config, std::string_view pair) {
  auto eq = pair.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return config_error(fmt::format("API key '{}' must be KEY=TENANT", pair));
  std::string key(pair.substr(0, eq)), tenant(pair.substr(eq + 1));
  if (key.size() < 8 || std::any_of(key.begin(), key.end(), [](char c) { return c <= 0x20 || c >= 0x7f; }))
    return config_error("an API key must be at least 8 visible ASCII characters");
  if (!valid_tenant(tenant))
    return config_error(fmt::format("tenant '{}' must be 1 to 64 letters, digits, '-', '_' or '.'", tenant));
  config.api_keys[key] = tenant;
  return {};
}

Result<void> load_toml(Config& c, const std::string& path) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return config_error(fmt::format("{}: {}", path, e.description()));
  }
  if (auto v = t["server"]["listen"].value<std::string>()) c.listen = *v;
  if (auto v = t["server"]["threads"].value<int64_t>()) c.threads = static_cast<unsigned>(*v);
  if (auto v = t["server"]["log_level"].value<std::string>()) c.log_level = *v;
  if (auto v = t["storage"]["data_dir"].value<std::string>()) c.data_dir = *v;
  if (auto v = t["storage"]["sync_writes"].value<bool>()) c.sync_writes = *v;
  if (auto keys = t["auth"]["api_keys"].as_table()) {
    for (const auto& [key, tenant] : *keys) {
      auto name = tenant.value<std::string>();
      if (!name) return config_error("auth.api_keys values must be tenant names");
      if (auto r = add_api_key(c, std::string(key.str()) + "=" + *name); !r) return r;
    }
  }
  auto size = [&](const char* k, std::size_t& out) {
    if (auto v = t["limits"][k].value<int64_t>(); v && *v > 0) out = static_cast<std::size_t>(*v);
  };
  size("max_body_bytes", c.limits.max_body_bytes);
  size("max_users_per_batch", c.limits.max_users_per_batch);
  size("stream_commit_users", c.limits.stream_commit_users);
  size("max_line_bytes", c.limits.max_line_bytes);
  size("max_page", c.limits.max_page);
  if (auto v = t["dispatch"]["threads"].value<int64_t>(); v && *v > 0) c.dispatch.threads = static_cast<unsigned>(*v);
  if (auto v = t["dispatch"]["window"].value<int64_t>(); v && *v > 0) c.dispatch.window = static_cast<std::size_t>(*v);
  if (auto v = t["dispatch"]["default_provider"].value<std::string>()) c.dispatch.default_provider = *v;
  if (auto* channels = t["dispatch"]["channels"].as_table()) {
    for (const auto& [name, node] : *channels) {
      auto ch = parse_channel(name.str());
      auto provider = node.value<std::string>();
      if (!ch || !provider)
        return config_error(fmt::format("dispatch.channels.{} must name a provider, for a channel "
                                        "(email, sms, push, webhook, whatsapp)", name.str()));
      c.dispatch.channel_providers[*ch] = *provider;
    }
  }
  if (auto r = load_providers(t, c.providers); !r) return r;
  if (t["providers"]["webhook"]["signing_secret"]) c.webhook_secret_configured = true;
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
  return o;
}

}  // namespace crier
