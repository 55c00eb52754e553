#include "tests/cli/tmux_terminal.h"

#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <thread>

namespace crier::cli_test {

namespace {
std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
}  // namespace

TmuxTerminal::TmuxTerminal(const std::vector<std::string>& env) {
  static std::atomic<int> counter{0};
  socket_ = fmt::format("crier-cli-test-{}-{}", ::getpid(), counter++);
  std::vector<std::string> args = {"new-session", "-d", "-x", "120", "-y", "30"};
  for (const auto& e : env) {
    args.push_back("-e");
    args.push_back(e);
  }
  // A shell without rc files: the same prompt and behaviour on every machine.
  args.push_back("env PS1='$ ' bash --norc --noprofile");
  tmux(args);
  // Make sure the shell is up before typing.
  std::string last;
  if (!wait_for([](const std::string& s) { return s.find("$") != std::string::npos; }, last))
    throw std::runtime_error("tmux shell did not start: " + last);
}

TmuxTerminal::~TmuxTerminal() {
  try {
    tmux({"kill-server"});
  } catch (...) {
  }
}

std::string TmuxTerminal::tmux(const std::vector<std::string>& args) const {
  std::string cmd = "tmux -L " + quote(socket_) + " -f /dev/null";
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " 2>&1";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen tmux failed");
  std::string out;
  std::array<char, 4096> buf{};
  while (auto n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int status = ::pclose(p);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("tmux failed: " + cmd + ": " + out);
  return out;
}

void TmuxTerminal::type(const std::string& line) {
  tmux({"send-keys", "-l", line});
  tmux({"send-keys", "Enter"});
}

void TmuxTerminal::ctrl_c() { tmux({"send-keys", "C-c"}); }

std::string TmuxTerminal::screen() const { return tmux({"capture-pane", "-p"}); }

bool TmuxTerminal::wait_for(const std::function<bool(const std::string&)>& done, std::string& last,
                            std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    last = screen();
    if (done(last)) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace crier::cli_test
