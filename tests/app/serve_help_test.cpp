// `crier serve --help` and docs/configuration.md name the same flags: a flag
// added to the binary and not documented fails here.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace crier::e2e {
namespace {

std::string run(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run " + command);
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  ::pclose(p);
  return out;
}

std::set<std::string> flags_in(const std::string& text) {
  std::set<std::string> out;
  static const std::regex flag("--[a-z][a-z-]+");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), flag); it != std::sregex_iterator();
       ++it)
    out.insert(it->str());
  return out;
}

TEST(ServeHelp, EveryFlagIsInConfigurationMd) {
  const std::string help = run(std::string(CRIER_BINARY) + " serve --help");
  auto docs_path = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() /
                   "docs" / "configuration.md";
  std::ifstream in(docs_path);
  ASSERT_TRUE(in) << docs_path;
  std::stringstream docs;
  docs << in.rdbuf();
  const auto documented = flags_in(docs.str());
  auto flags = flags_in(help.substr(help.find("Options:")));
  flags.erase("--help");
  ASSERT_GE(flags.size(), 15u) << help;
  for (const auto& f : flags)
    EXPECT_TRUE(documented.count(f)) << f << " is not in docs/configuration.md";
}

}  // namespace
}  // namespace crier::e2e
