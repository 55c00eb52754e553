// The common Mustache template, made of text and variable tags only
// ({{name}}, {{{name}}}, {{& name}}, dotted names), compiled to segments and
// rendered straight from the JSON data: no conversion of the data into
// kainjow's types per message, which cost more than the rendering itself.
// Anything else (sections, partials, comments, delimiter changes) is not
// compiled here, and the renderer keeps using kainjow-mustache for it.
// Lookups follow kainjow's rules exactly: a dotted name is walked whole in
// each layer, innermost first; only strings render (numbers are rendered as
// the strings the renderer converts them to); anything else renders empty.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace crier {

class VariableTemplate {
 public:
  // nullopt when the source holds anything but text and variables.
  static std::optional<VariableTemplate> compile(std::string_view source);

  struct Segment {
    std::string text;               // literal text, or empty for a variable
    std::vector<std::string> path;  // a variable's name split on '.'; empty for text
    bool escape = false;            // HTML-escape the value ({{name}} in an HTML field)
  };

  // `emit(path, escape, out)` appends the value a variable names, if any.
  template <class Emit>
  void render(const Emit& emit, bool html, std::string& out) const {
    for (const auto& s : segments_) {
      if (s.path.empty()) out += s.text;
      else emit(std::span<const std::string>(s.path), html && s.escape, out);
    }
  }

  // Appends how kainjow renders the value (see render.cpp's to_mustache).
  static void append_value(const boost::json::value& v, bool escape, std::string& out);
  // Appends a string as kainjow's html_escape does.
  static void append_escaped(std::string_view s, std::string& out);

  const std::vector<Segment>& segments() const { return segments_; }
  // What a rendering is likely to need: the literal text and room for a
  // few short values (0 when there are no variables: the text alone is
  // appended in one piece anyway).
  std::size_t size_hint() const { return size_hint_; }

 private:
  std::vector<Segment> segments_;
  std::size_t size_hint_ = 0;
};

// Walks `path` (not empty) through `root`; null when a step is missing or
// not an object.
const boost::json::value* walk(const boost::json::object& root, std::span<const std::string> path);

}  // namespace crier
