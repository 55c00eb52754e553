// Reading GET /metrics in tests with real tools of the format, not string
// matching: Prometheus' own linter (`promtool check metrics`, Debian's
// prometheus package) and the official Python client's parser (Debian's
// python3-prometheus-client, through prom_parse.py).
#pragma once

#include <boost/json/object.hpp>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace crier::testing {

class ParsedMetrics {
 public:
  explicit ParsedMetrics(boost::json::object families) : families_(std::move(families)) {}

  bool has_family(std::string_view name) const { return families_.contains(name); }
  std::string type_of(std::string_view family) const;
  // The value of the sample named `sample` whose labels include all of
  // `labels`, summed over the samples that match; nullopt when none does.
  std::optional<double> sum(
      std::string_view sample,
      std::initializer_list<std::pair<std::string_view, std::string_view>> labels = {}) const;
  // Every value label `label` takes in the samples of `family`.
  std::vector<std::string> label_values(std::string_view family, std::string_view label) const;
  const boost::json::object& families() const { return families_; }

 private:
  boost::json::object families_;
};

// Parses an exposition; throws std::runtime_error with the parser's words
// when it does not parse. `scratch` is a directory for the text's file.
ParsedMetrics parse_metrics(const std::string& text, const std::filesystem::path& scratch);

// `promtool check metrics` over the text: "" when it is clean, else what
// promtool said (a lint problem or a parse error).
std::string promtool_problems(const std::string& text, const std::filesystem::path& scratch);

}  // namespace crier::testing
