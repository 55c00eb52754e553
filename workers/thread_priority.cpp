#include "workers/thread_priority.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace crier {

void name_thread(std::thread& thread, const char* name) {
  pthread_setname_np(thread.native_handle(), name);
}

void become_bulk_thread(const char* name, int nice) {
  pthread_setname_np(pthread_self(), name);
  nice = std::clamp(nice, 0, 19);
  if (nice == 0) return;
  // On Linux the nice value belongs to the thread: PRIO_PROCESS with a
  // thread id changes that thread only.
  errno = 0;
  const int current = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  if (errno != 0 || current >= nice) return;  // already as low or lower
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice) != 0)
    spdlog::warn("cannot lower a bulk thread to nice {}: {}", nice, std::strerror(errno));
}

}  // namespace crier
