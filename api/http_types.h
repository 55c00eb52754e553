// The request and response the handlers see: plain data, free of Beast and
// of sockets, so handlers are functions of the request that tests can call
// directly. The server (server.cpp) converts to and from the wire.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crier {
struct IdempotencyClaim;  // engine/job_store.h
}

namespace crier::api {

class ResponseStream;  // api/response_stream.h

struct ApiRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded path, without the query
  std::map<std::string, std::string, std::less<>> query;
  std::string authorization;
  std::string content_type;  // lower case, without parameters
  std::string idempotency_key;
  std::string request_id;
  // The few other headers a handler reads (a vendor's X-API-Key and
  // correlation-id, an event stream's Last-Event-ID),
  // by lower-case name; only those the server copies (server.cpp).
  std::map<std::string, std::string, std::less<>> headers;
  // Buffered body. The server reserves simdjson's padding after it.
  std::string body;
  // Set by the router after authentication.
  std::string tenant;
  // Set by the router while it serves a POST under an Idempotency-Key: the
  // handlers hand it to the engine call that writes the request's action,
  // so the key's record is stored in the same batch (engine/job_store.h).
  const IdempotencyClaim* idempotency = nullptr;
};

struct ApiResponse {
  int status = 200;
  std::string body;  // JSON
  // The default is application/json; a vendor may need another (or none for
  // an empty body).
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  // Set by a handler whose answer is a stream (GET /v1/jobs/{id}/events):
  // the server writes the status and headers, then what the stream gives
  // until it ends, and closes the connection. `body` is not sent.
  std::shared_ptr<ResponseStream> stream;
};

// A header the server copied into `req.headers`, or "".
inline std::string_view header(const ApiRequest& req, std::string_view lower_name) {
  auto it = req.headers.find(lower_name);
  return it == req.headers.end() ? std::string_view() : std::string_view(it->second);
}

}  // namespace crier::api
