#include "workers/http_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cctype>
#include <deque>
#include <map>
#include <optional>
#include <thread>

#include "workers/thread_priority.h"

namespace crier {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string_view HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (beast::iequals(k, name)) return v;
  return {};
}

namespace {

Error transport_error(std::string code, std::string message) {
  return make_error(ErrorKind::unavailable, std::move(code), std::move(message));
}

// Where a request goes: the pool key and what the wire needs.
struct Target {
  bool tls = false;
  std::string host;         // for resolving, SNI and certificate checks (no brackets)
  std::string port;
  std::string host_header;  // host[:port] as the URL spelled it
  std::string path;         // origin-form: path and query
  std::string origin;       // scheme://host:port, the pool key
};

Result<Target> parse_target(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return make_error(ErrorKind::invalid, "invalid_url", fmt::format("not an absolute URL: '{}'", url));
  const auto& u = *parsed;
  Target t;
  if (u.scheme_id() == boost::urls::scheme::https) t.tls = true;
  else if (u.scheme_id() != boost::urls::scheme::http)
    return make_error(ErrorKind::invalid, "invalid_url", fmt::format("not an http(s) URL: '{}'", url));
  t.host = std::string(u.host_address());
  if (t.host.empty()) return make_error(ErrorKind::invalid, "invalid_url", fmt::format("no host in '{}'", url));
  t.port = u.has_port() ? std::string(u.port()) : (t.tls ? "443" : "80");
  t.host_header = std::string(u.encoded_host_and_port());
  t.path = std::string(u.encoded_target());
  if (t.path.empty() || t.path.front() != '/') t.path.insert(0, "/");
  t.origin = fmt::format("{}://{}:{}", t.tls ? "https" : "http", u.encoded_host(), t.port);
  return t;
}

EgressPolicy::Address address_of(const asio::ip::address& a) {
  EgressPolicy::Address out{};
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    out[10] = out[11] = 0xff;
    std::copy(b.begin(), b.end(), out.begin() + 12);
  } else {
    auto b = a.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), out.begin());
  }
  return out;
}

// A server closed a kept-alive connection before (or while) we reused it.
bool stale(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted ||
         ec == ssl::error::stream_truncated;
}

struct Connection {
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  Clock::time_point idle_since;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};
using ConnectionPtr = std::unique_ptr<Connection>;

// Someone waiting for a permit; granted by cancelling its timer.
struct Waiter {
  asio::steady_timer timer;
  bool granted = false;
  ConnectionPtr conn;  // a kept-alive connection handed over, or null: open one
};

// One origin's pool. `open` counts permits: connections open, being opened,
// or in use; it never exceeds the limit.
struct Origin {
  std::size_t open = 0;
  std::deque<ConnectionPtr> idle;  // most recently used at the back
  std::deque<Waiter*> waiters;
};

// The result of one write + read on a connection.
struct Exchange {
  std::optional<Error> error;  // no connection could be opened
  beast::error_code ec;
  bool got_some = false;  // part of an answer arrived: not a stale connection
  bool keep_alive = false;
  HttpResponse response;
};

}  // namespace

struct PooledHttpClient::Impl {
  HttpClientOptions options;
  ssl::context tls_context{ssl::context::tls_client};
  std::atomic<std::uint64_t> requests{0}, connections_opened{0}, reused{0}, stale_retries{0};
  bool closing = false;
  std::map<std::string, Origin> origins;  // touched on the io thread only
  Clock::time_point next_sweep = Clock::now();
  // Declared last: destroyed first, while the pools it may still touch exist.
  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;

  explicit Impl(HttpClientOptions o) : options(std::move(o)) {
    if (options.max_connections_per_origin == 0) options.max_connections_per_origin = 1;
    boost::system::error_code ec;
    tls_context.set_default_verify_paths(ec);
    if (ec) spdlog::warn("http client: no system trust store ({}); https peers will fail", ec.message());
    tls_context.set_verify_mode(ssl::verify_peer);
    work.emplace(io.get_executor());
    thread = std::thread([this] {
      // Named, but not lowered: this thread trades requests and answers
      // with the receivers, and niced it was preempted by a receiver on the
      // same machine at every request (-13 % to `crier sink` on loopback).
      for (;;) {
        try {
          io.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("http client: {}", e.what());
        }
      }
    });
    // Named from here, so the name is there when the constructor returns.
    name_thread(thread, "crier-client");
  }

  ~Impl() {
    work.reset();
    io.stop();
    if (thread.joinable()) thread.join();
    // Pending coroutines die with io: their leases must not wake anyone.
    closing = true;
    for (auto& [key, o] : origins) {
      o.idle.clear();
      o.waiters.clear();
    }
  }

  // A permit for one connection of an origin, given back (with the
  // connection, if it may be reused) on destruction.
  class Lease {
   public:
    Lease(Impl* impl, Origin* origin, ConnectionPtr conn) : impl_(impl), origin_(origin), conn(std::move(conn)) {}
    Lease(Lease&& o) noexcept : impl_(std::exchange(o.impl_, nullptr)), origin_(o.origin_), conn(std::move(o.conn)) {}
    Lease& operator=(Lease&&) = delete;
    bool is_for(const Origin& o) const { return origin_ == &o; }
    ~Lease() {
      if (impl_) impl_->release(*origin_, std::move(conn));
    }

   private:
    Impl* impl_;
    Origin* origin_;

   public:
    ConnectionPtr conn;
  };

  void release(Origin& o, ConnectionPtr c) {
    if (closing) return;
    if (!o.waiters.empty()) {
      Waiter* w = o.waiters.front();
      o.waiters.pop_front();
      w->conn = std::move(c);
      w->granted = true;
      w->timer.cancel();
      return;
    }
    if (c) {
      c->idle_since = Clock::now();
      o.idle.push_back(std::move(c));
    } else {
      --o.open;
    }
  }

  // Closes connections idle too long and forgets origins nobody uses, so a
  // job with many distinct webhook hosts does not keep a socket per host.
  void sweep_idle() {
    const auto now = Clock::now();
    if (now < next_sweep) return;
    next_sweep = now + options.idle_timeout;
    for (auto it = origins.begin(); it != origins.end();) {
      Origin& o = it->second;
      while (!o.idle.empty() && now - o.idle.front()->idle_since > options.idle_timeout) {
        o.idle.pop_front();
        --o.open;
      }
      if (o.open == 0 && o.waiters.empty()) it = origins.erase(it);
      else ++it;
    }
  }

  asio::awaitable<Lease> acquire(Origin& o) {
    if (!o.idle.empty()) {
      ConnectionPtr c = std::move(o.idle.back());
      o.idle.pop_back();
      // Too long idle: the server has likely dropped it; its permit opens a new one.
      if (Clock::now() - c->idle_since > options.idle_timeout) c.reset();
      co_return Lease(this, &o, std::move(c));
    }
    if (o.open < options.max_connections_per_origin) {
      ++o.open;
      co_return Lease(this, &o, nullptr);
    }
    Waiter w{asio::steady_timer(io, Clock::time_point::max()), false, nullptr};
    o.waiters.push_back(&w);
    while (!w.granted) co_await w.timer.async_wait(use_tuple);
    co_return Lease(this, &o, std::move(w.conn));
  }

  asio::awaitable<Result<ConnectionPtr>> connect(const Target& t, Clock::time_point deadline) {
    using namespace asio::experimental::awaitable_operators;
    tcp::resolver resolver(io);
    asio::steady_timer timer(io, deadline);
    auto resolved = co_await (resolver.async_resolve(t.host, t.port, use_tuple) || timer.async_wait(use_tuple));
    if (resolved.index() == 1) co_return transport_error("timeout", fmt::format("resolving {} timed out", t.host));
    auto [rec, resolved_endpoints] = std::get<0>(resolved);
    if (rec) co_return transport_error("connect_failed", fmt::format("cannot resolve {}: {}", t.host, rec.message()));
    // Judged on the addresses connected to, not on the name: what the name
    // resolved to is what the socket uses, so no later lookup can swap it.
    // The message does not say which address: a tenant must not learn how
    // the operator's internal names resolve.
    std::vector<tcp::endpoint> endpoints;
    for (const auto& e : resolved_endpoints)
      if (!options.egress || options.egress->permits(address_of(e.endpoint().address()))) endpoints.push_back(e.endpoint());
    if (endpoints.empty())
      co_return make_error(ErrorKind::invalid, "egress_denied",
                           fmt::format("{} leads to an internal address (loopback, private, link-local...), "
                                       "which this server does not send to", t.host));

    auto c = std::make_unique<Connection>();
    if (t.tls) c->tls.emplace(io, tls_context);
    else c->plain.emplace(io);
    auto& low = c->lowest();
    low.expires_at(deadline);
    auto [cec, ep] = co_await low.async_connect(endpoints, use_tuple);
    if (cec == beast::error::timeout)
      co_return transport_error("timeout", fmt::format("connecting to {}:{} timed out", t.host, t.port));
    if (cec) co_return transport_error("connect_failed", fmt::format("cannot connect to {}:{}: {}", t.host, t.port, cec.message()));
    low.socket().set_option(tcp::no_delay(true), cec);

    if (t.tls) {
      boost::system::error_code ip_ec;
      asio::ip::make_address(t.host, ip_ec);
      // SNI is for names only (RFC 6066); the certificate is checked either way.
      if (ip_ec) SSL_set_tlsext_host_name(c->tls->native_handle(), t.host.c_str());
      c->tls->set_verify_callback(ssl::host_name_verification(t.host));
      auto [hec] = co_await c->tls->async_handshake(ssl::stream_base::client, use_tuple);
      if (hec == beast::error::timeout) co_return transport_error("timeout", "TLS handshake timed out");
      if (hec) co_return transport_error("tls_failed", fmt::format("TLS with {}: {}", t.host, hec.message()));
    }
    ++connections_opened;
    co_return std::move(c);
  }

  template <class Stream>
  asio::awaitable<Exchange> write_read(Stream& stream, Connection& c, const std::string& wire) {
    Exchange x;
    auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(wire), use_tuple);
    if (wec) {
      x.ec = wec;
      co_return x;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(options.max_response_bytes);
    auto [rec, rn] = co_await http::async_read(stream, c.buffer, parser, use_tuple);
    x.got_some = parser.got_some();
    if (rec) {
      x.ec = rec;
      co_return x;
    }
    auto res = parser.release();
    x.keep_alive = res.keep_alive();
    x.response.status = static_cast<int>(res.result_int());
    for (const auto& f : res) x.response.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    x.response.body = std::move(res.body());
    co_return x;
  }

  // One exchange on the lease's connection, opening one first if it has
  // none. On failure the connection is dropped: its state is unknown.
  asio::awaitable<Exchange> attempt(const Target& target, const std::string& wire, Lease& lease) {
    const auto deadline = Clock::now() + options.timeout;
    if (!lease.conn) {
      auto c = co_await connect(target, deadline);
      if (!c) {
        Exchange failed;
        failed.error = c.error();
        co_return failed;
      }
      lease.conn = std::move(*c);
    } else {
      ++reused;
    }
    Connection& conn = *lease.conn;
    conn.lowest().expires_at(deadline);
    // Plain statements: g++ 12 miscompiles co_await inside ?: and loops with continue.
    Exchange x;
    if (conn.tls) x = co_await write_read(*conn.tls, conn, wire);
    else x = co_await write_read(*conn.plain, conn, wire);
    if (!x.ec) {
      conn.lowest().expires_never();
      ++requests;
      if (!x.keep_alive) lease.conn.reset();
    } else {
      lease.conn.reset();
    }
    co_return x;
  }

  Error exchange_error(const Target& target, const beast::error_code& ec) const {
    if (ec == http::error::end_of_stream)
      return transport_error("network_error", fmt::format("{} closed the connection without answering", target.origin));
    if (ec == beast::error::timeout)
      return transport_error("timeout", fmt::format("no answer from {} within {} ms", target.origin, options.timeout.count()));
    if (ec.category() == http::make_error_code(http::error::bad_version).category())
      return transport_error("bad_response", fmt::format("bad answer from {}: {}", target.origin, ec.message()));
    return transport_error("network_error", fmt::format("exchange with {} failed: {}", target.origin, ec.message()));
  }

  // The request as it goes on the wire, written in one piece: cheaper than
  // Beast's message and serializer, which allocate per header field. Header
  // names and values must not break the framing.
  Result<std::string> serialize(const HttpRequest& req, const Target& target) const {
    if (req.method.empty() || req.method.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos ||
        http::string_to_verb(req.method) == http::verb::unknown)
      return make_error(ErrorKind::invalid, "invalid_method", fmt::format("unknown method '{}'", req.method));
    for (const auto& [name, value] : req.headers)
      if (name.empty() || name.find_first_of(":\r\n \t") != std::string::npos ||
          value.find_first_of("\r\n") != std::string::npos)
        return make_error(ErrorKind::invalid, "invalid_header", fmt::format("header '{}' cannot be sent", name));
    std::string wire;
    wire.reserve(128 + target.path.size() + req.body.size() + 64 * req.headers.size());
    fmt::format_to(std::back_inserter(wire), "{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\n", req.method,
                   target.path, target.host_header, options.user_agent);
    for (const auto& [name, value] : req.headers) wire.append(name).append(": ").append(value).append("\r\n");
    // A body (or an explicit empty one) for the methods that carry one.
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH")
      fmt::format_to(std::back_inserter(wire), "Content-Length: {}\r\n", req.body.size());
    wire.append("\r\n").append(req.body);
    return wire;
  }

  // One exchange, on the caller's lease when it is for the same origin (a
  // worker keeps its connection from one request to the next), else on a
  // new lease of the request's origin.
  asio::awaitable<Result<HttpResponse>> run_one(HttpRequest& req, std::optional<Lease>& lease) {
    auto target = parse_target(req.url);
    if (!target) co_return target.error();
    auto wire = serialize(req, *target);
    if (!wire) co_return wire.error();
    req.body.clear();
    req.body.shrink_to_fit();  // the wire copy is what stays alive

    sweep_idle();
    Origin& origin = origins[target->origin];
    if (lease && !lease->is_for(origin)) lease.reset();  // never hold two permits
    if (!lease) lease.emplace(co_await acquire(origin));
    const bool reusing = lease->conn != nullptr;
    Exchange x = co_await attempt(*target, *wire, *lease);
    if (reusing && !x.error && x.ec && !x.got_some && stale(x.ec)) {
      // The server had closed the kept-alive connection: once more on a new one.
      ++stale_retries;
      x = co_await attempt(*target, *wire, *lease);
    }
    if (x.error) co_return std::move(*x.error);
    if (x.ec) co_return exchange_error(*target, x.ec);
    co_return std::move(x.response);
  }

  // Runs the requests on up to max_connections_per_origin workers on the io
  // thread, each taking the next request as it finishes one (keeping its
  // connection), and waits for all.
  asio::awaitable<std::vector<Result<HttpResponse>>> run_all(std::vector<HttpRequest> reqs) {
    std::vector<std::optional<Result<HttpResponse>>> slots(reqs.size());
    std::size_t next = 0;
    const std::size_t workers = std::min(reqs.size(), options.max_connections_per_origin);
    std::size_t active = workers;
    asio::steady_timer all_done(io, Clock::time_point::max());
    for (std::size_t w = 0; w < workers; ++w) {
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            std::optional<Lease> lease;
            while (next < reqs.size()) {
              const std::size_t i = next++;
              // Nothing may escape a detached coroutine: it would end the io thread's run().
              try {
                auto result = co_await run_one(reqs[i], lease);
                slots[i].emplace(std::move(result));
              } catch (const std::exception& e) {
                slots[i].emplace(make_error(ErrorKind::internal, "internal", e.what()));
              }
            }
            lease.reset();
            if (--active == 0) all_done.cancel();
          },
          asio::detached);
    }
    while (active > 0) co_await all_done.async_wait(use_tuple);
    std::vector<Result<HttpResponse>> out;
    out.reserve(slots.size());
    for (auto& s : slots) out.push_back(std::move(*s));
    co_return out;
  }
};

PooledHttpClient::PooledHttpClient(HttpClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

PooledHttpClient::~PooledHttpClient() = default;

asio::awaitable<Result<HttpResponse>> PooledHttpClient::request(HttpRequest req) {
  std::vector<HttpRequest> one;
  one.push_back(std::move(req));
  auto results = co_await request_all(std::move(one));
  co_return std::move(results.front());
}

asio::awaitable<std::vector<Result<HttpResponse>>> PooledHttpClient::request_all(std::vector<HttpRequest> reqs) {
  // The vector (default-constructible, unlike Result) is what co_spawn hands back.
  auto results = co_await asio::co_spawn(impl_->io, impl_->run_all(std::move(reqs)), asio::use_awaitable);
  co_return results;
}

HttpClientStats PooledHttpClient::stats() const {
  return {impl_->requests.load(), impl_->connections_opened.load(), impl_->reused.load(), impl_->stale_retries.load()};
}

const HttpClientOptions& PooledHttpClient::options() const { return impl_->options; }

}  // namespace crier
