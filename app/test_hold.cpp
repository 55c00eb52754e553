#include "app/test_hold.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

namespace crier {

void hold_at(std::string_view point) {
  const char* env = std::getenv("CRIER_HOLD_AT");
  if (!env) return;
  const std::string_view spec(env);
  const auto colon = spec.find(':');
  if (colon == std::string_view::npos || spec.substr(0, colon) != point) return;
  const std::filesystem::path file(std::string(spec.substr(colon + 1)));
  std::fprintf(stderr, "CRIER_HOLD_AT: held at %.*s until %s exists\n", static_cast<int>(point.size()),
               point.data(), file.c_str());
  std::error_code ec;
  while (!std::filesystem::exists(file, ec)) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

}  // namespace crier
