// What the SMTP provider reads from a mail server: the input is every reply
// of a session (greeting, EHLO with its extensions, STARTTLS, AUTH, MAIL,
// RCPT, DATA, the message's answer, QUIT), sent at once and then the end of
// the stream, read by smtp::Session over a real socket. The first byte picks
// the client's settings (TLS mode, AUTH).
#include <boost/asio.hpp>

#include <cstdint>
#include <string>

#include "tests/fuzz/fuzz_world.h"
#include "tests/fuzz/loopback_peer.h"
#include "tests/fuzz/utf8_check.h"
#include "workers/smtp_client.h"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

using namespace crier;

// Coroutines are free functions, not lambdas: g++ 12 emits a coroutine
// lambda's symbols twice inside an extern "C" function.
asio::awaitable<void> converse(SmtpProviderOptions options, std::shared_ptr<smtp::TlsClientContext> tls,
                               std::shared_ptr<const std::string> replies) {
  auto opened = co_await smtp::Session::open(options, tls);
  if (!opened.session) {
    if (opened.failure.ok) fuzz::fail("a failed open reported success", *replies);
    // Stored with the recipient and shown in JSON answers and callbacks.
    if (!fuzz::valid_utf8(opened.failure.error_message)) fuzz::fail("an outcome's message is not UTF-8", *replies);
    co_return;
  }
  const std::string payload = "Subject: fuzz\r\n\r\nhello\r\n.\r\n";
  auto sent = co_await opened.session->send("crier@example.com", "to@example.com", payload, payload.size());
  if (!sent.ok && sent.error_code.empty()) fuzz::fail("a failed send has no error code", *replies);
  if (!fuzz::valid_utf8(sent.error_message)) fuzz::fail("an outcome's message is not UTF-8", *replies);
  if (opened.session->usable()) co_await opened.session->quit();
}

// Sends every reply at once, ends its half of the stream, and reads what
// the client says until it closes.
asio::awaitable<void> reply_with(std::shared_ptr<const std::string> replies, tcp::socket socket) {
  co_await asio::async_write(socket, asio::buffer(*replies), asio::as_tuple(asio::use_awaitable));
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  std::string sink;
  for (;;) {
    sink.clear();
    auto [ec, n] = co_await asio::async_read(socket, asio::dynamic_buffer(sink, 4096), asio::transfer_at_least(1),
                                             asio::as_tuple(asio::use_awaitable));
    if (ec) break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static fuzz::LoopbackPeer peer;
  SmtpProviderOptions options;
  options.host = "127.0.0.1";
  options.port = peer.port();
  options.from_address = "crier@example.com";
  options.tls = static_cast<SmtpTls>(data[0] % 3);
  options.tls_verify_peer = false;
  if (data[0] & 0x10) {
    options.username = "user";
    options.password = "secret";
    options.allow_auth_without_tls = true;
  }
  options.command_timeout = std::chrono::seconds(5);
  static auto tls = smtp::make_tls_context(options);
  auto replies = std::make_shared<const std::string>(reinterpret_cast<const char*>(data) + 1, size - 1);
  peer.run([&] { return converse(options, tls, replies); },
           [replies](tcp::socket socket) { return reply_with(replies, std::move(socket)); });
  return 0;
}
