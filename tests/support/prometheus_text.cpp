#include "tests/support/prometheus_text.h"

#include <sys/wait.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace crier::testing {
namespace json = boost::json;
namespace {

std::filesystem::path parse_script() {
  return std::filesystem::path(__FILE__).parent_path() / "prom_parse.py";
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::filesystem::path write_text(const std::string& text, const std::filesystem::path& scratch) {
  auto path = scratch / "metrics.txt";
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
  return path;
}

// Runs a shell command; returns its exit status and stdout.
std::pair<int, std::string> run(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run: " + command);
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace

std::string ParsedMetrics::type_of(std::string_view family) const {
  auto* f = families_.if_contains(family);
  return f ? std::string(f->as_object().at("type").as_string()) : std::string();
}

std::optional<double> ParsedMetrics::sum(
    std::string_view sample,
    std::initializer_list<std::pair<std::string_view, std::string_view>> labels) const {
  std::optional<double> total;
  for (const auto& [name, family] : families_)
    for (const auto& s : family.as_object().at("samples").as_array()) {
      const auto& o = s.as_object();
      if (o.at("name").as_string() != sample) continue;
      const auto& l = o.at("labels").as_object();
      bool match = true;
      for (const auto& [k, v] : labels) {
        auto* got = l.if_contains(k);
        if (!got || got->as_string() != v) match = false;
      }
      if (!match || o.at("value").is_null()) continue;
      total = total.value_or(0) + o.at("value").to_number<double>();
    }
  return total;
}

std::vector<std::string> ParsedMetrics::label_values(std::string_view family,
                                                     std::string_view label) const {
  std::vector<std::string> out;
  auto* f = families_.if_contains(family);
  if (!f) return out;
  for (const auto& s : f->as_object().at("samples").as_array())
    if (auto* v = s.as_object().at("labels").as_object().if_contains(label))
      out.emplace_back(v->as_string());
  return out;
}

ParsedMetrics parse_metrics(const std::string& text, const std::filesystem::path& scratch) {
  auto file = write_text(text, scratch);
  auto errors = scratch / "prom_parse.err";
  // Debian's interpreter: the one with python3-prometheus-client.
  auto [status, out] = run("/usr/bin/python3 '" + parse_script().string() + "' '" + file.string() +
                           "' 2>'" + errors.string() + "'");
  if (status != 0) throw std::runtime_error("the exposition does not parse: " + read_file(errors));
  return ParsedMetrics(json::parse(out).as_object());
}

std::string promtool_problems(const std::string& text, const std::filesystem::path& scratch) {
  auto file = write_text(text, scratch);
  auto [status, out] = run("promtool check metrics < '" + file.string() + "' 2>&1");
  if (status == 0) return {};
  return out.empty() ? "promtool exited " + std::to_string(status) : out;
}

}  // namespace crier::testing
