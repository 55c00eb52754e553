// Idempotency-Key, in one place. Every POST under a key goes through
// IdempotentRequests::serve (a buffered body) or ::open_stream (a streamed
// one), and both end in the same steps: check the key, hold it while the
// request runs (a second request with it meanwhile is 409
// idempotency_key_in_use), look its record up, then replay the stored
// answer, refuse another request under it (409 idempotency_key_reused), or
// run the request with its claim (ApiRequest::idempotency) and store the
// answer. Errors come in the shape of the API the path belongs to.
//
// The claim is what makes a crash between the action and the answer
// harmless: the handlers hand it to the write of their action, which stores
// the key's record in the same batch (engine/job_store.h): a pending record
// naming the job for creates and job actions, the answer itself for actions
// that could not be answered again from what they left (a user ingest, a
// secret rotation: answer_record).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>

#include "api/context.h"
#include "api/http_types.h"
#include "api/ingest/body_stream.h"
#include "engine/job_store.h"

namespace crier::api {

// How long a key's answer is kept.
inline constexpr std::int64_t kIdempotencyTtlMs = 24LL * 3600 * 1000;

// The key's record of `answer`, for the write of the action it answers
// (what IdempotencyStore::put_answer would store, with the claim's hash
// and expiry).
IdempotentRecord answer_record(const IdempotencyClaim& claim, const ApiResponse& answer);

class IdempotentRequests {
 public:
  explicit IdempotentRequests(ApiContext& ctx) : ctx_(ctx) {}

  using ErrorShape = ApiResponse (*)(const Error&, const ApiRequest&);
  using Serve = std::function<ApiResponse(ApiRequest&)>;

  // A buffered POST carrying an Idempotency-Key: `serve` runs at most once
  // per key and body (req.idempotency set while it runs), and its answer
  // (if < 500) is stored for the key. Nothing here throws but what `serve`
  // throws.
  ApiResponse serve(ApiRequest& req, const Serve& serve, ErrorShape fail);

  // A streamed POST carrying an Idempotency-Key: the body is hashed as it
  // streams. Without a stored answer, `open` makes the stream that ingests
  // it, and its last commit stores its answer (BodyStream::answer_under);
  // with one, the body is only hashed, then replayed or refused. The key is
  // held until the returned stream is destroyed.
  using OpenStream = std::function<Result<std::unique_ptr<BodyStream>>()>;
  std::variant<ApiResponse, std::unique_ptr<BodyStream>> open_stream(ApiRequest& req, const OpenStream& open,
                                                                     ErrorShape fail);

 private:
  friend class IdempotentStream;
  // The one path both end in, once the body's hash is known.
  ApiResponse answer(ApiRequest& req, const std::string& hash, const std::optional<IdempotentAnswer>& stored,
                     const Serve& serve, ErrorShape fail);
  // Holds (tenant, key) for one request at a time; false if taken.
  bool hold(const std::string& tenant, const std::string& key);
  void release(const std::string& tenant, const std::string& key);

  ApiContext& ctx_;
  std::mutex in_flight_mu_;
  std::set<std::pair<std::string, std::string>> in_flight_;
};

}  // namespace crier::api
