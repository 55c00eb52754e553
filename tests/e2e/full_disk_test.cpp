// The real server on a data directory that fills up: a 48 MB tmpfs, mostly
// taken by a filler file before the server starts (so RocksDB's log cannot
// reserve its space ahead), then filled completely during ingest or during
// dispatch, then freed. The server must keep serving reads, refuse writes
// with 507 storage_full (nothing partial stored, no file path shown), say
// it is not ready, stop sending a job whose outcomes it cannot record, and
// recover by itself once space is back: every acknowledged recipient stored,
// delivered, and under one id. Before this, the server aborted on a RocksDB
// assertion when a recovery was followed by another failed write.
#include <chrono>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "sink/webhook_sink.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/support/small_disk.h"

namespace crier::e2e {
namespace {

using crier::testing::SmallDisk;

constexpr std::uint64_t kMiB = 1 << 20;

class FullDiskTest : public CrierTest {
 protected:
  void SetUp() override {
    disk_ = std::make_unique<SmallDisk>(data_dir(), 48);
    if (!disk_->mounted()) GTEST_SKIP() << disk_->error();
    // Less free than RocksDB reserves ahead for a log (~35 MB, or ~18 MB).
    disk_->fill(free_at_start());
    CrierTest::SetUp();
  }
  void TearDown() override {
    CrierTest::TearDown();
    if (disk_) disk_->unmount();
  }

  virtual std::uint64_t free_at_start() const { return 10 * kMiB; }

  HttpResponse readyz() { return api().get("/readyz"); }

  static std::int64_t elapsed_ms(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since).count();
  }

  // Waits for /readyz to answer `status`.
  void wait_ready(int status, std::chrono::milliseconds timeout = 30s) {
    int last = 0;
    bool ok = poll_until(timeout, [&] { return (last = readyz().status) == status; }, 100ms);
    ASSERT_TRUE(ok) << "/readyz stayed " << last << ", expected " << status;
  }

  std::unique_ptr<SmallDisk> disk_;
};

TEST_F(FullDiskTest, IngestOnAFullDiskAnswers507AndRecoversOnceSpaceIsFreed) {
  const pid_t pid = server().pid();
  std::string job = create_job(api(), email_job_spec());
  std::set<std::string> acknowledged;
  std::size_t next = 0;
  HttpResponse refused;
  for (int batch = 0; batch < 400; ++batch) {
    auto users = email_users(next, 2000);
    auto r = api().post_json("/v1/jobs/" + job + "/users", json::object{{"users", users}});
    next += 2000;
    if (r.status != 200) {
      refused = r;
      break;
    }
    ASSERT_EQ(num(r.object(), "accepted"), 2000) << r.describe();
    for (const auto& u : users) acknowledged.insert(str(u.as_object(), "user_id"));
  }
  ASSERT_FALSE(acknowledged.empty()) << "the first batch was already refused";
  auto e = expect_error(refused, 507, "storage_full");
  EXPECT_EQ(str(e, "type"), "insufficient_storage");
  EXPECT_EQ(refused.body.find(data_dir().string()), std::string::npos) << refused.body;
  EXPECT_EQ(refused.body.find(".log"), std::string::npos) << refused.body;

  // While full: reads and liveness answer, readiness does not, writes are
  // refused at once, in the vendors' shapes too, and nothing partial was stored.
  EXPECT_EQ(api().get("/healthz").status, 200);
  auto not_ready = readyz();
  expect_error(not_ready, 503, "storage_full");
  auto view = get_job(api(), job);
  EXPECT_EQ(num(view, "unique"), static_cast<std::int64_t>(acknowledged.size()));
  EXPECT_EQ(num(view, "received"), static_cast<std::int64_t>(acknowledged.size()));
  expect_error(api().post_json("/v1/jobs/" + job + "/users", json::object{{"users", email_users(next, 10)}}), 507,
               "storage_full");
  expect_error(api().post_json("/v1/jobs", email_job_spec()), 507, "storage_full");
  auto courier = api().post("/bulk",
                            R"({"message":{"event":"welcome","content":{"title":"Hi","body":"Hello"},)"
                            R"("routing":{"method":"single","channels":["email"]}}})",
                            "application/json");
  EXPECT_EQ(courier.status, 507) << courier.describe();
  EXPECT_EQ(str(courier.object(), "code"), "storage_full") << courier.describe();

  // Space comes back: the store recovers by itself, and ingest works again.
  disk_->free_filler();
  const auto freed = std::chrono::steady_clock::now();
  wait_ready(200);
  const auto recovered_ms = elapsed_ms(freed);
  auto users = email_users(next, 2000);
  auto accepted = ingest_json(api(), job, users);
  EXPECT_EQ(num(accepted, "accepted"), 2000);
  for (const auto& u : users) acknowledged.insert(str(u.as_object(), "user_id"));

  // Every acknowledged user is there, and only those; the same process.
  view = get_job(api(), job);
  EXPECT_EQ(num(view, "unique"), static_cast<std::int64_t>(acknowledged.size()));
  EXPECT_TRUE(counters_add_up(view));
  std::set<std::string> stored;
  for (const auto& u : list_all_users(api(), job)) stored.insert(str(u, "user_id"));
  EXPECT_EQ(stored, acknowledged);
  EXPECT_TRUE(server().running());
  EXPECT_EQ(server().pid(), pid);
  std::cout << "[ figures ] acknowledged before the disk was full: " << acknowledged.size() - 2000
            << " users in batches of 2000; ready again " << recovered_ms << " ms after the filler was deleted\n";
}

class FullDiskDispatchTest : public FullDiskTest {
 protected:
  std::uint64_t free_at_start() const override { return 14 * kMiB; }
};

TEST_F(FullDiskDispatchTest, DispatchHoldsTheJobWhileFullThenDeliversEveryoneUnderOneId) {
  constexpr std::size_t kUsers = 12000;
  SinkOptions options;
  options.keep_requests = 3 * kUsers;
  WebhookSink sink(options);
  ASSERT_TRUE(sink.start().ok());

  json::object spec{{"channel", "webhook"},
                    {"provider", "webhook"},
                    {"webhook_url", sink.url("/hook")},
                    {"content", json::object{{"webhook", json::object{{"body", json::object{{"n", "{{n}}"}}}}}}},
                    {"rate_limit", 2000}};
  std::string job = create_job(api(), spec);
  for (std::size_t first = 0; first < kUsers; first += 2000) {
    json::array users;
    for (std::size_t i = first; i < first + 2000; ++i)
      users.push_back(json::object{{"user_id", user_id_for(i)}, {"data", json::object{{"n", i}}}});
    ingest_json(api(), job, users);
  }
  run_job(api(), job);
  wait_for_job(api(), job, [](const json::object& v) { return num(v, "sent") >= 2000; });

  // The disk fills mid-run: the job is held, visibly, and stops sending.
  disk_->fill(0);
  const auto filled = std::chrono::steady_clock::now();
  auto held = wait_for_job(api(), job, [](const json::object& v) { return !str(v, "dispatch_hold").empty(); }, 20s);
  const auto held_ms = elapsed_ms(filled);
  auto hold = held.at("dispatch_hold").as_object();
  EXPECT_EQ(str(hold, "code"), "storage_full");
  EXPECT_EQ(str(held, "status"), "PROCESSING");
  expect_error(readyz(), 503, "storage_full");
  const auto during = sink.stats().requests;
  std::this_thread::sleep_for(3s);
  const auto after = sink.stats().requests;
  // Nothing leaves while the outcomes cannot be written (a turn already on
  // its way may finish: at most one window of 400 at 2000/s).
  EXPECT_LE(after - during, 400u) << "sent " << after - during << " while held";
  const auto sent_held = num(get_job(api(), job), "sent");

  // Space comes back: the job goes on by itself and finishes.
  disk_->free_filler();
  const auto freed = std::chrono::steady_clock::now();
  wait_for_job(api(), job, [](const json::object& v) { return v.at("dispatch_hold").is_null(); }, 30s);
  const auto resumed_ms = elapsed_ms(freed);
  auto done = wait_for_status(api(), job, {"COMPLETED"}, 60s);
  EXPECT_EQ(num(done, "sent"), static_cast<std::int64_t>(kUsers));
  EXPECT_TRUE(done.at("dispatch_hold").is_null());
  EXPECT_TRUE(counters_add_up(done));
  EXPECT_EQ(readyz().status, 200);

  // Every recipient delivered, each under one message id (a repeat of the
  // same id is at-least-once; two ids for one user would be a duplicate).
  auto stats = sink.stats();
  EXPECT_EQ(stats.unique, kUsers);
  std::map<std::string, std::set<std::string>> ids_of_user;
  std::map<std::string, std::set<std::string>> users_of_id;
  for (const auto& r : sink.requests()) {
    if (r.status != 200) continue;
    auto body = json::parse(r.body).as_object();
    ids_of_user[str(body, "user_id")].insert(r.message_id);
    users_of_id[r.message_id].insert(str(body, "user_id"));
  }
  EXPECT_EQ(ids_of_user.size(), kUsers);
  for (const auto& [user, ids] : ids_of_user) EXPECT_EQ(ids.size(), 1u) << user;
  for (const auto& [id, users] : users_of_id) EXPECT_EQ(users.size(), 1u) << id;
  std::cout << "[ figures ] held " << held_ms << " ms after the disk filled, with " << sent_held
            << " sent; sent while held: " << after - during << "; sending again " << resumed_ms
            << " ms after the filler was deleted; requests " << stats.requests << ", unique " << stats.unique
            << ", repeats " << stats.duplicates << "\n";
}

}  // namespace
}  // namespace crier::e2e
