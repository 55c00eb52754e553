// One SMTP connection (RFC 5321) as a coroutine API: open() connects and
// negotiates (greeting, EHLO, STARTTLS, EHLO again, AUTH); send() runs one
// mail transaction. Asio's socket and TLS types stay in the .cpp.
//
// Not thread-safe: one coroutine uses a session at a time (the provider's
// pool hands it out exclusively). Nothing here throws: failures come back as
// DeliveryOutcome values, and a failed connection reports !usable().
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "workers/provider.h"
#include "workers/smtp_provider.h"

namespace crier::smtp {

// What the server's EHLO answer offered.
struct Extensions {
  bool pipelining = false;
  bool starttls = false;
  bool eight_bit_mime = false;
  bool smtputf8 = false;
  bool auth_plain = false;
  bool auth_login = false;
  bool size = false;             // SIZE: MAIL FROM takes SIZE=<bytes>
  std::uint64_t size_limit = 0;  // the SIZE value; 0 = no limit announced
};

// The trust settings for STARTTLS, shared by every session of one provider.
class TlsClientContext;
std::shared_ptr<TlsClientContext> make_tls_context(const SmtpProviderOptions& options);

class Session {
 public:
  struct Opened;
  // Connects to options.host:port and negotiates. On failure `session` is
  // null and `failure` says why: connect_failed, timeout, connection_lost,
  // tls_failed, starttls_unavailable, auth_unavailable, smtp_<code>.
  static boost::asio::awaitable<Opened> open(SmtpProviderOptions options,
                                             std::shared_ptr<TlsClientContext> tls);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // One transaction for `payload` (already dot-stuffed, ending CRLF.CRLF;
  // `size` is the message's size before stuffing, for SIZE=). MAIL, RCPT and
  // DATA go in one write when the server offers PIPELINING. A refused
  // transaction is reset (RSET) so the session stays usable.
  boost::asio::awaitable<DeliveryOutcome> send(std::string_view from, std::string_view to,
                                               std::string_view payload, std::size_t size);
  // QUIT and close; errors do not matter any more.
  boost::asio::awaitable<void> quit();

  // False once the connection failed or the server said 421: discard it.
  bool usable() const;
  // True when the last send() failed on the connection before the server
  // answered anything: nothing was accepted, so the message may be sent
  // again on a fresh connection (a pooled connection the server had closed).
  bool failed_before_reply() const;
  std::size_t transactions() const;
  const Extensions& extensions() const;

 private:
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct Session::Opened {
  std::unique_ptr<Session> session;
  DeliveryOutcome failure;
};

}  // namespace crier::smtp
