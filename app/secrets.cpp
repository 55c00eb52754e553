#include "app/secrets.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "app/config.h"

namespace crier {
namespace {

Error key_error(std::string message) { return make_error(ErrorKind::internal, "secret_file", std::move(message)); }

bool valid_key(std::string_view key) {
  return key.size() >= 8 && std::none_of(key.begin(), key.end(), [](char c) { return c <= 0x20 || c >= 0x7f; });
}

// The first line of the file, not following a symlink.
Result<std::string> read_key(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return key_error(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)))
    spdlog::warn("{} is readable by other users (mode {:o}); chmod 600 it", path, st.st_mode & 0777);
  std::string content;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    content.append(buf, static_cast<std::size_t>(n));
    if (content.size() > 4096) break;
  }
  ::close(fd);
  auto nl = content.find('\n');
  if (nl != std::string::npos) content.resize(nl);
  if (!valid_key(content))
    return key_error(fmt::format("{} holds no valid secret (at least 8 visible ASCII characters on its first line); "
                                 "remove it to have a new one generated", path));
  return content;
}

Result<std::string> random_bytes(std::size_t n) {
  std::string random(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(random.data()), static_cast<int>(n)) != 1)
    return key_error("the system's random generator failed");
  return random;
}

Result<StoredSecret> load_or_create(const std::string& data_dir, const char* file,
                                    std::string (*make)(const std::string& random), std::size_t random_bytes_needed = 16) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  StoredSecret out;
  out.path = (std::filesystem::path(data_dir) / file).string();
  auto random = random_bytes(random_bytes_needed);
  if (!random) return random.error();
  std::string key = make(*random);
  // Created 0600 in the same call that creates it: there is no moment when
  // the file exists with a wider mode. O_EXCL also refuses a planted
  // symlink (it counts as existing), which is then read, not followed.
  int fd = ::open(out.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno != EEXIST) return key_error(fmt::format("cannot create {}: {}", out.path, std::strerror(errno)));
    auto stored = read_key(out.path);
    if (!stored) return stored.error();
    out.key = std::move(*stored);
    return out;
  }
  std::string line = key + "\n";
  bool ok = true;
  for (std::size_t done = 0; ok && done < line.size();) {
    ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(out.path.c_str());
    return key_error(fmt::format("cannot write {}", out.path));
  }
  out.key = std::move(key);
  out.created = true;
  return out;
}

}  // namespace

Result<StoredSecret> load_or_create_api_key(const std::string& data_dir) {
  return load_or_create(data_dir, "api_key", [](const std::string& random) {
    std::string key = "crier_";
    for (unsigned char c : random) key += fmt::format("{:02x}", c);
    return key;
  });
}

Result<std::optional<StoredSecret>> ensure_api_key(Config& config) {
  if (!config.api_keys.empty()) return std::optional<StoredSecret>();
  auto key = load_or_create_api_key(config.data_dir);
  if (!key) return key.error();
  config.api_keys.add(key->key, "default");
  return std::optional<StoredSecret>(std::move(*key));
}

void announce_api_key(std::optional<StoredSecret>& generated) {
  if (!generated) return;
  // A key is shown once, when it is made; after that it is only named.
  if (generated->created)
    fmt::print("API key (tenant 'default'): {}\n  (stored in {})\n", generated->key, generated->path);
  else
    fmt::print("API key (tenant 'default'): in {}\n", generated->path);
  generated->key.assign(generated->key.size(), '\0');  // the digest is what stays
  generated.reset();
}

Result<StoredSecret> load_or_create_ticket_key(const std::string& data_dir) {
  return load_or_create(
      data_dir, "ticket_key",
      [](const std::string& random) {
        std::string key;
        for (unsigned char c : random) key += fmt::format("{:02x}", c);
        return key;
      },
      32);
}

}  // namespace crier
