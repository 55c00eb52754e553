// A fresh directory under the system temp dir, removed with its contents
// when the object goes out of scope.
#pragma once

#include <filesystem>
#include <string>

namespace crier::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace crier::testing
