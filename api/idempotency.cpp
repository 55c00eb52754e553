#include "api/idempotency.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>

namespace crier::api {
namespace {

std::string hex128(XXH128_hash_t h) { return fmt::format("{:016x}{:016x}", h.high64, h.low64); }

// The request's fingerprint: method, path and exact body bytes (api.md §
// Idempotency), hashed as the body arrives.
class RequestHash {
 public:
  explicit RequestHash(const ApiRequest& req) : state_(XXH3_createState()) {
    XXH3_128bits_reset(state_);
    const std::string prefix = req.method + "\n" + req.path + "\n";
    update(prefix);
  }
  ~RequestHash() { XXH3_freeState(state_); }
  RequestHash(const RequestHash&) = delete;
  RequestHash& operator=(const RequestHash&) = delete;

  void update(std::string_view bytes) { XXH3_128bits_update(state_, bytes.data(), bytes.size()); }
  std::string hex() const { return hex128(XXH3_128bits_digest(state_)); }

 private:
  XXH3_state_t* state_;
};

bool valid_key(std::string_view key) {
  return !key.empty() && key.size() <= 255 &&
         std::all_of(key.begin(), key.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

Error invalid_key() {
  return make_error(ErrorKind::invalid, "invalid_idempotency_key",
                    "Idempotency-Key must be 1 to 255 visible ASCII characters");
}

Error key_reused() {
  return make_error(ErrorKind::conflict, "idempotency_key_reused",
                    "this Idempotency-Key was used with a different request in the last 24 hours");
}

Error key_in_use() {
  return make_error(ErrorKind::conflict, "idempotency_key_in_use",
                    "a request with this Idempotency-Key is still being processed; retry later");
}

ApiResponse replay(const IdempotentAnswer& a) {
  ApiResponse r;
  r.status = a.status;
  r.body = a.body;
  if (r.body.empty()) r.content_type.clear();
  r.headers.emplace_back("Idempotent-Replayed", "true");
  return r;
}

}  // namespace

IdempotentRecord answer_record(const IdempotencyClaim& claim, const ApiResponse& answer) {
  return {claim.tenant, claim.key, IdempotentAnswer{claim.request_hash, answer.status, answer.body, claim.expires_at, {}}};
}

// ---- streamed bodies -----------------------------------------------------------

// Hashes the body as it streams and feeds it to the real stream, if any (none
// when an answer is stored: the body is only hashed to compare). At the end,
// the same path as a buffered request.
class IdempotentStream final : public BodyStream {
 public:
  IdempotentStream(IdempotentRequests& requests, ApiRequest req, std::unique_ptr<BodyStream> inner,
                   std::optional<IdempotentAnswer> stored, IdempotentRequests::ErrorShape fail)
      : requests_(requests),
        req_(std::move(req)),
        inner_(std::move(inner)),
        stored_(std::move(stored)),
        fail_(fail),
        hash_(req_) {}
  ~IdempotentStream() override { requests_.release(req_.tenant, req_.idempotency_key); }

  Result<void> feed(std::string_view chunk) override {
    hash_.update(chunk);
    return inner_ ? inner_->feed(chunk) : Result<void>();
  }

  ApiResponse finish() override {
    auto serve = [this](ApiRequest& r) {
      inner_->answer_under(r.idempotency);
      return inner_->finish();
    };
    return requests_.answer(req_, hash_.hex(), stored_, serve, fail_);
  }
  // This stream is the one that hands the claim on (finish).
  void answer_under(const IdempotencyClaim*) override {}

  ApiResponse abort(const Error& e) override { return inner_ ? inner_->abort(e) : fail_(e, req_); }

 private:
  IdempotentRequests& requests_;
  ApiRequest req_;
  std::unique_ptr<BodyStream> inner_;
  std::optional<IdempotentAnswer> stored_;
  IdempotentRequests::ErrorShape fail_;
  RequestHash hash_;
};

// ---- the requests under a key ----------------------------------------------------

bool IdempotentRequests::hold(const std::string& tenant, const std::string& key) {
  std::lock_guard lock(in_flight_mu_);
  return in_flight_.emplace(tenant, key).second;
}

void IdempotentRequests::release(const std::string& tenant, const std::string& key) {
  std::lock_guard lock(in_flight_mu_);
  in_flight_.erase({tenant, key});
}

ApiResponse IdempotentRequests::serve(ApiRequest& req, const Serve& serve, ErrorShape fail) {
  if (!valid_key(req.idempotency_key)) return fail(invalid_key(), req);
  RequestHash hash(req);
  hash.update(req.body);
  if (!hold(req.tenant, req.idempotency_key)) return fail(key_in_use(), req);
  struct Release {
    IdempotentRequests* r;
    ApiRequest* q;
    ~Release() { r->release(q->tenant, q->idempotency_key); }
  } release{this, &req};

  auto stored = ctx_.idempotency.find_answer(req.tenant, req.idempotency_key, ctx_.jobs.now_ms());
  if (!stored) return fail(stored.error(), req);
  return answer(req, hash.hex(), *stored, serve, fail);
}

std::variant<ApiResponse, std::unique_ptr<BodyStream>> IdempotentRequests::open_stream(ApiRequest& req,
                                                                                      const OpenStream& open,
                                                                                      ErrorShape fail) {
  if (!valid_key(req.idempotency_key)) return fail(invalid_key(), req);
  if (!hold(req.tenant, req.idempotency_key)) return fail(key_in_use(), req);
  auto stored = ctx_.idempotency.find_answer(req.tenant, req.idempotency_key, ctx_.jobs.now_ms());
  if (!stored) {
    release(req.tenant, req.idempotency_key);
    return fail(stored.error(), req);
  }
  std::unique_ptr<BodyStream> inner;
  if (!*stored || !(*stored)->answered()) {
    auto s = open();
    if (!s) {
      release(req.tenant, req.idempotency_key);
      return fail(s.error(), req);
    }
    inner = std::move(*s);
  }
  // From here the stream releases the key when it is destroyed.
  return std::unique_ptr<BodyStream>(new IdempotentStream(*this, req, std::move(inner), std::move(*stored), fail));
}

ApiResponse IdempotentRequests::answer(ApiRequest& req, const std::string& hash,
                                       const std::optional<IdempotentAnswer>& stored, const Serve& serve,
                                       ErrorShape fail) {
  IdempotencyClaim claim{req.tenant, req.idempotency_key, hash, ctx_.jobs.now_ms() + kIdempotencyTtlMs, {}};
  if (stored) {
    if (stored->request_hash != hash) return fail(key_reused(), req);
    if (stored->answered()) return replay(*stored);
    // The action was stored and its answer lost (a crash in between): the
    // handler runs again, and the engine answers from what it did then.
    claim.committed_job = stored->committed_job;
  }
  struct Unset {
    ApiRequest* q;
    ~Unset() { q->idempotency = nullptr; }  // it points at `claim`
  } unset{&req};
  req.idempotency = &claim;
  ApiResponse r = serve(req);
  req.idempotency = nullptr;
  ctx_.crash_point("idempotent_answer");
  // Server errors are not stored: a retry should try again.
  if (r.status < 500) {
    IdempotentAnswer a{hash, r.status, r.body, ctx_.jobs.now_ms() + kIdempotencyTtlMs, {}};
    if (auto put = ctx_.idempotency.put_answer(req.tenant, req.idempotency_key, a); !put)
      return fail(put.error(), req);
  }
  return r;
}

}  // namespace crier::api
