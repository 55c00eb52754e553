// What an HTTP provider reads back (webhook, Twilio, FCM, WhatsApp): the
// input is the whole answer on the wire, read by PooledHttpClient (Beast's
// parser, size limit, keep-alive pool) and mapped to a delivery outcome by
// http_delivery_outcome (status classes, Retry-After, the quoted body).
#include <boost/asio.hpp>

#include <cstdint>
#include <string>

#include "tests/fuzz/fuzz_world.h"
#include "tests/fuzz/loopback_peer.h"
#include "tests/fuzz/utf8_check.h"
#include "workers/http_client.h"
#include "workers/webhook_provider.h"

namespace asio = boost::asio;
using asio::ip::tcp;

constexpr std::string_view kRequestBody = R"({"message_id":"msg_fuzz"})";

namespace {

using namespace crier;

// Coroutines are free functions, not lambdas: g++ 12 emits a coroutine
// lambda's symbols twice inside an extern "C" function.
asio::awaitable<void> ask(PooledHttpClient& client, unsigned short port, Result<HttpResponse>& result) {
  HttpRequest req;
  req.method = "POST";
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  req.body = kRequestBody;
  result = co_await client.request(std::move(req));
}

// Reads the request's head and body (the client sends Content-Length),
// answers the input and closes: a kept-alive connection the client reuses
// next time is found closed and replaced, as with a real server.
asio::awaitable<void> answer_with(std::shared_ptr<const std::string> answer, tcp::socket socket) {
  std::string in;
  auto [ec, n] = co_await asio::async_read_until(socket, asio::dynamic_buffer(in, 64 * 1024), "\r\n\r\n",
                                                 asio::as_tuple(asio::use_awaitable));
  if (ec) co_return;
  if (in.size() < n + kRequestBody.size())
    co_await asio::async_read(socket, asio::dynamic_buffer(in),
                              asio::transfer_exactly(n + kRequestBody.size() - in.size()),
                              asio::as_tuple(asio::use_awaitable));
  co_await asio::async_write(socket, asio::buffer(*answer), asio::as_tuple(asio::use_awaitable));
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::LoopbackPeer peer;
  static PooledHttpClient client([] {
    HttpClientOptions o;
    o.timeout = std::chrono::seconds(5);
    o.max_response_bytes = 64 * 1024;
    return o;
  }());
  auto answer = std::make_shared<const std::string>(reinterpret_cast<const char*>(data), size);

  Result<HttpResponse> result = make_error(ErrorKind::internal, "not_run", "");
  peer.run([&] { return ask(client, peer.port(), result); },
           [answer](tcp::socket socket) { return answer_with(answer, std::move(socket)); });

  auto outcome = http_delivery_outcome(result);
  // The message is stored with the recipient and shown in JSON answers and
  // callbacks: whatever the peer sent, it must be text.
  if (!fuzz::valid_utf8(outcome.error_message)) fuzz::fail("an outcome's message is not UTF-8", *answer);
  if (result) {
    // Answers are statuses, never transport errors: 2xx and only 2xx is ok.
    bool success = result->status >= 200 && result->status <= 299;
    if (outcome.ok != success) fuzz::fail("a status was read as the wrong outcome", *answer);
    if (outcome.retry_after_ms < 0) fuzz::fail("a negative Retry-After wait", *answer);
  } else if (outcome.ok) {
    fuzz::fail("a failed exchange was read as delivered", *answer);
  }
  return 0;
}
