// Google Benchmark micro-benchmarks of the hot paths: ingest (parse,
// validate, dedupe, one WriteBatch) through the real handler on a real
// RocksDB, template rendering, recipient record encode/decode, the token
// bucket and paging cursors. `make bench` runs them; docs/benchmarks.md
// quotes the figures.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <simdjson.h>

#include <filesystem>
#include <random>
#include <thread>

#include "api/context.h"
#include "api/cursor.h"
#include "api/router.h"
#include "engine/job_service.h"
#include "engine/render.h"
#include "engine/time_format.h"
#include "engine/token_bucket.h"
#include "storage/record_codec.h"
#include "storage/rocks_store.h"
#include "workers/dispatcher.h"
#include "workers/provider.h"

namespace {
using namespace crier;

// The sample record of the benchmarks: an id, an email and two data fields.
std::string user_json(std::size_t i) {
  return fmt::format(R"({{"user_id":"user-{:07}","email":"user{}@example.com","data":{{"name":"User {}","amount":"{}.50"}}}})",
                     i, i, i, i % 1000);
}

std::string users_body(std::size_t first, std::size_t n) {
  std::string body = R"({"users":[)";
  for (std::size_t i = 0; i < n; ++i) {
    if (i) body.push_back(',');
    body += user_json(first + i);
  }
  body += "]}";
  return body;
}

JobSpec email_spec() {
  JobSpec spec;
  spec.channel = Channel::email;
  spec.content.base.email = EmailContent{"Your invoice, {{name}}", "Dear {{name}}, you owe {{amount}} to {{brand}}.",
                                         "<p>Dear {{name}},</p><p>you owe <b>{{amount}}</b> to {{brand}}.</p>"};
  spec.data_json = R"({"brand":"Acme","amount":"0"})";
  return spec;
}

// A real store in a temp dir, a job, and the router, as the server wires them.
struct IngestRig {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              fmt::format("crier-bench-{}", std::random_device{}());
  std::unique_ptr<RocksStore> store;
  std::unique_ptr<JobService> service;
  std::unique_ptr<api::ApiContext> ctx;
  std::unique_ptr<api::Router> router;

  IngestRig() {
    store = std::move(RocksStore::open({dir.string()}).value());
    service = std::make_unique<JobService>(*store, *store, now_unix_ms);
    ctx.reset(new api::ApiContext{*service, *store, *store, *store, *store, {{"bench-key-0001", "bench"}}});
    ctx->ready = true;
    router = std::make_unique<api::Router>(*ctx);
  }
  ~IngestRig() {
    router.reset();
    ctx.reset();
    service.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }
  std::string new_job(JobSpec spec = email_spec()) { return service->create("bench", std::move(spec)).value().id(); }
  api::ApiResponse ingest(const std::string& job, std::string body) {
    api::ApiRequest req;
    req.method = "POST";
    req.path = "/v1/jobs/" + job + "/users";
    req.authorization = "Bearer bench-key-0001";
    req.content_type = "application/json";
    req.request_id = "req_bench";
    body.reserve(body.size() + 64);  // simdjson's padding, as the server does
    req.body = std::move(body);
    return router->handle(req);
  }
};

// Ingest of 10 000-user JSON batches, end to end minus the socket: parse,
// validate, dedupe lookup, WriteBatch with the WAL synced.
void BM_IngestJsonBatch(benchmark::State& state) {
  IngestRig rig;
  std::string job = rig.new_job();
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  std::size_t next = 0;
  std::int64_t bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::string body = users_body(next, n);
    bytes += static_cast<std::int64_t>(body.size());
    next += n;
    state.ResumeTiming();
    auto r = rig.ingest(job, std::move(body));
    if (r.status != 200) state.SkipWithError(r.body.c_str());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(next));
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_IngestJsonBatch)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();

// Dispatch to `null` in process: a job of range(0) recipients (ingested
// before the clock starts) run by the real Dispatcher on its own pool, from
// `run` to COMPLETED: read, render, "send", commit. The server scenario
// (bench/load.sh) adds HTTP and another process; this one isolates the
// dispatch path, and under `valgrind --tool=callgrind` gives a repeatable
// instruction count per message where wall time on a shared machine is not.
void BM_DispatchNull(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    IngestRig rig;
    DispatchOptions options;
    options.threads = 4;
    options.lanes = 4;
    Dispatcher dispatcher(*rig.service, *rig.store, options);
    dispatcher.add_provider(make_null_provider());
    dispatcher.start();
    rig.service->set_listener(&dispatcher);
    JobSpec spec = email_spec();
    spec.provider = "null";
    const std::string id = rig.new_job(spec);
    for (std::size_t b = 0; b < n; b += 10000)
      if (auto r = rig.ingest(id, users_body(b, std::min<std::size_t>(10000, n - b))); r.status != 200)
        state.SkipWithError(r.body.c_str());
    state.ResumeTiming();
    if (!rig.service->apply("bench", id, JobAction::run)) state.SkipWithError("run refused");
    for (;;) {
      auto job = rig.service->get("bench", id);
      if (!job || is_final(job->status)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    state.PauseTiming();
    dispatcher.stop();
    rig.service->set_listener(nullptr);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK(BM_DispatchNull)->Arg(200000)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

// A bare RocksDB with default options in a temp dir, removed afterwards: the
// limits the benchmarks compare Crier's own storage with.
struct RawDb {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / fmt::format("crier-raw-{}", std::random_device{}());
  std::unique_ptr<rocksdb::DB> db;
  RawDb() {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    if (rocksdb::DB::Open(options, dir.string(), &raw).ok()) db.reset(raw);
  }
  ~RawDb() {
    db.reset();
    std::filesystem::remove_all(dir);
  }
};

// The limits ingest is compared with (issue 4): RocksDB's own write rate for
// the same records — one WriteBatch of 10 000 recipient records plus their
// dedupe keys, WAL synced, default options — and simdjson's parse rate over
// the same JSON batch.
void BM_RawRocksWriteBatch(benchmark::State& state) {
  RawDb raw;
  if (!raw.db) {
    state.SkipWithError("cannot open RocksDB");
    return;
  }
  rocksdb::DB* db = raw.db.get();
  rocksdb::WriteOptions sync;
  sync.sync = true;
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  std::uint64_t seq = 0;
  Recipient r;
  for (auto _ : state) {
    rocksdb::WriteBatch batch;
    for (std::size_t i = 0; i < n; ++i, ++seq) {
      r.user_id = fmt::format("user-{:07}", seq);
      r.email = fmt::format("user{}@example.com", seq);
      r.data_json = fmt::format(R"({{"name":"User {}","amount":"{}.50"}})", seq, seq % 1000);
      std::string key(16, 'j');
      for (int b = 7; b >= 0; --b) key.push_back(static_cast<char>(seq >> (8 * b)));
      batch.Put(key, records::encode(r));
      std::string dedupe(16, 'd');
      dedupe.append(r.user_id);
      batch.Put(dedupe, key.substr(16));
    }
    if (!db->Write(sync, &batch).ok()) state.SkipWithError("write failed");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(seq));
}
BENCHMARK(BM_RawRocksWriteBatch)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();

// The storage limit of dispatch: what RocksDB itself takes to record a
// window of 1 000 outcomes. Arg(1), as dispatch does now: each recipient's
// state once, in a synced batch with the counters. Arg(2), as it did before
// the in-flight horizon: an unsynced ENQUEUED state per recipient first. No
// rendering, no sending: the most messages per second dispatch could reach
// on this disk and CPU.
void BM_RawRocksDispatchWrites(benchmark::State& state) {
  RawDb raw;
  if (!raw.db) {
    state.SkipWithError("cannot open RocksDB");
    return;
  }
  rocksdb::DB* db = raw.db.get();
  rocksdb::WriteOptions sync, nosync;
  sync.sync = true;
  const bool enqueue_too = state.range(0) == 2;
  constexpr std::size_t kWindow = 1000;
  std::uint64_t seq = 0;
  RecipientState st;
  st.attempts = 1;
  st.updated_at = 1'700'000'000'000;
  auto key_of = [](std::uint64_t s) {
    std::string key(16, 's');
    for (int b = 7; b >= 0; --b) key.push_back(static_cast<char>(s >> (8 * b)));
    return key;
  };
  for (auto _ : state) {
    if (enqueue_too) {
      rocksdb::WriteBatch enqueued;
      st.status = RecipientStatus::enqueued;
      for (std::size_t i = 0; i < kWindow; ++i) enqueued.Put(key_of(seq + i), records::encode(st));
      if (!db->Write(nosync, &enqueued).ok()) state.SkipWithError("write failed");
    }
    rocksdb::WriteBatch outcomes;
    st.status = RecipientStatus::sent;
    for (std::size_t i = 0; i < kWindow; ++i) outcomes.Put(key_of(seq + i), records::encode(st));
    outcomes.Put("counters-of-the-job", std::to_string(seq));
    if (!db->Write(sync, &outcomes).ok()) state.SkipWithError("write failed");
    seq += kWindow;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(seq));
}
BENCHMARK(BM_RawRocksDispatchWrites)->Arg(2)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SimdjsonParseBatch(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  simdjson::padded_string body(users_body(0, n));
  simdjson::ondemand::parser parser;
  for (auto _ : state) {
    auto doc = parser.iterate(body);
    std::size_t users = 0;
    for (auto user : doc["users"].get_array()) {
      std::string_view id, email;
      auto o = user.get_object();
      auto e1 = o["user_id"].get_string().get(id);
      auto e2 = o["email"].get_string().get(email);
      benchmark::DoNotOptimize(e1);
      benchmark::DoNotOptimize(e2);
      benchmark::DoNotOptimize(id);
      ++users;
    }
    if (users != n) state.SkipWithError("short parse");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_SimdjsonParseBatch)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_RenderEmail(benchmark::State& state) {
  auto renderer = JobRenderer::compile(email_spec()).value();
  Recipient r;
  r.email = "user1@example.com";
  r.data_json = R"({"name":"User 1","amount":"12.50"})";
  for (auto _ : state) {
    auto m = renderer->render(r);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RenderEmail);

void BM_RecipientEncodeDecode(benchmark::State& state) {
  Recipient r;
  r.user_id = "user-0000001";
  r.email = "user1@example.com";
  r.data_json = R"({"name":"User 1","amount":"12.50"})";
  for (auto _ : state) {
    std::string enc = records::encode(r);
    auto back = records::decode_recipient(enc, 1);
    benchmark::DoNotOptimize(back);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecipientEncodeDecode);

void BM_StateEncodeDecode(benchmark::State& state) {
  RecipientState s;
  s.status = RecipientStatus::sent;
  s.attempts = 1;
  s.updated_at = 1'700'000'000'000;
  for (auto _ : state) {
    std::string enc = records::encode(s);
    auto back = records::decode_state(enc);
    benchmark::DoNotOptimize(back);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StateEncodeDecode);

void BM_TokenBucketReserve(benchmark::State& state) {
  TokenBucket bucket(1e9, 1e6);
  double now = 0;
  for (auto _ : state) {
    now += 1e-6;
    benchmark::DoNotOptimize(bucket.reserve(now, 1));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TokenBucketReserve);

void BM_CursorEncodeDecode(benchmark::State& state) {
  JobKey job = new_job_key(now_unix_ms());
  std::uint64_t seq = 0;
  for (auto _ : state) {
    auto c = api::encode_seq_cursor(job, ++seq);
    benchmark::DoNotOptimize(api::decode_seq_cursor(job, c));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CursorEncodeDecode);

}  // namespace

BENCHMARK_MAIN();
