#include "tests/support/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <stdexcept>
#include <thread>

namespace crier::testing {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Errors that mean "the server had closed this idle connection".
bool stale_connection(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted;
}

}  // namespace

// ---- HttpResponse ------------------------------------------------------------

std::string HttpResponse::header(std::string_view name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

boost::json::value HttpResponse::json() const {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec) throw std::runtime_error(fmt::format("response is not JSON ({}): {}", ec.message(), describe()));
  return v;
}

boost::json::object HttpResponse::object() const {
  auto v = json();
  if (!v.is_object()) throw std::runtime_error("response is not a JSON object: " + describe());
  return std::move(v.as_object());
}

std::string HttpResponse::error_code() const {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return {};
  auto* e = v.as_object().if_contains("error");
  if (!e || !e->is_object()) return {};
  auto* code = e->as_object().if_contains("code");
  return code && code->is_string() ? std::string(code->as_string()) : std::string();
}

std::string HttpResponse::describe() const {
  constexpr std::size_t kMax = 2000;
  return fmt::format("{} {}", status, body.size() > kMax ? body.substr(0, kMax) + "..." : body);
}

// ---- HttpClient --------------------------------------------------------------

struct HttpClient::Impl {
  unsigned short port;
  std::string api_key;
  std::chrono::milliseconds timeout;
  asio::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  int opened = 0;

  // Runs the pending asynchronous operation to completion; the stream's
  // expiry bounds it.
  void run() {
    io.restart();
    io.run();
  }

  void connect() {
    stream.emplace(io);
    buffer.clear();
    beast::error_code result;
    stream->expires_after(timeout);
    stream->async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                          [&](beast::error_code ec) { result = ec; });
    run();
    if (result) {
      stream.reset();
      throw std::runtime_error(fmt::format("cannot connect to 127.0.0.1:{}: {}", port, result.message()));
    }
    stream->socket().set_option(tcp::no_delay(true));
    ++opened;
  }

  void disconnect() {
    if (!stream) return;
    beast::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream->socket().close(ignored);
    stream.reset();
    buffer.clear();
  }

  // One attempt. Returns false (and disconnects) when a reused connection
  // turned out to be closed before any of the answer arrived.
  bool attempt(http::request<http::string_body>& req, HttpResponse& out) {
    const bool reused = stream.has_value();
    if (!stream) connect();
    beast::error_code result;
    stream->expires_after(timeout);
    http::async_write(*stream, req, [&](beast::error_code ec, std::size_t) { result = ec; });
    run();
    if (result) {
      disconnect();
      if (reused && stale_connection(result)) return false;
      throw std::runtime_error(fmt::format("{} {}: write failed: {}", std::string(req.method_string()),
                                           std::string(req.target()), result.message()));
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    parser.header_limit(64 * 1024);
    stream->expires_after(timeout);
    http::async_read(*stream, buffer, parser, [&](beast::error_code ec, std::size_t) { result = ec; });
    run();
    if (result) {
      bool got_some = parser.got_some();
      disconnect();
      if (reused && !got_some && stale_connection(result)) return false;
      throw std::runtime_error(fmt::format("{} {}: no answer: {}", std::string(req.method_string()),
                                           std::string(req.target()), result.message()));
    }
    auto res = parser.release();
    out.status = static_cast<int>(res.result_int());
    out.body = std::move(res.body());
    out.headers.clear();
    for (const auto& field : res) out.headers[lower(field.name_string())] = std::string(field.value());
    if (!res.keep_alive()) disconnect();
    return true;
  }
};

HttpClient::HttpClient(unsigned short port, std::string api_key, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->port = port;
  impl_->api_key = std::move(api_key);
  impl_->timeout = timeout;
}

HttpClient::~HttpClient() {
  if (impl_) impl_->disconnect();
}

HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

HttpResponse HttpClient::request(std::string_view method, std::string_view target, std::string_view body,
                                 const HeaderList& headers) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, fmt::format("127.0.0.1:{}", impl_->port));
  req.set(http::field::user_agent, "crier-e2e-test");
  bool own_auth = std::any_of(headers.begin(), headers.end(),
                              [](const auto& h) { return lower(h.first) == "authorization"; });
  if (!own_auth && !impl_->api_key.empty()) req.set(http::field::authorization, "Bearer " + impl_->api_key);
  for (const auto& [name, value] : headers) req.insert(name, value);
  req.body() = std::string(body);
  // Always a Content-Length, so POST /run with no body is well-formed.
  req.prepare_payload();
  req.keep_alive(true);

  HttpResponse out;
  for (int tries = 0;; ++tries) {
    if (impl_->attempt(req, out)) return out;
    if (tries >= 1)
      throw std::runtime_error(fmt::format("{} {}: the server closed the connection twice", std::string(method),
                                           std::string(target)));
  }
}

HttpResponse HttpClient::get(std::string_view target, const HeaderList& headers) {
  return request("GET", target, {}, headers);
}

HttpResponse HttpClient::del(std::string_view target, const HeaderList& headers) {
  return request("DELETE", target, {}, headers);
}

HttpResponse HttpClient::post_json(std::string_view target, const boost::json::value& body, const HeaderList& headers) {
  HeaderList h = headers;
  h.emplace_back("Content-Type", "application/json");
  return request("POST", target, boost::json::serialize(body), h);
}

HttpResponse HttpClient::put_json(std::string_view target, const boost::json::value& body, const HeaderList& headers) {
  HeaderList h = headers;
  h.emplace_back("Content-Type", "application/json");
  return request("PUT", target, boost::json::serialize(body), h);
}

HttpResponse HttpClient::post(std::string_view target, std::string_view body, std::string_view content_type,
                              const HeaderList& headers) {
  HeaderList h = headers;
  if (!content_type.empty()) h.emplace_back("Content-Type", std::string(content_type));
  return request("POST", target, body, h);
}

void HttpClient::disconnect() { impl_->disconnect(); }

int HttpClient::connections_opened() const { return impl_->opened; }

// ---- polling -------------------------------------------------------------------

bool poll_until(std::chrono::milliseconds timeout, const std::function<bool()>& done,
                std::chrono::milliseconds interval) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace crier::testing
