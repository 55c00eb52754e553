// Reading one TOML table of the config: typed keys with ranges, the first
// error remembered, and every key the reader never asked about reported as
// unknown, so a typo or a wrong type cannot pass silently.
#pragma once

#include <fmt/format.h>
#include <toml++/toml.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "engine/result.h"
#include "workers/http_client.h"

namespace crier {

inline Error config_error(std::string message) {
  return make_error(ErrorKind::invalid, "invalid_config", std::move(message));
}

class TomlFields {
 public:
  // `where` names the table in messages ("providers.relay"); `handled` are
  // keys read by someone else (not reported as unknown).
  TomlFields(const toml::table& t, std::string where, std::set<std::string> handled = {})
      : t_(t), where_(std::move(where)), seen_(std::move(handled)) {}

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
      auto v = n->is_integer() ? n->value<std::int64_t>() : std::nullopt;
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
  // An array of strings; absent leaves `out` as it was.
  void strings(const char* key, std::optional<std::vector<std::string>>& out) {
    seen_.insert(key);
    auto* n = t_.get(key);
    if (!n) return;
    auto* a = n->as_array();
    if (!a) return fail(fmt::format("{}.{} must be an array of strings", where_, key));
    std::vector<std::string> values;
    for (const auto& e : *a) {
      auto v = e.value<std::string>();
      if (!v) return fail(fmt::format("{}.{} must be an array of strings", where_, key));
      values.push_back(*v);
    }
    out = std::move(values);
  }
  // The first error, else the first key nobody asked about.
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
  std::set<std::string> seen_;
  std::string error_;
};

}  // namespace crier
