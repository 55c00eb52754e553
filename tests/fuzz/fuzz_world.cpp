#include "tests/fuzz/fuzz_world.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "engine/job_service.h"
#include "engine/time_format.h"
#include "storage/rocks_store.h"

namespace crier::fuzz {

void fail(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "fuzz assertion failed: %.*s\n%.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

struct FuzzWorld::Parts {
  std::filesystem::path dir;
  std::unique_ptr<RocksStore> store;
  std::unique_ptr<JobService> service;
  ~Parts() {
    service.reset();
    store.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

FuzzWorld& FuzzWorld::get() {
  // Never destroyed before exit's static destructors; libFuzzer exits with
  // exit(), so the temp dir is removed.
  static FuzzWorld world;
  return world;
}

FuzzWorld::FuzzWorld() : parts_(std::make_unique<Parts>()) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "crier-fuzz-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) fail("mkdtemp");
  parts_->dir = tmpl;
  StoreOptions options{(parts_->dir / "data").string()};
  options.sync_writes = false;
  options.block_cache_mb = 8;
  options.write_buffers_mb = 16;
  auto opened = RocksStore::open(options);
  if (!opened) fail("cannot open the store", opened.error().message);
  parts_->store = std::move(opened).value();
  parts_->service = std::make_unique<JobService>(*parts_->store, *parts_->store, now_unix_ms);
  parts_->service->set_senders(parts_->store.get());
  auto& s = *parts_->store;
  ctx_.reset(new api::ApiContext{*parts_->service, s, s, s, s, {{kApiKey, "fuzz"}}, api::ApiLimits{}});
  ctx_->sync_writes = false;
  // Small limits, so that inputs a fuzzer can make reach them.
  ctx_->limits.max_line_bytes = 4096;
  ctx_->limits.stream_commit_users = 8;
  ctx_->limits.max_users_per_batch = 64;
  ctx_->limits.max_rejected_listed = 16;
  ctx_->senders = parts_->store.get();
  ctx_->profiles = parts_->store.get();  // the profile import targets
  ctx_->ready = true;
  router_ = std::make_unique<api::Router>(*ctx_);

  auto created = send("POST", "/v1/jobs",
                      R"({"channel":"email","content":{"email":{"subject":"Hi {{name}}","text":"Hello {{name}}"}}})");
  if (created.status != 201) fail("cannot create the fuzz job", created.body);
  auto id_at = created.body.find("\"job_id\":\"");
  if (id_at == std::string::npos) fail("no job_id", created.body);
  auto id = created.body.substr(id_at + 10, created.body.find('"', id_at + 10) - id_at - 10);
  auto job = parts_->service->get("fuzz", id);
  if (!job) fail("cannot read the fuzz job", job.error().message);
  // Users for the listing, cursor and receipt targets to reach.
  auto users = send("POST", "/v1/jobs/" + id + "/users",
                    R"({"users":[{"email":"a@example.com","user_id":"a"},{"email":"b@example.com"},)"
                    R"({"email":"c@example.com","data":{"name":"C"}}]})");
  if (users.status != 200) fail("cannot add the fuzz job's users", users.body);
  job_ = *job;
}

FuzzWorld::~FuzzWorld() {
  router_.reset();
  ctx_.reset();
  parts_.reset();
}

api::ApiResponse FuzzWorld::send(api::ApiRequest& req) {
  auto r = router_->handle(req);
  if (r.status == 500) fail("500 from " + req.method + " " + req.path, r.body);
  return r;
}

api::ApiResponse FuzzWorld::send(std::string method, std::string path, std::string_view body,
                                 std::string content_type) {
  api::ApiRequest req;
  req.method = std::move(method);
  req.path = std::move(path);
  req.authorization = std::string("Bearer ") + kApiKey;
  req.content_type = std::move(content_type);
  req.request_id = "req_fuzz";
  req.body.reserve(body.size() + 64);
  req.body.append(body);
  return send(req);
}

}  // namespace crier::fuzz
