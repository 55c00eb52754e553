#include "engine/variable_template.h"

#include <fmt/format.h>

#include <cctype>

namespace crier {

namespace {

// kainjow trims tag contents with std::isspace.
std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string> split_path(std::string_view name) {
  std::vector<std::string> parts;
  for (;;) {
    auto dot = name.find('.');
    parts.emplace_back(name.substr(0, dot));
    if (dot == std::string_view::npos) return parts;
    name.remove_prefix(dot + 1);
  }
}

}  // namespace

std::optional<VariableTemplate> VariableTemplate::compile(std::string_view source) {
  VariableTemplate t;
  std::size_t pos = 0;
  while (pos < source.size()) {
    const auto open = source.find("{{", pos);
    if (open == std::string_view::npos) {
      t.segments_.push_back({std::string(source.substr(pos)), {}, false});
      break;
    }
    if (open > pos) t.segments_.push_back({std::string(source.substr(pos, open - pos)), {}, false});
    std::string_view name;
    bool escape = true;
    if (open + 2 < source.size() && source[open + 2] == '{') {
      const auto close = source.find("}}}", open + 3);
      if (close == std::string_view::npos) return std::nullopt;
      name = trim(source.substr(open + 3, close - open - 3));
      escape = false;
      pos = close + 3;
    } else {
      const auto close = source.find("}}", open + 2);
      if (close == std::string_view::npos) return std::nullopt;
      name = trim(source.substr(open + 2, close - open - 2));
      pos = close + 2;
      if (!name.empty() && name.front() == '&') {
        name = trim(name.substr(1));
        escape = false;
      }
    }
    // Sections, inverted sections, partials, comments, delimiter changes and
    // the implicit iterator are kainjow's business.
    if (name.empty() || name == "." || name.find_first_of("#^/>!={}") != std::string_view::npos)
      return std::nullopt;
    t.segments_.push_back({{}, split_path(name), escape});
  }
  bool variables = false;
  for (const auto& s : t.segments_) {
    t.size_hint_ += s.text.size();
    variables = variables || !s.path.empty();
  }
  t.size_hint_ = variables ? t.size_hint_ + 64 : 0;
  return t;
}

void VariableTemplate::append_escaped(std::string_view s, std::string& out) {
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(ch);
    }
  }
}

void VariableTemplate::append_value(const boost::json::value& v, bool escape, std::string& out) {
  std::string number;
  std::string_view s;
  switch (v.kind()) {
    case boost::json::kind::string: s = v.get_string(); break;
    case boost::json::kind::int64: s = number = std::to_string(v.get_int64()); break;
    case boost::json::kind::uint64: s = number = std::to_string(v.get_uint64()); break;
    case boost::json::kind::double_: s = number = fmt::format("{}", v.get_double()); break;
    default: return;  // booleans, null, objects and arrays render nothing
  }
  if (escape) append_escaped(s, out);
  else out += s;
}

const boost::json::value* walk(const boost::json::object& root, std::span<const std::string> path) {
  const boost::json::value* v = root.if_contains(path.front());
  for (std::size_t i = 1; v && i < path.size(); ++i) {
    const auto* obj = v->if_object();
    v = obj ? obj->if_contains(path[i]) : nullptr;
  }
  return v;
}

}  // namespace crier
