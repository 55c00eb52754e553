// The `smtp` provider: email over SMTP (RFC 5321) through a pool of
// keep-alive connections, with PIPELINING (RFC 2920), STARTTLS (RFC 3207) and
// AUTH PLAIN/LOGIN (RFC 4954) when the server offers them.
//
// One connection carries one message at a time; a chunk passed to send() is
// spread over up to `pool_size` connections, and the pool is shared by every
// concurrent send() (at most `pool_size` connections are open at once).
// Outcomes: 250 after DATA is ok; connect errors, timeouts, lost connections
// and 4xx replies are transient; 5xx replies are permanent `smtp_<code>`
// quoting the server; an unusable `to` address is permanent
// `invalid_address` and never reaches the network. A broken connection
// fails only the message it was carrying and is discarded.
//
// The provider's sockets belong to the io_context that runs send(): destroy
// the provider before that io_context.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "workers/provider.h"

namespace crier {

enum class SmtpTls : std::uint8_t {
  none,               // never STARTTLS, even when offered
  starttls,           // STARTTLS when the server offers it, plain text otherwise
  required_starttls,  // STARTTLS or no delivery (transient `starttls_unavailable`)
};

struct SmtpProviderOptions {
  std::string name = "smtp";  // the provider's name in job specs and config
  std::string host = "127.0.0.1";
  std::uint16_t port = 25;
  std::string from_address;  // envelope MAIL FROM and the From header
  std::string from_name;     // optional display name in From (RFC 2047 when not ASCII)
  std::string helo_name = "localhost";  // what EHLO announces
  SmtpTls tls = SmtpTls::starttls;
  // Verify the server's certificate (and its name against `host`) after STARTTLS.
  bool tls_verify_peer = true;
  // Extra trusted CA certificates (PEM file), on top of the system's store.
  std::string tls_ca_file;
  // AUTH when username is not empty: PLAIN if offered, else LOGIN. Credentials
  // are only sent over TLS unless allow_auth_without_tls is set.
  std::string username;
  std::string password;
  bool allow_auth_without_tls = false;
  std::size_t pool_size = 8;  // connections open at most, across all send() calls
  // A connection says QUIT and is replaced after this many transactions.
  std::size_t max_messages_per_connection = 100;
  // Limit for each command's round trip (and for connect, TLS handshake, DATA).
  std::chrono::milliseconds command_timeout = std::chrono::seconds(30);
};

// Never fails: configuration problems (an invalid from_address, an unreadable
// tls_ca_file) show up as failed outcomes that say what is wrong.
std::unique_ptr<Provider> make_smtp_provider(SmtpProviderOptions options);

}  // namespace crier
