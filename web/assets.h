// The dashboard's static files, embedded into the binary at build time
// (web/embed.cmake generates the table from the files in web/).
#pragma once

#include <span>
#include <string_view>

namespace crier::web {

struct Asset {
  std::string_view path;          // URL path: "/" for index.html, "/assets/<name>" for the rest
  std::string_view content_type;  // with charset for text
  std::string_view etag;          // quoted strong validator: a prefix of the file's SHA-256
  std::string_view body;
};

// Every embedded file; valid for the program's lifetime.
std::span<const Asset> assets();

}  // namespace crier::web
