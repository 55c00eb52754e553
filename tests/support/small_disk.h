// A small tmpfs mounted on a directory, so a test can fill the disk a store
// or the server writes to, then give the space back. Mounting needs root
// (CI runs as root): when mount(2) is refused, mounted() is false and
// error() says why, for GTEST_SKIP. The destructor unmounts (lazily, so a
// process still holding files there does not keep it mounted).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace crier::testing {

class SmallDisk {
 public:
  SmallDisk(std::filesystem::path dir, std::uint64_t megabytes);
  ~SmallDisk();
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  void unmount();

  std::uint64_t free_bytes() const;
  // Writes filler files (not under the store's names) until at most
  // `leave_bytes` are free; returns the bytes written.
  std::uint64_t fill(std::uint64_t leave_bytes = 0);
  // Deletes every filler file written so far.
  void free_filler();
  // Remounts with another size (tmpfs keeps the files).
  bool resize(std::uint64_t megabytes);

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
  std::string error_;
  int fillers_ = 0;
};

}  // namespace crier::testing
