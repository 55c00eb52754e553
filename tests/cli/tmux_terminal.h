// A real terminal for the CLI's tests: a detached tmux session of 120x30 on a
// server socket of its own (so other tmux users are untouched), a plain bash
// in it with the given environment. Tests type with send-keys and read the
// screen with capture-pane, as a person would see it.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace crier::cli_test {

class TmuxTerminal {
 public:
  // `env`: NAME=VALUE pairs for the shell. Throws when tmux cannot start.
  explicit TmuxTerminal(const std::vector<std::string>& env);
  ~TmuxTerminal();  // kills this session's tmux server
  TmuxTerminal(const TmuxTerminal&) = delete;
  TmuxTerminal& operator=(const TmuxTerminal&) = delete;

  // Types `line` and presses Enter.
  void type(const std::string& line);
  // Presses Ctrl-C.
  void ctrl_c();
  // The visible screen, one string per row (trailing blanks trimmed).
  std::string screen() const;
  // Polls the screen until `done(screen)` or `timeout`; returns the last screen
  // and whether `done` held.
  bool wait_for(const std::function<bool(const std::string&)>& done, std::string& last,
                std::chrono::milliseconds timeout = std::chrono::seconds(25));

 private:
  std::string tmux(const std::vector<std::string>& args) const;
  std::string socket_;
};

}  // namespace crier::cli_test
