// A crash loop: one webhook job to a real WebhookSink while the server is
// killed with SIGKILL at random moments of its ingest and of its dispatch,
// and restarted on the same data dir each time. In the end every user the
// client got acknowledged is delivered at least once, none under two ids,
// the counters add up, and the store opens clean (`crier compact`).
//
// Size and kills from the environment: CRIER_CRASH_LOOP_USERS (20 000),
// CRIER_CRASH_LOOP_KILLS (5), CRIER_CRASH_LOOP_SEED (random; printed, to
// replay a failure). `make test` runs the short one; `make soak` the long one.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "tests/e2e/channels_fixture.h"  // run_crier, kSigningSecret

namespace crier::e2e {
namespace {

constexpr std::size_t kBatch = 2000;

std::size_t env_size(const char* name, std::size_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? static_cast<std::size_t>(std::stoull(v)) : fallback;
}

class CrashLoopTest : public CrierTest {
 protected:
  void SetUp() override {
    users_ = env_size("CRIER_CRASH_LOOP_USERS", 20000);
    kills_ = env_size("CRIER_CRASH_LOOP_KILLS", 5);
    seed_ = env_size("CRIER_CRASH_LOOP_SEED", std::random_device{}());
    rng_.seed(static_cast<std::mt19937_64::result_type>(seed_));
    std::cout << fmt::format("[ crash loop ] {} users, {} kills, CRIER_CRASH_LOOP_SEED={}\n", users_, kills_, seed_);
    RecordProperty("seed", std::to_string(seed_));
    SinkOptions o;
    o.secret = kSigningSecret;
    o.threads = 2;
    // Every request kept: the check reads the id each seq arrived under.
    o.keep_requests = users_ * 2 + 10000;
    sink_ = std::make_unique<WebhookSink>(o);
    auto port = sink_->start();
    ASSERT_TRUE(port) << port.error().message;
    // The operator's own secret is a credential: the provider then sends
    // only to its url, and names the tenants that may use it.
    std::ofstream(config_path()) << fmt::format(
        "[providers.hook]\ntype = \"webhook\"\nsigning_secret = \"{}\"\nurl = \"{}\"\ntenants = [\"*\"]\n",
        kSigningSecret, sink_->url("/hook"));
    CrierTest::SetUp();
  }
  void TearDown() override {
    CrierTest::TearDown();
    if (sink_) sink_->stop();
  }
  std::vector<std::string> server_args() const override {
    return {"--config", config_path().string(), "--log-level", "warn"};
  }
  std::filesystem::path config_path() const { return scratch_file("crier.toml"); }

  // A random moment within the next `max_ms`, for a kill.
  std::chrono::microseconds random_delay(int max_ms) {
    return std::chrono::microseconds(std::uniform_int_distribution<int>(0, max_ms * 1000)(rng_));
  }

  json::array batch(std::size_t b) const {
    json::array users;
    for (std::size_t i = b * kBatch; i < std::min(users_, (b + 1) * kBatch); ++i)
      users.push_back(json::object{{"user_id", user_id_for(i)}});
    return users;
  }

  // Ingests batch `b` under its own Idempotency-Key; true when acknowledged.
  static bool send_batch(HttpClient& api, const std::string& id, std::size_t b, const json::array& users) {
    try {
      auto r = api.post_json("/v1/jobs/" + id + "/users", json::object{{"users", users}},
                             {{"Idempotency-Key", fmt::format("batch-{}", b)}});
      return r.status == 200;
    } catch (const std::exception&) {
      return false;  // the server died under it
    }
  }

  std::size_t users_ = 0, kills_ = 0, seed_ = 0;
  std::mt19937_64 rng_;
  std::unique_ptr<WebhookSink> sink_;
};

TEST_F(CrashLoopTest, EveryAcknowledgedUserArrivesUnderOneIdWhateverTheKills) {
  const std::size_t batches = (users_ + kBatch - 1) / kBatch;
  const std::size_t ingest_kills = std::min(kills_ / 2, batches);
  const std::size_t dispatch_kills = kills_ - ingest_kills;
  // Paced so that dispatch lasts a few seconds whatever the size.
  const double rate = std::clamp(static_cast<double>(users_) / 5.0, 2000.0, 10000.0);
  json::object spec{{"channel", "webhook"},
                    {"provider", "hook"},
                    {"webhook_url", sink_->url("/hook")},
                    {"rate_limit", rate},
                    {"content", {{"webhook", {{"body", {{"text", "Hello {{name}}"}}}}}}},
                    {"data", {{"name", "friend"}}}};
  const std::string id = create_job(api(), spec);

  // 1. Ingest, killed while some batches are on the wire; a batch that was
  // not acknowledged is sent again (same key) after the restart.
  std::vector<std::size_t> order(batches);
  for (std::size_t b = 0; b < batches; ++b) order[b] = b;
  std::shuffle(order.begin(), order.end(), rng_);
  const std::set<std::size_t> killed_at(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(ingest_kills));
  std::size_t acknowledged = 0;
  for (std::size_t b = 0; b < batches; ++b) {
    const auto users = batch(b);
    bool acked;
    if (killed_at.count(b)) {
      auto sent = std::async(std::launch::async, [&] { return send_batch(api(), id, b, users); });
      std::this_thread::sleep_for(random_delay(40));  // the kill's moment, not a wait for state
      server().kill9();
      acked = sent.get();
      start_server();
    } else {
      acked = send_batch(api(), id, b, users);
    }
    for (int tries = 0; !acked && tries < 3; ++tries) acked = send_batch(api(), id, b, users);
    ASSERT_TRUE(acked) << "batch " << b << " was never acknowledged";
    acknowledged += users.size();
  }
  auto ingested = get_job(api(), id);
  ASSERT_EQ(num(ingested, "unique"), static_cast<std::int64_t>(users_)) << json::serialize(ingested);
  ASSERT_EQ(acknowledged, users_);

  // 2. Dispatch, killed whenever the sink has seen a random share of it.
  run_job(api(), id);
  std::vector<std::size_t> at(dispatch_kills);
  for (auto& n : at) n = std::uniform_int_distribution<std::size_t>(users_ / 20, users_ * 19 / 20)(rng_);
  std::sort(at.begin(), at.end());
  for (std::size_t n : at) {
    ASSERT_TRUE(poll_until(120s, [&] { return sink_->stats().unique >= n; }, 2ms))
        << "the sink stalled at " << sink_->stats().unique << " of " << n;
    std::this_thread::sleep_for(random_delay(20));
    kill9_and_restart();
  }
  auto done = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED", "CANCELLED"}, 300s);
  ASSERT_EQ(str(done, "status"), "COMPLETED") << json::serialize(done);
  EXPECT_TRUE(counters_add_up(done));
  EXPECT_EQ(num(done, "unique"), static_cast<std::int64_t>(users_));
  EXPECT_EQ(num(done, "sent"), static_cast<std::int64_t>(users_));
  for (const char* k : {"pending", "enqueued", "failed", "skipped", "cancelled", "rejected"})
    EXPECT_EQ(num(done, k), 0) << k;

  // 3. What the sink saw: every seq at least once, each under one id that
  // names only it, and that id is the one the users listing shows.
  const auto stats = sink_->stats();
  EXPECT_EQ(stats.bad_signatures, 0u);
  std::map<std::int64_t, std::set<std::string>> ids_of_seq;
  std::map<std::string, std::set<std::int64_t>> seqs_of_id;
  std::size_t requests = 0;
  for (const auto& r : sink_->requests()) {
    auto env = json::parse(r.body).as_object();
    if (str(env, "job_id") != id || r.status < 200 || r.status >= 300) continue;
    ++requests;
    const std::string message_id = str(env, "message_id");
    ASSERT_EQ(std::string(r.header("webhook-id")), message_id);
    ids_of_seq[num(env, "seq")].insert(message_id);
    seqs_of_id[message_id].insert(num(env, "seq"));
  }
  ASSERT_EQ(requests, stats.accepted) << "keep_requests too small: the sink forgot requests";
  EXPECT_EQ(stats.unique, users_);
  ASSERT_EQ(ids_of_seq.size(), users_);
  for (const auto& [seq, ids] : ids_of_seq) ASSERT_EQ(ids.size(), 1u) << "seq " << seq << " under several ids";
  for (const auto& [mid, seqs] : seqs_of_id) ASSERT_EQ(seqs.size(), 1u) << mid << " carried several seqs";
  std::set<std::string> listed;
  for (const auto& u : list_all_users(api(), id)) {
    ASSERT_EQ(str(u, "status"), "SENT") << json::serialize(u);
    ASSERT_EQ(str(u, "message_id"), *ids_of_seq.at(num(u, "seq")).begin()) << json::serialize(u);
    listed.insert(str(u, "user_id"));
  }
  EXPECT_EQ(listed.size(), users_);
  std::cout << fmt::format("[ crash loop ] {} kills; the sink got {} requests for {} users ({} repeats, same ids)\n",
                           kills_, stats.accepted, users_, stats.duplicates);

  // 4. A clean stop, then RocksDB opens clean: `crier compact` reads and
  // rewrites every family, and a restart reads the same job.
  const std::string final_counters = counters_snapshot(done);
  ASSERT_EQ(server().stop(), 0) << server().output_tail();
  auto compacted = run_crier({"compact", "--data-dir", data_dir().string()}, scratch_file("compact.log"), 120s);
  EXPECT_EQ(compacted.exit_code, 0) << compacted.output;
  start_server();
  EXPECT_EQ(counters_snapshot(get_job(api(), id)), final_counters);
}

}  // namespace
}  // namespace crier::e2e
