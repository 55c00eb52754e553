#include "sink/webhook_sink.h"

#include "sink/arrival_counter.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "workers/webhook_signature.h"

namespace crier {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string_view SinkRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (beast::iequals(k, name)) return v;
  return {};
}

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// What to answer, and how long to hold the answer back.
struct Answer {
  Response response;
  std::chrono::milliseconds delay{0};
};

Response json_response(http::status status, std::string body) {
  Response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

std::uint64_t hash_of(std::string_view s) { return std::hash<std::string_view>{}(s); }

std::int64_t unix_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

struct WebhookSink::Impl {
  SinkOptions options;
  mutable std::mutex signers_mu;
  std::vector<WebhookSigner> signers;  // a signature by any of them verifies
  unsigned short port = 0;
  std::atomic<std::uint64_t> connections{0};

  mutable std::mutex mu;  // guards everything below it
  SinkStats counts;       // `connections` lives in the atomic above
  std::unordered_set<std::uint64_t> delivered;           // hashes of ids answered 2xx
  std::unordered_map<std::uint64_t, int> attempts;       // per id, while fail_first is on
  std::deque<SinkRequest> recent;
  ArrivalCounter arrivals;  // of 2xx answers

  // Reset together by stop(): every session dies with its io_context.
  std::optional<asio::io_context> io;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;

  explicit Impl(SinkOptions o) : options(std::move(o)) {}

  SinkStats snapshot() const {
    std::lock_guard lock(mu);
    SinkStats s = counts;
    s.connections = connections.load();
    s.max_1s_window = arrivals.max_window(1000);
    return s;
  }

  std::string stats_json() const {
    SinkStats s = snapshot();
    json::object paths;
    for (const auto& [p, n] : s.paths) paths[p] = n;
    return json::serialize(json::object{{"requests", s.requests},
                                        {"accepted", s.accepted},
                                        {"unique", s.unique},
                                        {"duplicates", s.duplicates},
                                        {"bad_signatures", s.bad_signatures},
                                        {"injected_failures", s.injected_failures},
                                        {"connections", s.connections},
                                        {"max_1s_window", s.max_1s_window},
                                        {"paths", std::move(paths)}});
  }

  std::string requests_json() const {
    json::array out;
    std::lock_guard lock(mu);
    for (const auto& r : recent) {
      json::object headers;
      for (const auto& [k, v] : r.headers) headers[k] = v;
      out.push_back(json::object{{"method", r.method},
                                 {"target", r.target},
                                 {"headers", std::move(headers)},
                                 {"body", r.body},
                                 {"message_id", r.message_id},
                                 {"status", r.status}});
    }
    return json::serialize(out);
  }

  void reset() {
    std::lock_guard lock(mu);
    counts = {};
    arrivals.clear();
    delivered.clear();
    attempts.clear();
    recent.clear();
    connections = 0;
  }

  // The whole decision for one request: no I/O, so the rules read plainly.
  Answer handle(const Request& req) {
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    if (path.substr(0, 7) == "/_sink/") return {admin(req, path)};
    if (req.method() != http::verb::post) {
      auto res = json_response(http::status::method_not_allowed, R"({"error":"method_not_allowed"})");
      res.set(http::field::allow, "POST");
      return {std::move(res)};
    }

    std::string_view id = req["webhook-id"];
    if (id.empty()) id = req["X-Crier-Message-Id"];
    const std::uint64_t key = hash_of(id.empty() ? std::string_view(req.body()) : id);
    int status = 200;
    std::string error;
    if (auto refused = verify(req)) {
      status = 401;
      error = std::move(*refused);
    }

    std::lock_guard lock(mu);
    ++counts.requests;
    ++counts.paths[std::string(path)];
    if (status == 401) {
      ++counts.bad_signatures;
    } else if (options.fail_first > 0 && ++attempts[key] <= options.fail_first) {
      status = options.fail_status;
      error = "injected_failure";
      ++counts.injected_failures;
    } else if (!options.permanent_marker.empty() && req.body().find(options.permanent_marker) != std::string::npos) {
      status = options.permanent_status;
      error = "permanent_marker";
      ++counts.injected_failures;
    }
    if (status >= 200 && status < 300) {
      ++counts.accepted;
      arrivals.add(std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now().time_since_epoch()).count());
      if (!id.empty()) ++(delivered.insert(key).second ? counts.unique : counts.duplicates);
    }
    if (options.keep_requests > 0) record(req, id, status);

    Answer a{json_response(static_cast<http::status>(status),
                           error.empty() ? R"({"ok":true})" : fmt::format(R"({{"error":"{}"}})", error)),
             options.response_delay};
    if (!error.empty() && error == "injected_failure" && options.retry_after_s > 0)
      a.response.set(http::field::retry_after, std::to_string(options.retry_after_s));
    return a;
  }

  // Under mu.
  void record(const Request& req, std::string_view id, int status) {
    SinkRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    for (const auto& f : req) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    r.body = req.body();
    r.message_id = std::string(id);
    r.status = status;
    recent.push_back(std::move(r));
    while (recent.size() > options.keep_requests) recent.pop_front();
  }

  Response admin(const Request& req, std::string_view path) {
    if (path == "/_sink/stats" && req.method() == http::verb::get) return json_response(http::status::ok, stats_json());
    if (path == "/_sink/requests" && req.method() == http::verb::get)
      return json_response(http::status::ok, requests_json());
    if (path == "/_sink/reset" && req.method() == http::verb::post) {
      reset();
      return json_response(http::status::ok, R"({"ok":true})");
    }
    return json_response(http::status::not_found, R"({"error":"not_found"})");
  }

  asio::awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    // Room for a whole request: Beast reads at least what the buffer has
    // room for, and from an empty buffer only 512 bytes, which split every
    // webhook delivery (about 560 bytes) into two reads.
    beast::flat_buffer buffer;
    buffer.reserve(4096);
    for (;;) {
      stream.expires_after(std::chrono::seconds(120));  // an idle keep-alive client goes eventually
      http::request_parser<http::string_body> parser;
      parser.body_limit(options.max_body_bytes);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
      if (ec) break;
      Request req = parser.release();
      Answer a = handle(req);
      if (a.delay.count() > 0) {
        asio::steady_timer timer(stream.get_executor(), a.delay);
        co_await timer.async_wait(use_tuple);
      }
      a.response.keep_alive(req.keep_alive());
      a.response.prepare_payload();
      stream.expires_after(std::chrono::seconds(30));
      auto [wec, wn] = co_await http::async_write(stream, a.response, use_tuple);
      if (wec || !a.response.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> accept_loop() {
    while (acceptor->is_open()) {
      auto [ec, socket] = co_await acceptor->async_accept(asio::make_strand(*io), use_tuple);
      if (ec == asio::error::operation_aborted) break;
      // No `continue` around co_await (g++ 12); on an error (e.g. out of
      // descriptors) wait a little, then accept again.
      if (ec) {
        asio::steady_timer pause(*io, std::chrono::milliseconds(50));
        co_await pause.async_wait(use_tuple);
      } else {
        ++connections;
        socket.set_option(tcp::no_delay(true), ec);
        auto executor = socket.get_executor();
        asio::co_spawn(executor, session(std::move(socket)), [](std::exception_ptr e) {
          if (e) spdlog::warn("sink: a connection ended with an exception");
        });
      }
    }
  }

  // The error code when the signing secrets are set and none verifies the
  // request's signature; nullopt when it verifies or nothing is checked.
  std::optional<std::string> verify(const http::request<http::string_body>& req) const {
    std::lock_guard lock(signers_mu);
    if (signers.empty()) return std::nullopt;
    std::optional<std::string> first_error;
    for (const auto& signer : signers) {
      auto v = signer.verify(req["webhook-id"], req["webhook-timestamp"], req["webhook-signature"], req.body(),
                             unix_now_s(), options.tolerance_s);
      if (v) return std::nullopt;
      if (!first_error) first_error = v.error().code;
    }
    return first_error;
  }
};

WebhookSink::WebhookSink(SinkOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

WebhookSink::~WebhookSink() { stop(); }

Result<void> WebhookSink::add_secret(std::string_view secret) {
  auto signer = WebhookSigner::from_secret(secret);
  if (!signer) return signer.error();
  std::lock_guard lock(impl_->signers_mu);
  impl_->signers.push_back(std::move(*signer));
  return {};
}

Result<unsigned short> WebhookSink::start() {
  auto& d = *impl_;
  if (!d.options.secret.empty())
    if (auto r = add_secret(d.options.secret); !r) return r.error();
  for (const auto& secret : d.options.more_secrets)
    if (auto r = add_secret(secret); !r) return r.error();
  unsigned threads = std::max(1u, d.options.threads);
  d.io.emplace(static_cast<int>(threads));
  boost::system::error_code ec;
  auto address = asio::ip::make_address(d.options.host, ec);
  if (ec) return make_error(ErrorKind::invalid, "listen_failed", fmt::format("not an IP address: '{}'", d.options.host));
  tcp::endpoint endpoint(address, d.options.port);
  d.acceptor.emplace(*d.io);
  d.acceptor->open(endpoint.protocol(), ec);
  if (!ec) d.acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) d.acceptor->bind(endpoint, ec);
  if (!ec) d.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    d.acceptor.reset();
    d.io.reset();
    return make_error(ErrorKind::unavailable, "listen_failed",
                      fmt::format("cannot listen on {}:{}: {}", d.options.host, d.options.port, ec.message()));
  }
  d.port = d.acceptor->local_endpoint().port();
  asio::co_spawn(*d.io, d.accept_loop(), [](std::exception_ptr e) {
    if (e) spdlog::error("sink: the accept loop ended with an exception");
  });
  for (unsigned i = 0; i < threads; ++i) d.threads.emplace_back([&d] { d.io->run(); });
  return d.port;
}

unsigned short WebhookSink::port() const { return impl_->port; }

std::string WebhookSink::url(std::string_view path) const {
  return fmt::format("http://{}:{}{}", impl_->options.host, impl_->port, path);
}

void WebhookSink::stop() {
  auto& d = *impl_;
  if (!d.io) return;
  d.io->stop();
  for (auto& t : d.threads) t.join();
  d.threads.clear();
  // Destroying the io_context destroys every session, closing its socket.
  d.acceptor.reset();
  d.io.reset();
}

SinkStats WebhookSink::stats() const { return impl_->snapshot(); }

std::vector<SinkRequest> WebhookSink::requests() const {
  std::lock_guard lock(impl_->mu);
  return {impl_->recent.begin(), impl_->recent.end()};
}

void WebhookSink::reset() { impl_->reset(); }

std::string WebhookSink::stats_json() const { return impl_->stats_json(); }

}  // namespace crier
