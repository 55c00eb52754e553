#include "storage/info_log.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <filesystem>

namespace crier {
namespace {

class InfoLog final : public rocksdb::Logger {
 public:
  InfoLog(int fd, rocksdb::InfoLogLevel level) : rocksdb::Logger(level), fd_(fd) {}
  ~InfoLog() override {
    if (!closed_) {
      closed_ = true;
      ::close(fd_);
    }
  }

  using rocksdb::Logger::Logv;
  // The line RocksDB's logger writes: local time, thread, message.
  void Logv(const char* format, va_list ap) override {
    char line[8192];
    timeval now{};
    ::gettimeofday(&now, nullptr);
    tm t{};
    const time_t seconds = now.tv_sec;
    ::localtime_r(&seconds, &t);
    int n = std::snprintf(line, sizeof line, "%04d/%02d/%02d-%02d:%02d:%02d.%06d %llx ", t.tm_year + 1900,
                          t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, static_cast<int>(now.tv_usec),
                          static_cast<unsigned long long>(::pthread_self()));
    if (n < 0) return;
    va_list copy;
    va_copy(copy, ap);
    int m = std::vsnprintf(line + n, sizeof line - static_cast<std::size_t>(n), format, copy);
    va_end(copy);
    if (m < 0) return;
    std::size_t size = std::min(sizeof line - 1, static_cast<std::size_t>(n) + static_cast<std::size_t>(m));
    if (line[size - 1] != '\n') line[size++] = '\n';
    // One write per line (O_APPEND keeps lines whole); a full disk loses it.
    [[maybe_unused]] auto written = ::write(fd_, line, size);
  }

 protected:
  rocksdb::Status CloseImpl() override {
    ::close(fd_);
    return rocksdb::Status::OK();
  }

 private:
  int fd_;
};

}  // namespace

std::shared_ptr<rocksdb::Logger> open_info_log(const std::string& dir, rocksdb::InfoLogLevel level) {
  namespace fs = std::filesystem;
  const fs::path path = fs::path(dir) / "LOG";
  std::error_code ec;
  if (fs::exists(path, ec)) {
    timeval now{};
    ::gettimeofday(&now, nullptr);
    const auto micros = static_cast<long long>(now.tv_sec) * 1000000 + now.tv_usec;
    fs::rename(path, fs::path(dir) / ("LOG.old." + std::to_string(micros)), ec);
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return nullptr;
  return std::make_shared<InfoLog>(fd, level);
}

}  // namespace crier
