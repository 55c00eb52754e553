// Bigger streams and a job that runs long enough to be watched: a 20 000
// user NDJSON body, live status and stable paging while a rate-limited job
// sends.
#include <fmt/format.h>

#include <map>
#include <set>
#include <thread>

#include "tests/e2e/e2e_fixture.h"

namespace crier::e2e {
namespace {

using IngestTest = CrierTest;

TEST_F(IngestTest, TwentyThousandUsersAsOneNdjsonBody) {
  constexpr std::size_t kUsers = 20'000;
  const std::string id = create_job(api(), email_job_spec());
  auto answer = ingest_ndjson(api(), id, email_users_ndjson(0, kUsers));
  EXPECT_EQ(num(answer, "accepted"), static_cast<std::int64_t>(kUsers)) << json::serialize(answer);
  EXPECT_EQ(num(answer, "duplicates"), 0);
  EXPECT_TRUE(answer.at("rejected").as_array().empty()) << json::serialize(answer);
  EXPECT_EQ(num(answer, "received_total"), static_cast<std::int64_t>(kUsers));

  auto before = get_job(api(), id);
  EXPECT_EQ(num(before, "unique"), static_cast<std::int64_t>(kUsers));
  EXPECT_EQ(num(before, "pending"), static_cast<std::int64_t>(kUsers));

  run_job(api(), id);
  auto done = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED", "CANCELLED"});
  ASSERT_EQ(str(done, "status"), "COMPLETED") << json::serialize(done);
  EXPECT_EQ(num(done, "sent"), static_cast<std::int64_t>(kUsers));

  auto users = list_all_users(api(), id, 1000);
  ASSERT_EQ(users.size(), kUsers);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < users.size(); ++i) {
    const auto& u = users[i];
    ASSERT_EQ(str(u, "user_id"), user_id_for(i)) << json::serialize(u);
    EXPECT_EQ(str(u, "email"), email_for(i));
    EXPECT_EQ(str(u, "status"), "SENT") << json::serialize(u);
    ids.insert(str(u, "message_id"));
  }
  EXPECT_EQ(ids.size(), kUsers);
  EXPECT_EQ(ids.count(""), 0u);

  auto lines = read_delivery_log(delivery_log());
  EXPECT_EQ(lines.size(), kUsers);
  std::set<std::string> delivered;
  for (const auto& l : lines) delivered.insert(str(l, "message_id"));
  EXPECT_EQ(delivered, ids);
}

TEST_F(IngestTest, DedupeByAddressAcrossContentTypesAndCsvQuirks) {
  const std::string id = create_job(api(), email_job_spec());
  // A BOM, CRLF line endings, quoted fields with commas and quotes, nested data.
  std::string csv =
      "\xEF\xBB\xBF"
      "email,data.name,data.address.city\r\n"
      "a@example.com,\"Smith, \"\"Jo\"\"\",Oslo\r\n"
      "b@example.com,,\r\n"
      "\r\n"
      "a@example.com,Again,Bergen\r\n";
  auto c = ingest_csv(api(), id, csv);
  EXPECT_EQ(num(c, "accepted"), 2) << json::serialize(c);
  EXPECT_EQ(num(c, "duplicates"), 1) << json::serialize(c);
  auto n = ingest_ndjson(api(), id, "{\"email\":\"b@example.com\"}\n{\"email\":\"c@example.com\"}");
  EXPECT_EQ(num(n, "accepted"), 1) << json::serialize(n);
  EXPECT_EQ(num(n, "duplicates"), 1) << json::serialize(n);
  auto j = ingest_json(api(), id, json::array{json::object{{"email", "c@example.com"}}});
  EXPECT_EQ(num(j, "accepted"), 0);
  EXPECT_EQ(num(j, "duplicates"), 1);

  auto users = list_all_users(api(), id, 2);
  ASSERT_EQ(users.size(), 3u);
  EXPECT_EQ(str(users[0], "email"), "a@example.com");
  EXPECT_EQ(
      users[0].at("data"),
      (json::value(json::object{{"name", "Smith, \"Jo\""}, {"address", {{"city", "Oslo"}}}})));
  EXPECT_EQ(str(users[1], "email"), "b@example.com");
  EXPECT_EQ(str(users[2], "email"), "c@example.com");
  auto job = get_job(api(), id);
  EXPECT_TRUE(counters_add_up(job));
  EXPECT_EQ(num(job, "received"), 6);
  EXPECT_EQ(num(job, "duplicates"), 3);

  run_job(api(), id);
  ASSERT_EQ(str(wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"}), "status"),
            "COMPLETED");
  std::map<std::string, std::string> subject_to;
  for (const auto& l : read_delivery_log(delivery_log()))
    subject_to[str(l, "to")] = str(l, "subject");
  EXPECT_EQ(subject_to,
            (std::map<std::string, std::string>{{"a@example.com", "Hello Smith, \"Jo\""},
                                                {"b@example.com", "Hello friend"},
                                                {"c@example.com", "Hello friend"}}));
}

TEST_F(IngestTest, OverlongLineEndsTheStreamAndKeepsWhatWasCommitted) {
  const std::string id = create_job(api(), email_job_spec());
  std::string body = email_users_ndjson(0, 10'005);
  // 2 MiB: the limit is checked on the unfinished line at the end of each
  // read chunk (<= 256 KiB), so a line just over 1 MiB may pass (docs/api.md).
  body += "{\"email\":\"long@example.com\",\"data\":{\"pad\":\"" + std::string(2u << 20, 'p') +
          "\"}}\n";
  body += email_users_ndjson(20'000, 5);
  auto r = api().post("/v1/jobs/" + id + "/users", body, "application/x-ndjson");
  expect_error(r, 413, "line_too_long");
  auto ingested = r.object().at("ingested").as_object();
  EXPECT_EQ(num(ingested, "accepted"), 10'000) << r.describe();
  auto job = get_job(api(), id);
  EXPECT_TRUE(counters_add_up(job));
  EXPECT_EQ(num(job, "unique"), 10'000);
  EXPECT_EQ(num(job, "received"), num(ingested, "received_total"));
  EXPECT_EQ(list_all_users(api(), id, 1000).size(), 10'000u);
  // The connection was closed on the error; the next request gets a new one.
  EXPECT_EQ(num(ingest_ndjson(api(), id, email_users_ndjson(10'000, 5)), "accepted"), 5);
}

TEST_F(IngestTest, ConcurrentStreamsIntoOneJobDedupeAcrossEachOther) {
  const std::string id = create_job(api(), email_job_spec());
  // Four clients at once: two send the same 6 000 users, two send 3 000
  // users each that overlap by half with the first ones.
  const std::vector<std::string> bodies = {email_users_ndjson(0, 6000), email_users_ndjson(0, 6000),
                                           email_users_ndjson(4500, 3000),
                                           email_users_csv(4500, 3000)};
  const std::vector<const char*> types = {"application/x-ndjson", "application/x-ndjson",
                                          "application/x-ndjson", "text/csv"};
  std::vector<HttpResponse> answers(bodies.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < bodies.size(); ++i)
    threads.emplace_back([&, i] {
      HttpClient client(port(), kKeyA);
      answers[i] = client.post("/v1/jobs/" + id + "/users", bodies[i], types[i]);
    });
  for (auto& t : threads) t.join();
  std::int64_t accepted = 0, duplicates = 0;
  for (const auto& a : answers) {
    ASSERT_EQ(a.status, 200) << a.describe();
    accepted += num(a.object(), "accepted");
    duplicates += num(a.object(), "duplicates");
  }
  EXPECT_EQ(accepted, 7500);
  EXPECT_EQ(duplicates, 18'000 - 7500);
  auto job = get_job(api(), id);
  EXPECT_TRUE(counters_add_up(job));
  EXPECT_EQ(num(job, "received"), 18'000);
  EXPECT_EQ(num(job, "unique"), 7500);
  auto users = list_all_users(api(), id, 1000);
  ASSERT_EQ(users.size(), 7500u);
  std::set<std::string> ids;
  std::set<std::int64_t> seqs;
  for (const auto& u : users) {
    ids.insert(str(u, "user_id"));
    seqs.insert(num(u, "seq"));
  }
  EXPECT_EQ(ids.size(), 7500u);
  EXPECT_EQ(seqs.size(), 7500u);
  EXPECT_EQ(*ids.begin(), user_id_for(0));
  EXPECT_EQ(*ids.rbegin(), user_id_for(7499));
}

TEST_F(IngestTest, StatusIsLiveWhileARateLimitedJobRuns) {
  constexpr std::int64_t kUsers = 10'000;
  auto spec = email_job_spec();
  spec["rate_limit"] = 2000;
  const std::string id = create_job(api(), spec);
  EXPECT_EQ(num(ingest_ndjson(api(), id, email_users_ndjson(0, kUsers)), "accepted"), kUsers);

  auto ran = run_job(api(), id);
  EXPECT_EQ(str(ran, "status"), "PROCESSING");

  // While it runs: page through every user with a small limit. The cursor
  // stays valid while recipients change state under it.
  std::vector<json::object> paged = list_all_users(api(), id, 250);
  ASSERT_EQ(paged.size(), static_cast<std::size_t>(kUsers));
  for (std::size_t i = 0; i < paged.size(); ++i) {
    ASSERT_EQ(str(paged[i], "user_id"), user_id_for(i));
    if (i > 0) {
      ASSERT_GT(num(paged[i], "seq"), num(paged[i - 1], "seq"));
    }
  }

  // Successive views: sent never goes down, and moves while PROCESSING.
  std::vector<json::object> views;
  auto done = wait_for_job(api(), id, [&](const json::object& v) {
    views.push_back(v);
    auto s = str(v, "status");
    return s != "PROCESSING";
  });
  ASSERT_EQ(str(done, "status"), "COMPLETED") << json::serialize(done);
  EXPECT_EQ(num(done, "sent"), kUsers);

  std::set<std::int64_t> sent_while_processing;
  bool measured_rate = false;
  for (std::size_t i = 0; i < views.size(); ++i) {
    const auto& v = views[i];
    EXPECT_TRUE(counters_add_up(v));
    EXPECT_EQ(num(v, "unique"), kUsers);
    if (i > 0) {
      EXPECT_GE(num(v, "sent"), num(views[i - 1], "sent")) << "sent went down";
    }
    if (str(v, "status") == "PROCESSING") {
      sent_while_processing.insert(num(v, "sent"));
      // The last window is committed a moment before the job is marked
      // finished, so PROCESSING may already show everyone sent.
      EXPECT_LE(num(v, "sent"), kUsers);
      EXPECT_FALSE(str(v, "started_at").empty());
      EXPECT_TRUE(str(v, "finished_at").empty());
      if (v.at("rate_per_second").to_number<double>() > 0) {
        measured_rate = true;
        EXPECT_TRUE(v.at("estimated_seconds_remaining").is_number()) << json::serialize(v);
      }
    }
  }
  EXPECT_GE(sent_while_processing.size(), 3u) << "sent did not visibly count up while PROCESSING";
  EXPECT_TRUE(measured_rate) << "rate_per_second stayed 0 while the job ran";
  EXPECT_GT(done.at("rate_per_second").to_number<double>(), 0);

  // The same cursor walk, now that every recipient is SENT.
  auto after = list_all_users(api(), id, 250, "SENT");
  EXPECT_EQ(after.size(), static_cast<std::size_t>(kUsers));
  EXPECT_EQ(read_delivery_log(delivery_log()).size(), static_cast<std::size_t>(kUsers));
}

}  // namespace
}  // namespace crier::e2e
