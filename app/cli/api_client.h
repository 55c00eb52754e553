// How the CLI talks to a Crier server: one blocking exchange at a time, over
// the providers' pooled client (workers/http_client.h: http and https with the
// system trust store, keep-alive between calls), so the CLI uses the API
// exactly as any other client does.
//
// A Reply is either an answer (any HTTP status: error statuses are answers)
// or a transport failure (status 0, `transport` says why: connect_failed,
// tls_failed, timeout, network_error, bad_response, invalid_url).
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/result.h"

namespace crier {
class PooledHttpClient;
}

namespace crier::cli {

// Where the server is and who we are: --url / CRIER_URL, --api-key / CRIER_API_KEY.
struct Connection {
  std::string url;
  std::string api_key;
};

struct Reply {
  int status = 0;           // 0: no answer, see `transport`
  std::string body;
  std::string request_id;   // X-Request-Id of the answer
  bool replayed = false;    // Idempotent-Replayed: true
  Error transport;          // set when status == 0

  bool ok() const { return status >= 200 && status < 300; }
  // The body as JSON (null when it is not JSON).
  boost::json::value json() const;
  // The body's JSON object (empty when the body is not one).
  boost::json::object object() const;
};

class ApiClient {
 public:
  // `timeout` bounds each exchange from connect to the last byte of the answer.
  explicit ApiClient(Connection connection, std::chrono::milliseconds timeout = std::chrono::seconds(120));
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // `path` starts with "/v1/..."; the API key goes in Authorization: Bearer.
  // A JSON body is sent as application/json unless `content_type` says otherwise.
  Reply call(std::string_view method, std::string_view path, std::string body = {},
             std::string_view content_type = "application/json",
             std::vector<std::pair<std::string, std::string>> headers = {});
  Reply get(std::string_view path) { return call("GET", path); }

  const Connection& connection() const { return connection_; }

 private:
  Connection connection_;
  std::unique_ptr<PooledHttpClient> http_;
};

// "/v1/jobs/" + the id with anything but [A-Za-z0-9._-] percent-encoded, so an
// id typed wrongly cannot reach another path.
std::string path_segment(std::string_view id);

}  // namespace crier::cli
