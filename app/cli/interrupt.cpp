#include "app/cli/interrupt.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <thread>

namespace crier::cli {

namespace {
volatile std::sig_atomic_t stop_requested = 0;

extern "C" void on_interrupt(int) {
  // The handler runs between any two instructions of the interrupted code,
  // which may be about to read errno: write(2) must not change it for them.
  const int saved_errno = errno;
  stop_requested = 1;
  // Say at once that it was heard (write(2) is async-signal-safe; stdio is not).
  static const char msg[] = "\ncrier: stopping at the next safe point (Ctrl-C again to quit at once)\n";
  if (::write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
    // Nothing a signal handler can do about a closed stderr; the stop still happens.
  }
  errno = saved_errno;
}
}  // namespace

void catch_interrupts() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  // SA_RESETHAND: the next signal takes the default action and ends the process.
  sa.sa_flags = SA_RESETHAND | SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);
}

bool interrupted() { return stop_requested != 0; }

bool sleep_unless_interrupted(int ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    if (interrupted()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return interrupted();
}

}  // namespace crier::cli
