// The whole life of a job over a real socket: create, ingest in all three
// content types (overrides, invalid users, duplicates within and across
// batches), run, watch the status, page every user, and read what the log
// provider delivered.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>

#include "tests/e2e/e2e_fixture.h"

namespace crier::e2e {
namespace {

using FlowTest = CrierTest;

// One rejected entry of an ingest answer: its index and code.
struct Rejection {
  std::int64_t index;
  std::string code;
  bool operator==(const Rejection&) const = default;
};

std::vector<Rejection> rejections(const json::object& answer) {
  std::vector<Rejection> out;
  for (const auto& r : answer.at("rejected").as_array()) {
    const auto& o = r.as_object();
    EXPECT_FALSE(str(o, "message").empty()) << json::serialize(o);
    out.push_back({num(o, "index"), str(o, "code")});
  }
  return out;
}

void PrintTo(const Rejection& r, std::ostream* os) {
  *os << "{" << r.index << ", " << r.code << "}";
}

// What a recipient should have got: its address and the rendered email.
struct Expected {
  std::string user_id;  // "" for an address-only user
  std::string email;
  std::string subject;
  std::string text;
};

TEST_F(FlowTest, CreateIngestAllContentTypesRunAndPageEveryUser) {
  auto created = require(api().post_json("/v1/jobs", email_job_spec()), 201, "create");
  const std::string id = str(created, "job_id");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(str(created, "status"), "CREATED");
  EXPECT_EQ(str(created, "channel"), "email");
  EXPECT_TRUE(counters_add_up(created));
  EXPECT_EQ(num(created, "received"), 0);

  // ---- JSON: a per-user override, a duplicate inside the batch, three invalid users.
  json::array batch1 = {
      json::object{{"user_id", user_id_for(0)}, {"email", email_for(0)}},
      json::object{
          {"user_id", user_id_for(1)}, {"email", email_for(1)}, {"data", {{"name", "Ada"}}}},
      json::object{{"user_id", user_id_for(2)}, {"email", email_for(2)}},
      json::object{{"user_id", user_id_for(2)}, {"email", "other2@example.com"}},  // same user_id
      json::object{{"user_id", "user-000900"}, {"email", "not-an-email"}},
      json::object{
          {"user_id", "user-000901"}, {"email", "ok901@example.com"}, {"phone", "not-a-phone"}},
      json::object{{"user_id", "user-000902"}},  // no address for an email job
      json::object{{"user_id", user_id_for(3)}, {"email", email_for(3)}},
  };
  auto a1 = ingest_json(api(), id, batch1);
  EXPECT_EQ(num(a1, "accepted"), 4) << json::serialize(a1);
  EXPECT_EQ(num(a1, "duplicates"), 1) << json::serialize(a1);
  EXPECT_EQ(rejections(a1),
            (std::vector<Rejection>{
                {4, "invalid_email"}, {5, "invalid_phone_number"}, {6, "missing_address"}}));
  EXPECT_EQ(num(a1, "received_total"), 8);

  // ---- NDJSON: a cross-batch duplicate, an address-only user, a broken line, a blank line.
  std::string batch2 = fmt::format(
      "{{\"user_id\":\"{}\",\"email\":\"{}\"}}\n"
      "{{\"user_id\":\"{}\",\"email\":\"{}\",\"data\":{{\"name\":\"Bob\",\"greeting\":\"Hey\"}}}}\n"
      "{{\"user_id\":\"{}\",\"email\":\"someone-else@example.com\"}}\n"  // user 0 again
      "{{\"email\":\"anon1@example.com\"}}\n"
      "{{\"user_id\": \"broken\"\n"
      "{{\"user_id\":\"{}\",\"email\":\"{}\"}}\r\n"
      "\n"
      "{{\"user_id\":\"user-000013\",\"email\":\"bad@\"}}\n",
      user_id_for(10), email_for(10), user_id_for(11), email_for(11), user_id_for(0),
      user_id_for(12), email_for(12));
  auto a2 = ingest_ndjson(api(), id, batch2);
  EXPECT_EQ(num(a2, "accepted"), 4) << json::serialize(a2);
  EXPECT_EQ(num(a2, "duplicates"), 1) << json::serialize(a2);
  EXPECT_EQ(rejections(a2), (std::vector<Rejection>{{4, "invalid_json"}, {6, "invalid_email"}}));
  EXPECT_EQ(num(a2, "received_total"), 15);

  // ---- CSV: data.* columns, duplicates by user_id and by address, a bad address, a short row.
  std::string batch3 =
      "user_id,email,data.name\n"
      "user-000020,user20@example.com,\n"
      "user-000021,user21@example.com,Grace\n"
      "user-000010,user10@example.com,\n"  // duplicate of the NDJSON user 10
      ",anon1@example.com,\n"              // duplicate by address
      "user-000022,user22@example.com,\"Zed, Jr.\"\n"
      "user-000022,user22@example.com,\"Zed, Jr.\"\n"  // duplicate within the batch
      "user-000023,nope,\n"
      "user-000024,user24@example.com\n";  // one field short
  auto a3 = ingest_csv(api(), id, batch3);
  EXPECT_EQ(num(a3, "accepted"), 3) << json::serialize(a3);
  EXPECT_EQ(num(a3, "duplicates"), 3) << json::serialize(a3);
  EXPECT_EQ(rejections(a3), (std::vector<Rejection>{{6, "invalid_email"}, {7, "invalid_csv_row"}}));
  EXPECT_EQ(num(a3, "received_total"), 23);

  auto before_run = get_job(api(), id);
  EXPECT_EQ(str(before_run, "status"), "CREATED");
  EXPECT_TRUE(counters_add_up(before_run));
  EXPECT_EQ(num(before_run, "received"), 23);
  EXPECT_EQ(num(before_run, "unique"), 11);
  EXPECT_EQ(num(before_run, "duplicates"), 5);
  EXPECT_EQ(num(before_run, "rejected"), 7);
  EXPECT_EQ(num(before_run, "pending"), 11);
  EXPECT_EQ(num(before_run, "sent"), 0);

  // Before the run nobody has a message id and everybody is PENDING.
  for (const auto& u : list_all_users(api(), id, 4)) {
    EXPECT_EQ(str(u, "status"), "PENDING") << json::serialize(u);
    EXPECT_TRUE(u.at("message_id").is_null()) << json::serialize(u);
  }

  // ---- run and watch.
  auto ran = run_job(api(), id);
  EXPECT_EQ(str(ran, "job_id"), id);
  EXPECT_TRUE(str(ran, "status") == "PROCESSING" || str(ran, "status") == "COMPLETED")
      << json::serialize(ran);
  auto done = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED", "CANCELLED"});
  ASSERT_EQ(str(done, "status"), "COMPLETED") << json::serialize(done);
  EXPECT_TRUE(counters_add_up(done));
  EXPECT_EQ(num(done, "received"), 23);
  EXPECT_EQ(num(done, "unique"), 11);
  EXPECT_EQ(num(done, "sent"), 11);
  EXPECT_EQ(num(done, "pending"), 0);
  EXPECT_EQ(num(done, "enqueued"), 0);
  EXPECT_EQ(num(done, "failed"), 0);
  EXPECT_FALSE(str(done, "started_at").empty());
  EXPECT_FALSE(str(done, "finished_at").empty());
  EXPECT_GE(str(done, "finished_at"), str(done, "started_at"));
  EXPECT_EQ(num(done, "estimated_seconds_remaining"), 0);

  // ---- every recipient, in ingest order, through small pages.
  const std::vector<Expected> expected = {
      {user_id_for(0), email_for(0), "Hello friend", "Dear friend"},
      {user_id_for(1), email_for(1), "Hello Ada", "Dear Ada"},
      {user_id_for(2), email_for(2), "Hello friend", "Dear friend"},
      {user_id_for(3), email_for(3), "Hello friend", "Dear friend"},
      {user_id_for(10), email_for(10), "Hello friend", "Dear friend"},
      {user_id_for(11), email_for(11), "Hey Bob", "Dear Bob"},
      {"", "anon1@example.com", "Hello friend", "Dear friend"},
      {user_id_for(12), email_for(12), "Hello friend", "Dear friend"},
      {"user-000020", "user20@example.com", "Hello friend", "Dear friend"},
      {"user-000021", "user21@example.com", "Hello Grace", "Dear Grace"},
      {"user-000022", "user22@example.com", "Hello Zed, Jr.", "Dear Zed, Jr."},
  };
  for (std::size_t limit : {1, 3, 1000}) {
    auto users = list_all_users(api(), id, limit);
    ASSERT_EQ(users.size(), expected.size()) << "limit " << limit;
    for (std::size_t i = 0; i < users.size(); ++i) {
      EXPECT_EQ(str(users[i], "user_id"), expected[i].user_id) << "limit " << limit << ", #" << i;
      EXPECT_EQ(str(users[i], "email"), expected[i].email) << "limit " << limit << ", #" << i;
      if (i > 0) {
        EXPECT_GT(num(users[i], "seq"), num(users[i - 1], "seq"));
      }
    }
  }
  auto sent = list_all_users(api(), id, 4, "SENT");
  EXPECT_EQ(sent.size(), expected.size());
  EXPECT_TRUE(list_all_users(api(), id, 4, "PENDING").empty());
  EXPECT_TRUE(list_all_users(api(), id, 4, "FAILED").empty());

  std::map<std::string, std::int64_t> seq_of_message;  // message_id -> seq
  for (std::size_t i = 0; i < sent.size(); ++i) {
    const auto& u = sent[i];
    EXPECT_EQ(str(u, "status"), "SENT") << json::serialize(u);
    EXPECT_GE(num(u, "attempts"), 1) << json::serialize(u);
    EXPECT_TRUE(u.at("error").is_null()) << json::serialize(u);
    EXPECT_FALSE(str(u, "updated_at").empty()) << json::serialize(u);
    auto mid = str(u, "message_id");
    ASSERT_FALSE(mid.empty()) << json::serialize(u);
    EXPECT_TRUE(seq_of_message.emplace(mid, num(u, "seq")).second) << "message id shared: " << mid;
  }
  // The per-user data is kept as sent.
  EXPECT_EQ(sent[1].at("data"), (json::value(json::object{{"name", "Ada"}})));
  EXPECT_EQ(sent[5].at("data"), (json::value(json::object{{"name", "Bob"}, {"greeting", "Hey"}})));
  EXPECT_EQ(sent[9].at("data"), (json::value(json::object{{"name", "Grace"}})));

  // ---- the delivery log: every recipient exactly once, rendered.
  auto lines = read_delivery_log(delivery_log());
  ASSERT_EQ(lines.size(), expected.size());
  std::map<std::string, json::object> line_of;
  for (const auto& l : lines) {
    EXPECT_EQ(str(l, "job_id"), id);
    EXPECT_EQ(str(l, "channel"), "email");
    EXPECT_TRUE(line_of.emplace(str(l, "message_id"), l).second)
        << "delivered twice: " << json::serialize(l);
  }
  for (std::size_t i = 0; i < sent.size(); ++i) {
    auto it = line_of.find(str(sent[i], "message_id"));
    ASSERT_NE(it, line_of.end()) << "not delivered: " << json::serialize(sent[i]);
    const auto& l = it->second;
    EXPECT_EQ(num(l, "seq"), num(sent[i], "seq"));
    EXPECT_EQ(str(l, "to"), expected[i].email);
    EXPECT_EQ(str(l, "user_id"), expected[i].user_id);
    EXPECT_EQ(str(l, "subject"), expected[i].subject) << json::serialize(l);
    EXPECT_EQ(str(l, "text"), expected[i].text) << json::serialize(l);
  }

  // The job is in the tenant's listing, with the same counters.
  auto listing = require(api().get("/v1/jobs"), 200, "list jobs");
  const auto& jobs = listing.at("jobs").as_array();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(counters_snapshot(jobs[0].as_object()), counters_snapshot(get_job(api(), id)));
}

TEST_F(FlowTest, SmsJobRendersPerUserDataAndListsJobsNewestFirst) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(create_job(api(), sms_job_spec()));
  const std::string& id = ids.back();
  json::array users = {
      json::object{{"user_id", "u1"}, {"phone", "+1 (415) 555-0100"}, {"data", {{"name", "Lin"}}}},
      json::object{{"phone", "+14155550101"}},
      json::object{{"phone", "+14155550101"}},  // duplicate address
      json::object{{"phone", "0044"}},          // not E.164
      json::object{{"user_id", 12345},
                   {"phone", "+14155550102"},
                   {"data", {{"name", "Zo\u00EB \u6771\u4EAC"}}}},
  };
  auto a = ingest_json(api(), id, users);
  EXPECT_EQ(num(a, "accepted"), 3);
  EXPECT_EQ(num(a, "duplicates"), 1);
  EXPECT_EQ(rejections(a), (std::vector<Rejection>{{3, "invalid_phone_number"}}));
  run_job(api(), id);
  auto done = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  EXPECT_EQ(str(done, "status"), "COMPLETED");

  std::map<std::string, std::string> body_to;
  for (const auto& l : read_delivery_log(delivery_log())) body_to[str(l, "to")] = str(l, "body");
  EXPECT_EQ(body_to,
            (std::map<std::string, std::string>{{"+14155550100", "Hi Lin"},
                                                {"+14155550101", "Hi there"},
                                                {"+14155550102", "Hi Zo\u00EB \u6771\u4EAC"}}));
  auto listed_users = list_all_users(api(), id);
  ASSERT_EQ(listed_users.size(), 3u);
  EXPECT_EQ(str(listed_users[0], "user_id"), "u1");
  EXPECT_EQ(str(listed_users[0], "phone"), "+14155550100");  // normalised
  EXPECT_EQ(str(listed_users[2], "user_id"), "12345");       // a number, kept as written

  // Newest first, by a cursor of one job per page; a status filter.
  // (Jobs created in the same millisecond may come in either order.)
  std::vector<std::string> listed, created_at;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto r = require(api().get("/v1/jobs?limit=1" + (cursor.empty() ? "" : "&cursor=" + cursor)),
                     200, "list");
    EXPECT_LE(r.at("jobs").as_array().size(), 1u);
    for (const auto& j : r.at("jobs").as_array()) {
      listed.push_back(str(j.as_object(), "job_id"));
      created_at.push_back(str(j.as_object(), "created_at"));
    }
    const auto& paging = r.at("paging").as_object();
    if (!paging.at("more").as_bool()) break;
    cursor = std::string(paging.at("cursor").as_string());
  }
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()),
            std::set<std::string>(ids.begin(), ids.end()));
  EXPECT_EQ(listed.size(), ids.size());
  EXPECT_TRUE(std::is_sorted(created_at.rbegin(), created_at.rend()))
      << fmt::format("{}", fmt::join(created_at, ", "));
  auto completed = require(api().get("/v1/jobs?status=COMPLETED"), 200, "list completed");
  ASSERT_EQ(completed.at("jobs").as_array().size(), 1u);
  EXPECT_EQ(str(completed.at("jobs").as_array()[0].as_object(), "job_id"), id);
  auto created = require(api().get("/v1/jobs?status=CREATED"), 200, "list created");
  EXPECT_EQ(created.at("jobs").as_array().size(), 2u);
}

}  // namespace
}  // namespace crier::e2e
