// A small synchronous HTTP/1.1 client for end-to-end tests: one keep-alive
// connection to 127.0.0.1:<port>, reopened when the server closed it.
// Every request has a timeout, so a hung server fails the test instead of
// hanging it. Transport failures throw std::runtime_error; HTTP error
// statuses are returned, not thrown.
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crier::testing {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case

  // The header's value, or "" (name in any case).
  std::string header(std::string_view name) const;
  // The body parsed as JSON; throws std::runtime_error (showing the body) if it is not.
  boost::json::value json() const;
  // json().as_object(), throwing if the body is not a JSON object.
  boost::json::object object() const;
  // error.code of an error body, or "" when there is none.
  std::string error_code() const;
  // For failure messages: "<status> <body>".
  std::string describe() const;
};

class HttpClient {
 public:
  // With a non-empty api_key every request carries "Authorization: Bearer <key>"
  // unless the request names its own Authorization header.
  explicit HttpClient(unsigned short port, std::string api_key = {},
                      std::chrono::milliseconds timeout = std::chrono::seconds(60));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  // Sends exactly the headers given (plus Host, Content-Length and the
  // default Authorization). A request on a reused connection that the
  // server had closed is retried once on a fresh connection.
  HttpResponse request(std::string_view method, std::string_view target, std::string_view body = {},
                       const HeaderList& headers = {});

  HttpResponse get(std::string_view target, const HeaderList& headers = {});
  HttpResponse del(std::string_view target, const HeaderList& headers = {});
  // POST/PUT with Content-Type: application/json and the serialised value.
  HttpResponse post_json(std::string_view target, const boost::json::value& body, const HeaderList& headers = {});
  HttpResponse put_json(std::string_view target, const boost::json::value& body, const HeaderList& headers = {});
  // POST with a raw body of the given content type.
  HttpResponse post(std::string_view target, std::string_view body, std::string_view content_type,
                    const HeaderList& headers = {});

  // Drops the connection; the next request opens a new one.
  void disconnect();
  // How many TCP connections this client has opened (to check keep-alive).
  int connections_opened() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Calls `done` until it returns true or `timeout` passes, sleeping `interval`
// between calls. Returns whether `done` returned true. For waiting on server
// state without fixed sleeps.
bool poll_until(std::chrono::milliseconds timeout, const std::function<bool()>& done,
                std::chrono::milliseconds interval = std::chrono::milliseconds(20));

}  // namespace crier::testing
