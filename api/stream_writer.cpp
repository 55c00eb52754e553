#include "api/stream_writer.h"

#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/http.hpp>

#include <cerrno>
#include <memory>

#include "api/response_stream.h"

namespace crier::api {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}

bool peer_closed(int fd) {
  char byte;
  for (;;) {
    auto n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
    return true;  // 0: the peer closed; > 0: it sent something
  }
}

asio::awaitable<RequestRecord> write_stream(beast::tcp_stream& stream, const ApiRequest& req, ApiResponse res,
                                            std::chrono::milliseconds write_timeout) {
  auto body = std::move(res.stream);
  http::response<http::empty_body> head{static_cast<http::status>(res.status), 11};
  head.set(http::field::server, "crier");
  if (!res.content_type.empty()) head.set(http::field::content_type, res.content_type);
  head.set("X-Request-Id", req.request_id);
  for (const auto& [k, v] : res.headers) head.set(k, v);
  head.keep_alive(false);
  head.chunked(true);
  http::response_serializer<http::empty_body> serializer{head};
  RequestRecord record{res.status, {}, 0, 0};
  stream.expires_after(write_timeout);
  auto [hec, hn] = co_await http::async_write_header(stream, serializer, use_tuple);
  if (hec) co_return record;

  auto executor = co_await asio::this_coro::executor;
  // Waits between takes; a wake from the stream (any thread) cancels it on
  // this connection's strand, so a wake during a take or a write is never
  // lost: the next take sees what it announced.
  auto pause = std::make_shared<asio::steady_timer>(executor);
  body->start([executor, pause] { asio::post(executor, [pause] { pause->cancel(); }); });
  // A stream's client sends nothing: its socket turning readable means it
  // closed, and the stream ends now rather than at its next write. A
  // readiness is only a hint, though (epoll may report one for a descriptor
  // number a closed connection had), so the socket is asked before the
  // stream is ended, and waited on again when nothing is there.
  auto readable = std::make_shared<bool>(false);
  auto watch_client = [&stream, executor, pause, readable] {
    stream.socket().async_wait(tcp::socket::wait_read,
                               asio::bind_executor(executor, [pause, readable](boost::system::error_code ec) {
                                 if (ec == asio::error::operation_aborted) return;
                                 *readable = true;
                                 pause->cancel();
                               }));
  };
  auto client_gone = [&] {
    if (!*readable) return false;
    *readable = false;
    if (peer_closed(stream.socket().native_handle())) return true;
    watch_client();
    return false;
  };
  watch_client();
  for (;;) {
    auto piece = body->take();
    if (!piece.bytes.empty()) {
      stream.expires_after(write_timeout);
      auto chunk = http::make_chunk(asio::buffer(piece.bytes));
      auto [wec, wn] = co_await asio::async_write(stream, chunk, use_tuple);
      if (wec) break;
      record.bytes_out += piece.bytes.size();
    }
    if (piece.last) {
      stream.expires_after(write_timeout);
      auto last_chunk = http::make_chunk_last();
      co_await asio::async_write(stream, last_chunk, use_tuple);
      break;
    }
    if (client_gone()) break;
    if (piece.bytes.empty()) {
      stream.expires_never();
      pause->expires_after(body->max_idle());
      co_await pause->async_wait(use_tuple);
      if (client_gone()) break;
    }
  }
  beast::error_code ignored;
  stream.socket().cancel(ignored);  // the readability wait
  body.reset();  // the watcher leaves before the stream is counted as ended
  co_return record;
}

}  // namespace crier::api
