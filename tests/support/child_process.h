// Starting a helper program for a test: the real server, or a real sink.
// Both are read the same way — their first line of stdout says they are
// ready (and on which port) — so the fork/exec and that first read live here.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace crier::testing {

struct Child {
  pid_t pid = -1;
  int stdout_fd = -1;  // the read end of the child's stdout
};

// Forks and execs args[0] (a path) with `args`: stdin is /dev/null, stdout a
// new pipe, stderr appended to `stderr_fd`; no other descriptor is
// inherited, and the child is killed when the test process dies. Throws
// std::runtime_error when the pipe or fork fails.
Child spawn_child(const std::vector<std::string>& args, int stderr_fd);

// Reads `fd` until the first complete line, end of file or `timeout`.
// Returns the line (without the newline), or nullopt with `why` set.
// `seen` receives every byte read, the line's included.
std::optional<std::string> read_first_line(int fd, std::chrono::milliseconds timeout, std::string& seen,
                                           std::string& why);

}  // namespace crier::testing
