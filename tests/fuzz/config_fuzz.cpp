// The config file (crier serve --config): TOML read by toml++, then every
// section checked (load_toml), the listen address split, and the limits
// re-read as SIGHUP does (reload_limits). Errors are values; nothing throws.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "app/config.h"
#include "tests/fuzz/fuzz_world.h"

namespace {

// One file per process, rewritten for every input: load_toml reads a path.
const std::string& config_path() {
  static const std::string path =
      (std::filesystem::temp_directory_path() / ("crier-fuzz-config-" + std::to_string(getpid()) + ".toml")).string();
  static const struct Remover {
    ~Remover() { std::remove(path.c_str()); }
  } remover;
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace crier;
  {
    std::ofstream out(config_path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) fuzz::fail("cannot write the config file");
  }
  Config config;
  if (load_toml(config, config_path())) (void)listen_options(config);
  (void)reload_limits(config_path());
  return 0;
}
