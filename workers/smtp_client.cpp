#include "workers/smtp_client.h"

#include "workers/webhook_signature.h"  // base64_encode

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <tuple>
#include <utility>

#include "workers/deadline_resolver.h"
#include "workers/peer_text.h"
#include "workers/smtp_message.h"

namespace crier::smtp {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// A reply longer than this is not SMTP; it must not grow the buffer forever.
constexpr std::size_t kMaxReplyBytes = 64 * 1024;

struct Reply {
  int code = 0;
  std::string text;  // the lines' texts without their codes, joined by '\n'
};

error_code protocol_error() { return make_error_code(boost::system::errc::protocol_error); }

DeliveryOutcome transient(std::string code, std::string message) {
  return {false, true, std::move(code), std::move(message), 0};
}

// RFC 5321 4.2.1: 4yz is a transient failure, 5yz a permanent one. Any other
// unexpected code is a confused server: worth another try later.
DeliveryOutcome from_reply(const Reply& r, std::string_view during) {
  bool permanent = r.code >= 500 && r.code <= 599;
  return {false, !permanent, fmt::format("smtp_{}", r.code),
          fmt::format("{}: server answered {} {}", during, r.code, peer_text(r.text, 1024)), 0};
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

Extensions parse_ehlo(const Reply& r) {
  Extensions ext;
  std::string_view text = r.text;
  bool first = true;  // the first line is the server's name, not an extension
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string line = upper(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (std::exchange(first, false)) continue;
    auto sp = line.find_first_of(" =");
    std::string keyword = line.substr(0, sp);
    std::string params = sp == std::string::npos ? "" : " " + line.substr(sp + 1) + " ";
    if (keyword == "PIPELINING") ext.pipelining = true;
    else if (keyword == "STARTTLS") ext.starttls = true;
    else if (keyword == "8BITMIME") ext.eight_bit_mime = true;
    else if (keyword == "SMTPUTF8") ext.smtputf8 = true;
    else if (keyword == "SIZE") {
      ext.size = true;
      ext.size_limit = std::strtoull(params.c_str(), nullptr, 10);
    } else if (keyword == "AUTH") {
      ext.auth_plain |= params.find(" PLAIN ") != std::string::npos;
      ext.auth_login |= params.find(" LOGIN ") != std::string::npos;
    }
  }
  return ext;
}

bool is_ip_address(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

class TlsClientContext {
 public:
  explicit TlsClientContext(const SmtpProviderOptions& o) : ctx(asio::ssl::context::tls_client) {
    error_code ignored;
    ctx.set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1,
                    ignored);
    // A missing system store is fine when tls_ca_file names the trust anchor.
    ctx.set_default_verify_paths(ignored);
    if (!o.tls_ca_file.empty()) {
      error_code ec;
      ctx.load_verify_file(o.tls_ca_file, ec);
      if (ec) error = fmt::format("cannot load tls_ca_file {}: {}", o.tls_ca_file, ec.message());
    }
    ctx.set_verify_mode(o.tls_verify_peer ? asio::ssl::verify_peer : asio::ssl::verify_none, ignored);
  }
  asio::ssl::context ctx;
  std::string error;  // not empty: no STARTTLS can succeed
};

std::shared_ptr<TlsClientContext> make_tls_context(const SmtpProviderOptions& options) {
  return std::make_shared<TlsClientContext>(options);
}

struct Session::Impl {
  Impl(asio::any_io_executor ex, SmtpProviderOptions o, std::shared_ptr<TlsClientContext> t)
      : options(std::move(o)), tls_context(std::move(t)), tcp(std::move(ex)) {}

  SmtpProviderOptions options;
  std::shared_ptr<TlsClientContext> tls_context;
  // beast::tcp_stream gives every operation a deadline (expires_after) and
  // closes the socket when it passes; TLS runs on top of it after STARTTLS.
  beast::tcp_stream tcp;
  std::unique_ptr<asio::ssl::stream<beast::tcp_stream&>> tls;
  std::string in;  // received bytes not yet consumed as reply lines
  Extensions ext;
  bool usable = true;
  bool failed_before_reply = false;
  std::size_t transactions = 0;

  struct Exchange {
    error_code ec;
    Reply reply;
  };

  asio::awaitable<error_code> write(std::string_view data) {
    tcp.expires_after(options.command_timeout);
    auto buffer = asio::buffer(data.data(), data.size());
    // if/else, not ?: — g++ 12 miscompiles co_await inside a conditional.
    std::tuple<error_code, std::size_t> result;
    if (tls) result = co_await asio::async_write(*tls, buffer, kNoThrow);
    else result = co_await asio::async_write(tcp, buffer, kNoThrow);
    co_return std::get<0>(result);
  }

  asio::awaitable<std::tuple<error_code, std::size_t>> read_line() {
    auto buffer = asio::dynamic_buffer(in, kMaxReplyBytes);
    if (tls) co_return co_await asio::async_read_until(*tls, buffer, "\r\n", kNoThrow);
    co_return co_await asio::async_read_until(tcp, buffer, "\r\n", kNoThrow);
  }

  // One reply, all its lines: "250-first", "250-second", "250 last".
  asio::awaitable<Exchange> read_reply() {
    tcp.expires_after(options.command_timeout);
    Exchange x;
    for (;;) {
      auto [ec, n] = co_await read_line();
      if (ec) {
        x.ec = ec == asio::error::not_found ? protocol_error() : ec;  // not_found: line too long
        co_return x;
      }
      std::string line = in.substr(0, n - 2);
      in.erase(0, n);
      bool digits = line.size() >= 3 && std::all_of(line.begin(), line.begin() + 3, [](char c) {
                      return c >= '0' && c <= '9';
                    });
      if (!digits || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
        x.ec = protocol_error();
        x.reply.text = line;
        co_return x;
      }
      x.reply.code = std::stoi(line.substr(0, 3));
      if (!x.reply.text.empty()) x.reply.text += '\n';
      if (line.size() > 4) x.reply.text += line.substr(4);
      if (line.size() == 3 || line[3] == ' ') co_return x;
    }
  }

  asio::awaitable<Exchange> exchange(std::string_view command) {
    if (auto ec = co_await write(command)) co_return Exchange{ec, {}};
    co_return co_await read_reply();
  }

  // The connection is gone or confused: the session is discarded.
  DeliveryOutcome io_failure(error_code ec, std::string_view during) {
    usable = false;
    error_code ignored;
    tcp.socket().close(ignored);
    // Through TLS, the deadline closing the socket shows as operation_aborted;
    // nothing else cancels a session's operations.
    if (ec == beast::error::timeout || ec == asio::error::operation_aborted)
      return transient("timeout", fmt::format("{}: no answer from {}:{} within {} ms", during, options.host,
                                              options.port, options.command_timeout.count()));
    if (ec == protocol_error())
      return transient("smtp_protocol_error", fmt::format("{}: not an SMTP reply from {}:{}", during, options.host,
                                                          options.port));
    return transient("connection_lost", fmt::format("{}: connection to {}:{} failed: {}", during, options.host,
                                                    options.port, ec.message()));
  }

  DeliveryOutcome refused(const Reply& r, std::string_view during) {
    if (r.code == 421) usable = false;  // the server is closing the channel
    return from_reply(r, during);
  }

  asio::awaitable<DeliveryOutcome> negotiate() {
    // The lookup has a deadline too: Boost's resolver would wait for a hung
    // DNS server as long as it takes (deadline_resolver.h).
    const std::string port = std::to_string(options.port);  // no temporaries in co_await (g++ 12)
    auto resolved = co_await resolve_until(options.host, port, std::chrono::steady_clock::now() + options.command_timeout);
    if (!resolved) {
      if (resolved.error().code == "timeout")
        co_return transient("timeout", fmt::format("resolving {} took longer than {} ms", options.host,
                                                   options.command_timeout.count()));
      co_return transient("connect_failed", resolved.error().message);
    }
    tcp.expires_after(options.command_timeout);
    auto [cec, endpoint] = co_await tcp.async_connect(*resolved, kNoThrow);
    if (cec)
      co_return transient("connect_failed",
                          fmt::format("cannot connect to {}:{}: {}", options.host, options.port, cec.message()));
    auto greeting = co_await read_reply();
    if (greeting.ec) co_return io_failure(greeting.ec, "greeting");
    if (greeting.reply.code != 220) {
      usable = false;
      co_return from_reply(greeting.reply, "greeting");
    }
    if (auto f = co_await ehlo(); !f.ok) co_return f;
    if (options.tls != SmtpTls::none) {
      if (ext.starttls) {
        if (auto f = co_await starttls(); !f.ok) co_return f;
        if (auto f = co_await ehlo(); !f.ok) co_return f;
      } else if (options.tls == SmtpTls::required_starttls) {
        co_return transient("starttls_unavailable",
                            fmt::format("{}:{} does not offer STARTTLS", options.host, options.port));
      }
    }
    if (!options.username.empty()) co_return co_await authenticate();
    co_return DeliveryOutcome{};
  }

  asio::awaitable<DeliveryOutcome> ehlo() {
    auto x = co_await exchange(fmt::format("EHLO {}\r\n", options.helo_name));
    if (x.ec) co_return io_failure(x.ec, "EHLO");
    if (x.reply.code == 250) {
      ext = parse_ehlo(x.reply);
      co_return DeliveryOutcome{};
    }
    if (x.reply.code < 500) co_return refused(x.reply, "EHLO");
    // An old server without ESMTP: HELO, and no extensions.
    x = co_await exchange(fmt::format("HELO {}\r\n", options.helo_name));
    if (x.ec) co_return io_failure(x.ec, "HELO");
    if (x.reply.code != 250) co_return refused(x.reply, "HELO");
    ext = {};
    co_return DeliveryOutcome{};
  }

  asio::awaitable<DeliveryOutcome> starttls() {
    if (!tls_context->error.empty()) co_return transient("tls_failed", tls_context->error);
    auto x = co_await exchange("STARTTLS\r\n");
    if (x.ec) co_return io_failure(x.ec, "STARTTLS");
    if (x.reply.code != 220) co_return refused(x.reply, "STARTTLS");
    // RFC 3207 5: anything sent before the handshake could be an injected
    // reply; a correct server sends nothing, so refuse rather than use it.
    if (!in.empty()) co_return io_failure(protocol_error(), "STARTTLS");
    tls = std::make_unique<asio::ssl::stream<beast::tcp_stream&>>(tcp, tls_context->ctx);
    if (!is_ip_address(options.host)) SSL_set_tlsext_host_name(tls->native_handle(), options.host.c_str());
    if (options.tls_verify_peer) tls->set_verify_callback(asio::ssl::host_name_verification(options.host));
    tcp.expires_after(options.command_timeout);
    auto [ec] = co_await tls->async_handshake(asio::ssl::stream_base::client, kNoThrow);
    if (ec) {
      usable = false;
      co_return transient("tls_failed", fmt::format("TLS handshake with {}:{} failed: {}", options.host,
                                                    options.port, ec.message()));
    }
    ext = {};  // what was offered before TLS no longer counts (RFC 3207 4.2)
    co_return DeliveryOutcome{};
  }

  asio::awaitable<DeliveryOutcome> authenticate() {
    if (!tls && !options.allow_auth_without_tls)
      co_return transient("auth_requires_tls", fmt::format("{}:{} offers no STARTTLS; credentials are not sent in "
                                                           "clear text unless allow_auth_without_tls is set",
                                                           options.host, options.port));
    auto step = [this](std::string command, int expect, const char* what) -> asio::awaitable<DeliveryOutcome> {
      auto x = co_await exchange(command);
      if (x.ec) co_return io_failure(x.ec, what);
      if (x.reply.code != expect) {
        usable = false;  // a half-finished AUTH leaves the session in no known state
        co_return from_reply(x.reply, what);
      }
      co_return DeliveryOutcome{};
    };
    if (ext.auth_plain) {
      std::string token = std::string(1, '\0') + options.username + std::string(1, '\0') + options.password;
      co_return co_await step("AUTH PLAIN " + base64_encode(token) + "\r\n", 235, "AUTH PLAIN");
    }
    if (ext.auth_login) {
      if (auto f = co_await step("AUTH LOGIN\r\n", 334, "AUTH LOGIN"); !f.ok) co_return f;
      if (auto f = co_await step(base64_encode(options.username) + "\r\n", 334, "AUTH LOGIN user"); !f.ok) co_return f;
      co_return co_await step(base64_encode(options.password) + "\r\n", 235, "AUTH LOGIN password");
    }
    usable = false;
    co_return transient("auth_unavailable", fmt::format("{}:{} offers neither AUTH PLAIN nor AUTH LOGIN",
                                                        options.host, options.port));
  }

  // After a refused MAIL, RCPT or DATA: back to a clean state for the next message.
  asio::awaitable<void> reset() {
    if (!usable) co_return;
    auto x = co_await exchange("RSET\r\n");
    if (x.ec || x.reply.code != 250) {
      usable = false;
      error_code ignored;
      tcp.socket().close(ignored);
    }
  }

  asio::awaitable<DeliveryOutcome> transaction(std::string_view from, std::string_view to, std::string_view payload,
                                               std::size_t size) {
    failed_before_reply = false;
    ++transactions;
    const bool utf8 = !is_ascii(from) || !is_ascii(to);
    if (utf8 && !ext.smtputf8)
      co_return DeliveryOutcome{false, false, "smtputf8_unsupported",
                                fmt::format("{}:{} cannot take the non-ASCII address {} (no SMTPUTF8)", options.host,
                                            options.port, to),
                                0};
    if (ext.size_limit > 0 && size > ext.size_limit)
      co_return DeliveryOutcome{false, false, "message_too_large",
                                fmt::format("the message has {} bytes, {}:{} takes at most {}", size, options.host,
                                            options.port, ext.size_limit),
                                0};
    std::string mail = fmt::format("MAIL FROM:<{}>", from);
    if (ext.size) mail += fmt::format(" SIZE={}", size);
    if (utf8) mail += ext.eight_bit_mime ? " SMTPUTF8 BODY=8BITMIME" : " SMTPUTF8";
    mail += "\r\n";
    const std::string rcpt = fmt::format("RCPT TO:<{}>\r\n", to);

    Exchange m, r, d;
    if (ext.pipelining) {
      // RFC 2920: the group ends with DATA; the three replies come in order.
      if (auto ec = co_await write(mail + rcpt + "DATA\r\n")) co_return lost_before_reply(ec, "MAIL FROM");
      m = co_await read_reply();
      if (m.ec) co_return lost_before_reply(m.ec, "MAIL FROM");
      r = co_await read_reply();
      if (r.ec) co_return io_failure(r.ec, "RCPT TO");
      d = co_await read_reply();
      if (d.ec) co_return io_failure(d.ec, "DATA");
    } else {
      m = co_await exchange(mail);
      if (m.ec) co_return lost_before_reply(m.ec, "MAIL FROM");
      if (m.reply.code / 100 == 2) {
        r = co_await exchange(rcpt);
        if (r.ec) co_return io_failure(r.ec, "RCPT TO");
        if (r.reply.code / 100 == 2) {
          d = co_await exchange("DATA\r\n");
          if (d.ec) co_return io_failure(d.ec, "DATA");
        }
      }
    }
    std::optional<DeliveryOutcome> refusal;
    if (m.reply.code / 100 != 2) refusal = refused(m.reply, "MAIL FROM");
    else if (r.reply.code / 100 != 2) refusal = refused(r.reply, "RCPT TO");
    else if (d.reply.code != 354) refusal = refused(d.reply, "DATA");
    if (refusal) {
      // A server that said 354 despite a refused MAIL or RCPT waits for
      // data: an empty message ends it (and is refused for lack of RCPT).
      if (d.reply.code == 354) {
        auto x = co_await exchange(".\r\n");
        if (x.ec) usable = false;
      }
      co_await reset();
      co_return *refusal;
    }
    if (auto ec = co_await write(payload)) co_return io_failure(ec, "message data");
    auto done = co_await read_reply();
    if (done.ec) co_return io_failure(done.ec, "end of DATA");
    if (done.reply.code / 100 != 2) co_return refused(done.reply, "end of DATA");
    co_return DeliveryOutcome{};
  }

  // No reply to this transaction yet: if the connection simply died (a
  // pooled connection the server had closed), nothing was accepted.
  DeliveryOutcome lost_before_reply(error_code ec, std::string_view during) {
    failed_before_reply =
        ec != beast::error::timeout && ec != asio::error::operation_aborted && ec != protocol_error();
    return io_failure(ec, during);
  }
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

// Every session lives on a strand of its own: its socket, its TLS stream
// and the timer of beast::tcp_stream (whose expiry closes the socket from a
// handler of its own) are never touched by two threads at once, whichever
// thread of the dispatch pool the caller runs on and whichever lane takes the
// session from the pool next. Each public operation hops onto that strand.
asio::awaitable<Session::Opened> Session::open(SmtpProviderOptions options, std::shared_ptr<TlsClientContext> tls) {
  auto strand = asio::make_strand(co_await asio::this_coro::executor);
  // Named, not a temporary in the co_await expression (g++ 12 destroys those twice).
  auto on_strand = [strand, options = std::move(options), tls = std::move(tls)]() mutable -> asio::awaitable<Opened> {
    auto impl = std::make_unique<Impl>(strand, std::move(options), std::move(tls));
    DeliveryOutcome result = co_await impl->negotiate();
    if (!result.ok) co_return Opened{nullptr, std::move(result)};
    co_return Opened{std::unique_ptr<Session>(new Session(std::move(impl))), {}};
  };
  co_return co_await asio::co_spawn(strand, std::move(on_strand), asio::use_awaitable);
}

asio::awaitable<DeliveryOutcome> Session::send(std::string_view from, std::string_view to, std::string_view payload,
                                               std::size_t size) {
  co_return co_await asio::co_spawn(impl_->tcp.get_executor(), impl_->transaction(from, to, payload, size),
                                    asio::use_awaitable);
}

asio::awaitable<void> Session::quit() {
  auto on_strand = [this]() -> asio::awaitable<void> {
    if (impl_->usable) co_await impl_->exchange("QUIT\r\n");
    impl_->usable = false;
    error_code ignored;
    impl_->tcp.socket().shutdown(tcp::socket::shutdown_both, ignored);
    impl_->tcp.socket().close(ignored);
  };
  co_await asio::co_spawn(impl_->tcp.get_executor(), std::move(on_strand), asio::use_awaitable);
}

bool Session::usable() const { return impl_->usable; }
bool Session::failed_before_reply() const { return impl_->failed_before_reply; }
std::size_t Session::transactions() const { return impl_->transactions; }
const Extensions& Session::extensions() const { return impl_->ext; }

}  // namespace crier::smtp
