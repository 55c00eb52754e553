#include "tests/support/small_disk.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace crier::testing {

SmallDisk::SmallDisk(std::filesystem::path dir, std::uint64_t megabytes) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  const std::string options = "size=" + std::to_string(megabytes) + "m";
  if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
    error_ = "mount -t tmpfs -o " + options + " on " + dir_.string() + " refused: " + std::strerror(errno);
    return;
  }
  mounted_ = true;
}

SmallDisk::~SmallDisk() { unmount(); }

void SmallDisk::unmount() {
  if (!mounted_) return;
  mounted_ = false;
  ::umount2(dir_.c_str(), MNT_DETACH);
}

std::uint64_t SmallDisk::free_bytes() const {
  struct statvfs v {};
  if (::statvfs(dir_.c_str(), &v) != 0) return 0;
  return static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize;
}

std::uint64_t SmallDisk::fill(std::uint64_t leave_bytes) {
  const auto path = dir_ / ("filler-" + std::to_string(fillers_++));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return 0;
  std::vector<char> chunk(1 << 20, 'f');
  std::uint64_t written = 0;
  for (;;) {
    const std::uint64_t free = free_bytes();
    if (free <= leave_bytes) break;
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), free - leave_bytes));
    const ssize_t w = ::write(fd, chunk.data(), n);
    if (w <= 0) break;  // full
    written += static_cast<std::uint64_t>(w);
  }
  ::close(fd);
  return written;
}

void SmallDisk::free_filler() {
  for (int i = 0; i < fillers_; ++i) ::unlink((dir_ / ("filler-" + std::to_string(i))).c_str());
}

bool SmallDisk::resize(std::uint64_t megabytes) {
  const std::string options = "size=" + std::to_string(megabytes) + "m";
  return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, options.c_str()) == 0;
}

}  // namespace crier::testing
