#include "app/cli/api_client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <cctype>
#include <optional>

#include "workers/http_client.h"

namespace crier::cli {

namespace json = boost::json;

json::value Reply::json() const {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  return ec ? json::value() : v;
}

json::object Reply::object() const {
  auto v = json();
  return v.is_object() ? std::move(v.as_object()) : json::object();
}

ApiClient::ApiClient(Connection connection, std::chrono::milliseconds timeout) : connection_(std::move(connection)) {
  while (!connection_.url.empty() && connection_.url.back() == '/') connection_.url.pop_back();
  HttpClientOptions options;
  options.max_connections_per_origin = 1;  // one exchange at a time
  options.timeout = timeout;
  // Listings of 1 000 users with their data can be large; the server bounds them.
  options.max_response_bytes = std::size_t{256} << 20;
  options.user_agent = "crier-cli/0.1";
  http_ = std::make_unique<PooledHttpClient>(options);
}

ApiClient::~ApiClient() = default;

Reply ApiClient::call(std::string_view method, std::string_view path, std::string body, std::string_view content_type,
                      std::vector<std::pair<std::string, std::string>> headers) {
  HttpRequest req;
  req.method = std::string(method);
  req.url = connection_.url + std::string(path);
  req.body = std::move(body);
  if (!connection_.api_key.empty()) req.headers.emplace_back("Authorization", "Bearer " + connection_.api_key);
  if (!req.body.empty() || method == "POST" || method == "PUT" || method == "PATCH")
    req.headers.emplace_back("Content-Type", std::string(content_type));
  for (auto& h : headers) req.headers.push_back(std::move(h));

  // The pooled client does its I/O on its own thread; this io_context only
  // carries the coroutine that waits for it.
  boost::asio::io_context io;
  std::optional<Result<HttpResponse>> answer;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> { answer.emplace(co_await http_->request(std::move(req))); },
      boost::asio::detached);
  io.run();
  Reply reply;
  if (!answer) {
    reply.transport = make_error(ErrorKind::internal, "network_error", "the request did not complete");
    return reply;
  }
  auto& result = *answer;
  if (!result) {
    reply.transport = result.error();
    return reply;
  }
  reply.status = result->status;
  reply.request_id = std::string(result->header("X-Request-Id"));
  reply.replayed = result->header("Idempotent-Replayed") == "true";
  reply.body = std::move(result->body);
  return reply;
}

std::string path_segment(std::string_view id) {
  std::string out;
  for (unsigned char c : id) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

}  // namespace crier::cli
