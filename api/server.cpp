#include "api/server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>

#include "api/errors.h"
#include "api/request_record.h"
#include "api/request_target.h"
#include "api/response_stream.h"
#include "api/stream_writer.h"
#include "engine/ids.h"
#include "workers/accept_backoff.h"

namespace crier::api {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// simdjson reads up to 64 bytes past the end of its input.
constexpr std::size_t kJsonPadding = 64;
// The piece of a body read before it is handed on (appended, or fed to a
// stream); allocated when a body is read, freed after the request.
constexpr std::size_t kChunkBytes = 256 * 1024;
// What a buffered body reserves up front whatever its Content-Length says;
// it grows as the bytes arrive.
constexpr std::size_t kBodyReserveBytes = 64 * 1024;
// Refused connections (over max_connections) being answered at once; more
// are closed without an answer.
constexpr std::size_t kMaxRefusing = 256;
// Room in a connection's read buffer while it reads a body. Beast reads as
// much as the buffer has room for and never grows it while the parser moves
// each piece out into the body chunk: from the 512 bytes of its first read,
// a 1 MB JSON batch took 2 058 recvmsg calls and ~20 ms to arrive over
// loopback (a plain reader takes ~1 ms).
constexpr std::size_t kBodyReadBytes = 64 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool valid_request_id(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// Fills the request from the header; an error when the target is not a path.
Result<void> read_header(const http::request_parser<http::buffer_body>::value_type& h, ApiRequest& req) {
  req.method = std::string(h.method_string());
  auto incoming_id = h["X-Request-Id"];
  req.request_id = valid_request_id(incoming_id) ? std::string(incoming_id) : new_request_id();
  req.authorization = std::string(h[http::field::authorization]);
  req.idempotency_key = std::string(h["Idempotency-Key"]);
  for (std::string_view name : {"x-api-key", "correlation-id", "last-event-id", "if-none-match"})
    if (auto v = h[boost::beast::string_view(name.data(), name.size())]; !v.empty())
      req.headers.emplace(std::string(name), std::string(v));
  std::string ct = lower(h[http::field::content_type]);
  if (auto semi = ct.find(';'); semi != std::string::npos) ct.resize(semi);
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  req.content_type = ct;
  return read_target(std::string_view(h.target().data(), h.target().size()), req);
}

http::response<http::string_body> to_http(ApiResponse res, const std::string& request_id, bool keep_alive) {
  http::response<http::string_body> out{static_cast<http::status>(res.status), 11};
  out.set(http::field::server, "crier");
  if (!res.content_type.empty()) out.set(http::field::content_type, res.content_type);
  out.set("X-Request-Id", request_id);
  for (const auto& [k, v] : res.headers) out.set(k, v);
  out.body() = std::move(res.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

// Where a body stands against its deadline and the minimum rate.
struct BodyClock {
  std::chrono::steady_clock::time_point deadline, window_start;
  std::size_t window_bytes = 0;
  std::size_t total_bytes = 0;  // the whole body's, for the request's record
};

}  // namespace

struct Server::Impl {
  Router& router;
  ServerOptions options;
  asio::io_context io;
  asio::thread_pool writers;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  bool started = false;
  std::atomic<std::size_t> connections{0}, refusing{0};
  std::atomic<std::int64_t> last_refusal_log_ms{0};

  Impl(Router& r, ServerOptions o)
      : router(r), options(std::move(o)), io(static_cast<int>(std::max(1u, options.io_threads))),
        writers(std::max(1u, options.writer_threads)) {}

  // Runs f on the writer pool and resumes here with its result.
  template <typename F>
  asio::awaitable<std::invoke_result_t<F>> on_writer(F f) {
    using R = std::invoke_result_t<F>;
    co_return co_await asio::co_spawn(
        writers, [&]() -> asio::awaitable<R> { co_return f(); }, asio::use_awaitable);
  }

  asio::awaitable<void> accept_loop() {
    AcceptBackoff backoff;
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
      // if/else rather than `continue`: g++ 12 miscompiles some loops that
      // continue around co_await.
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        // Out of descriptors, accept fails again at once: pause, longer each
        // time in a row, so the sessions that could free some get the CPU.
        auto pause_for = backoff.after_failure();
        spdlog::warn("accept: {}; next attempt in {} ms", ec.message(), pause_for.count());
        asio::steady_timer pause(io, pause_for);
        co_await pause.async_wait(use_tuple);
      } else if (connections.load() >= options.max_connections) {
        refuse(std::move(socket));
      } else {
        backoff.after_success();
        socket.set_option(tcp::no_delay(true), ec);
        ++connections;
        asio::co_spawn(asio::make_strand(io), session(std::move(socket)), [this](std::exception_ptr e) {
          --connections;
          if (!e) return;
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            spdlog::error("connection ended by an exception: {}", ex.what());
          } catch (...) {
            spdlog::error("connection ended by an unknown exception");
          }
        });
      }
    }
  }

  // Over max_connections: a 503 and a close, without reading the request.
  void refuse(tcp::socket socket) {
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now().time_since_epoch()).count();
    if (auto last = last_refusal_log_ms.load(); now_ms - last >= 1000 && last_refusal_log_ms.compare_exchange_strong(last, now_ms))
      spdlog::warn("{} connections open, the limit (server.max_connections): refusing new ones", options.max_connections);
    if (refusing.load() >= kMaxRefusing) return;  // the socket closes here
    ++refusing;
    asio::co_spawn(asio::make_strand(io), answer_refused(std::move(socket)), [this](std::exception_ptr) { --refusing; });
  }

  asio::awaitable<void> answer_refused(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    std::string id = new_request_id();
    auto res = error_response(
        make_error(ErrorKind::unavailable, "too_many_connections",
                   fmt::format("the server has {} connections open, its limit; retry later", options.max_connections)),
        id);
    res.headers.emplace_back("Retry-After", "1");
    auto out = to_http(std::move(res), id, false);
    stream.expires_after(std::chrono::seconds(2));
    auto [ec, n] = co_await http::async_write(stream, out, use_tuple);
    if (!ec) co_await linger(stream, std::chrono::seconds(1), 64 * 1024);
  }

  asio::awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    std::vector<char> chunk;  // while a body is read
    for (;;) {
      // Waiting for a request is the idle timeout; its first byte starts
      // the request's own deadline.
      if (buffer.size() == 0) {
        stream.expires_after(options.idle_timeout);
        auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_tuple);
        if (ec) break;
        buffer.commit(n);
      }
      BodyClock clock;
      clock.window_start = std::chrono::steady_clock::now();
      clock.deadline = clock.window_start + options.request_timeout;
      http::request_parser<http::buffer_body> parser;
      parser.body_limit(boost::none);  // enforced below, per kind of body
      parser.header_limit(64 * 1024);
      stream.expires_at(clock.deadline);
      auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
      if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == beast::error::timeout ||
          ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
        break;
      ApiRequest req;
      ApiResponse res;
      bool keep_alive = false;
      auto started_at = std::chrono::steady_clock::now();
      if (ec) {
        req.request_id = new_request_id();
        res = error_response(make_error(ErrorKind::invalid, "invalid_http", "malformed HTTP request: " + ec.message()),
                             req.request_id);
      } else {
        const auto& h = parser.get();
        keep_alive = h.keep_alive();
        if (auto r = read_header(h, req); !r) {
          res = router.error_answer(r.error(), req);
          keep_alive = false;
        } else if (auto denied = router.authenticate_headers(req)) {
          // Before the body is read: an unauthenticated client gets no
          // buffer and no time beyond its headers.
          res = std::move(*denied);
          keep_alive = keep_alive && parser.is_done();
        } else {
          clock.window_start = std::chrono::steady_clock::now();  // the body's rate is judged from here
          if (lower(h[http::field::expect]) == "100-continue" && !parser.is_done()) {
            http::response<http::empty_body> cont{http::status::continue_, 11};
            co_await http::async_write(stream, cont, use_tuple);
          }
          // The router catches what its handlers throw; this catches what a
          // body stream's feed, finish or abort throws, so every request is
          // answered and logged.
          try {
            if (router.wants_stream(req)) {
              co_await serve_stream(stream, buffer, parser, chunk, clock, req, res, keep_alive);
            } else {
              co_await serve_buffered(stream, buffer, parser, chunk, clock, req, res, keep_alive);
            }
          } catch (...) {
            res = router.exception_answer(req, "serving the request");
            keep_alive = false;
          }
          chunk = {};
        }
      }

      if (res.stream) {
        // A stream (Server-Sent Events) ends its connection.
        auto record = co_await write_stream(stream, req, std::move(res), options.stream_write_timeout);
        record.took = std::chrono::steady_clock::now() - started_at;
        record_request(router.context().metrics, req, record);
        break;
      }
      RequestRecord record{res.status, {}, clock.total_bytes, res.body.size()};
      auto out = to_http(std::move(res), req.request_id, keep_alive);
      // A HEAD answer has the headers a GET would have, its Content-Length
      // included, and no body: bytes after the head would be read by the
      // client as the start of the next answer on this connection.
      if (req.method == "HEAD") {
        auto length = out.body().size();
        out.body().clear();
        out.content_length(length);
      }
      stream.expires_after(options.idle_timeout);
      auto [wec, wn] = co_await http::async_write(stream, out, use_tuple);
      record.took = std::chrono::steady_clock::now() - started_at;
      record_request(router.context().metrics, req, record);
      if (wec || !keep_alive) break;
      // An idle connection keeps no body-sized buffer (what is left of a
      // pipelined request stays).
      if (buffer.capacity() > 4096) buffer.shrink_to_fit();
    }
    co_await linger(stream);
  }

  // Closes the way nginx's lingering_close does: stop sending, then read and
  // drop what the client still sends (bounded in bytes and time). Closing
  // with unread bytes would send a reset that can destroy the answer (a 413,
  // say) before the client reads it.
  asio::awaitable<void> linger(beast::tcp_stream& stream, std::chrono::seconds limit = std::chrono::seconds(2),
                               std::size_t max_bytes = 8u << 20) {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) co_return;
    std::array<char, 16384> scratch;
    std::size_t drained = 0;
    stream.expires_after(limit);
    while (drained < max_bytes) {
      auto [rec, n] = co_await stream.async_read_some(asio::buffer(scratch), use_tuple);
      if (rec) break;
      drained += n;
    }
  }

  Error too_slow(const BodyClock& clock) const {
    if (std::chrono::steady_clock::now() >= clock.deadline)
      return make_error(ErrorKind::timeout, "request_timeout",
                        fmt::format("the request did not arrive within {} s (server.request_timeout)",
                                    options.request_timeout.count()));
    return make_error(ErrorKind::timeout, "request_timeout",
                      fmt::format("the body arrived at less than {} bytes/s over {} s (server.min_body_rate)",
                                  options.min_body_rate, options.min_rate_window.count()));
  }

  // Reads the next piece of the body into `chunk` (allocated here, on the
  // first piece); returns bytes read, or an error: the client went away,
  // sent a malformed body, or was too slow (the request's deadline, or less
  // than the minimum rate over a window: 408, answered on an open socket).
  asio::awaitable<Result<std::size_t>> read_chunk(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                                  http::request_parser<http::buffer_body>& parser,
                                                  std::vector<char>& chunk, BodyClock& clock) {
    using Clock = std::chrono::steady_clock;
    if (chunk.empty()) {
      auto len = parser.content_length_remaining();
      chunk.resize(len ? std::clamp<std::size_t>(*len, 1, kChunkBytes) : kChunkBytes);
    }
    auto& body = parser.get().body();
    body.data = chunk.data();
    body.size = chunk.size();
    if (buffer.capacity() < kBodyReadBytes) buffer.reserve(kBodyReadBytes);
    // A watchdog on the strand cancels the read at the next check point (end
    // of a rate window, or the deadline), leaving the socket open for a 408;
    // Beast's own timeout, later, is only a backstop (it closes the socket).
    // `generation` tells a late watchdog that its read is over.
    auto generation = std::make_shared<unsigned>(0);
    asio::steady_timer watchdog(co_await asio::this_coro::executor);
    const auto window = options.min_rate_window;
    const std::size_t window_min = options.min_body_rate * static_cast<std::size_t>(window.count());
    std::optional<Error> failed;
    while (!parser.is_done() && body.size > 0) {
      auto now = Clock::now();
      if (now >= clock.deadline) {
        failed = too_slow(clock);
        break;
      }
      if (now >= clock.window_start + window) {
        if (clock.window_bytes < window_min) {
          failed = too_slow(clock);
          break;
        }
        clock.window_start = now;
        clock.window_bytes = 0;
      }
      auto wake = std::min(clock.deadline, clock.window_start + window);
      watchdog.expires_at(wake);
      unsigned mine = ++*generation;
      watchdog.async_wait([generation, mine, &stream](boost::system::error_code ec) {
        if (!ec && *generation == mine) stream.cancel();
      });
      stream.expires_at(wake + std::chrono::seconds(5));
      std::size_t before = body.size;
      auto [ec, n] = co_await http::async_read_some(stream, buffer, parser, use_tuple);
      ++*generation;
      watchdog.cancel();
      clock.window_bytes += before - body.size;
      clock.total_bytes += before - body.size;
      if (ec == http::error::need_buffer) break;
      // if/else rather than `continue` (g++ 12, see accept_loop): a read the
      // watchdog cancelled is judged at the top of the loop.
      if (ec && !(ec == asio::error::operation_aborted && Clock::now() >= wake)) {
        failed = make_error(ErrorKind::invalid, "incomplete_body", "the request body ended early: " + ec.message());
        break;
      }
    }
    ++*generation;
    if (failed) co_return *failed;
    co_return chunk.size() - body.size;
  }

  asio::awaitable<void> serve_buffered(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                       http::request_parser<http::buffer_body>& parser,
                                       std::vector<char>& chunk, BodyClock& clock, ApiRequest& req,
                                       ApiResponse& res, bool& keep_alive) {
    const std::size_t limit = router.context().limits.max_body_bytes;
    if (auto len = parser.content_length(); len && *len > limit) {
      res = router.error_answer(make_error(ErrorKind::too_large, "body_too_large",
                                           fmt::format("the body is {} bytes; the limit is {} (stream users as NDJSON or CSV for more)", *len, limit)),
                                req);
      keep_alive = false;
      co_return;
    }
    // Reserved as the bytes arrive, not from what Content-Length promises.
    if (auto len = parser.content_length()) req.body.reserve(std::min<std::size_t>(*len, kBodyReserveBytes) + kJsonPadding);
    while (!parser.is_done()) {
      auto got = co_await read_chunk(stream, buffer, parser, chunk, clock);
      if (!got) {
        res = router.error_answer(got.error(), req);
        keep_alive = false;
        co_return;
      }
      if (req.body.size() + *got > limit) {
        res = router.error_answer(make_error(ErrorKind::too_large, "body_too_large",
                                             fmt::format("the body is over the {} byte limit", limit)),
                                  req);
        keep_alive = false;
        co_return;
      }
      req.body.append(chunk.data(), *got);
    }
    req.body.reserve(req.body.size() + kJsonPadding);
    if (req.method == "GET" || req.method == "HEAD")
      res = router.handle(req);
    else
      res = co_await on_writer([&] { return router.handle(req); });
  }

  asio::awaitable<void> serve_stream(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                     http::request_parser<http::buffer_body>& parser,
                                     std::vector<char>& chunk, BodyClock& clock, ApiRequest& req,
                                     ApiResponse& res, bool& keep_alive) {
    auto opened = co_await on_writer([&] { return router.open_stream(req); });
    if (auto* early = std::get_if<ApiResponse>(&opened)) {
      res = std::move(*early);
      keep_alive = keep_alive && parser.is_done();  // an unread body ends the connection
      co_return;
    }
    auto body = std::move(std::get<std::unique_ptr<BodyStream>>(opened));
    while (!parser.is_done()) {
      auto got = co_await read_chunk(stream, buffer, parser, chunk, clock);
      if (!got) {
        res = body->abort(got.error());
        keep_alive = false;
        co_return;
      }
      if (*got > 0) {  // not `continue` (g++ 12, see accept_loop)
        auto fed = co_await on_writer([&] { return body->feed({chunk.data(), *got}); });
        // The time the server took to take the chunk is not the client's.
        clock.window_start = std::chrono::steady_clock::now();
        clock.window_bytes = 0;
        if (!fed) {
          res = body->abort(fed.error());
          keep_alive = false;
          co_return;
        }
      }
    }
    res = co_await on_writer([&] { return body->finish(); });
  }
};

Server::Server(Router& router, ServerOptions options)
    : impl_(std::make_unique<Impl>(router, std::move(options))) {}

Server::~Server() { stop(); }

Result<unsigned short> Server::start() {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(impl_->options.host, ec);
  if (ec) return make_error(ErrorKind::invalid, "invalid_listen", "cannot parse listen address " + impl_->options.host);
  tcp::endpoint endpoint(address, impl_->options.port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(ErrorKind::internal, "listen_failed",
                      fmt::format("cannot listen on {}:{}: {}", impl_->options.host, impl_->options.port, ec.message()));
  unsigned short port = acceptor.local_endpoint().port();
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  for (unsigned i = 0; i < std::max(1u, impl_->options.io_threads); ++i)
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  impl_->started = true;
  return port;
}

void Server::stop() {
  if (!impl_ || !impl_->started) return;
  impl_->started = false;
  asio::post(impl_->io, [this] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
  });
  impl_->io.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  impl_->writers.join();
}

}  // namespace crier::api
