// A real SMTP server for tests: tests/support/smtp_sink.py (aiosmtpd) in a
// child process run by Debian's /usr/bin/python3, listening on 127.0.0.1:0.
//
// The constructor reads the child's stdout until its "smtp sink listening on
// 127.0.0.1:PORT" line and throws std::runtime_error (with the child's
// stderr) if it does not come within the deadline. The sink writes every
// accepted message as a JSON file under <dir>/messages and a line per TCP
// connection to <dir>/sessions.log; the accessors below read them back.
#pragma once

#include <sys/types.h>

#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace crier::testing {

class SmtpSinkProcess {
 public:
  // Starts `smtp_sink.py --dir <dir> <extra_args...>`; see the script's
  // --help for the options (--no-pipelining, --reject, --tempfail-rcpt, ...).
  explicit SmtpSinkProcess(std::filesystem::path dir, std::vector<std::string> extra_args = {},
                           std::chrono::milliseconds start_deadline = std::chrono::seconds(20));
  // Kills the sink (SIGKILL) and waits for it.
  ~SmtpSinkProcess();
  SmtpSinkProcess(const SmtpSinkProcess&) = delete;
  SmtpSinkProcess& operator=(const SmtpSinkProcess&) = delete;

  unsigned short port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_; }

  // Every message accepted so far, as the sink recorded it: mail_from,
  // rcpt_tos, raw, tls, auth_user, and what Python's email parser decoded
  // (subject, raw_subject, message_id, x_crier_message_id, content_type,
  // text, html, defects).
  std::vector<boost::json::object> messages() const;
  std::size_t message_count() const;
  // TCP connections the sink has accepted so far.
  std::size_t sessions() const;
  // The sink's stderr, for failure messages.
  std::string output_tail(std::size_t max_bytes = 4000) const;

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;  // kept open so a late print cannot kill the sink with SIGPIPE
  unsigned short port_ = 0;
};

}  // namespace crier::testing
