// Delivery receipts (POST /v1/receipts/{provider}, docs/api.md "Receipts")
// through the real server and store: what is refused and how (unknown ids,
// bad bodies, recipients in states that take no receipt), that a repeat
// changes nothing, and that many receipts at once, for the same messages and
// for different ones, leave counters that match the recipients' states.
//
// The jobs send email through the fixture's "log" provider, so their
// recipients are SENT without a receiver; receipts name that provider.
#include <fmt/format.h>

#include <map>
#include <thread>

#include "tests/e2e/e2e_fixture.h"

namespace crier::e2e {
namespace {

constexpr const char* kReceipts = "/v1/receipts/log";

// A recipient's message id, built as the server builds it (msg_<job>_<seq>,
// the seq in 16 hex digits: engine/ids.cpp).
std::string message_id_of(const std::string& job_id, std::int64_t seq) {
  return fmt::format("msg_{}_{:016x}", job_id.substr(4), seq);
}

json::object receipt(const std::string& message_id, std::string_view status) {
  return json::object{{"message_id", message_id}, {"status", status}};
}

class ReceiptsTest : public CrierTest {
 protected:
  // A job of `count` email users sent through "log", COMPLETED.
  std::string sent_job(std::size_t count) {
    const std::string id = create_job(api(), email_job_spec());
    ingest_json(api(), id, email_users(0, count));
    run_job(api(), id);
    auto done = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED", "CANCELLED"});
    if (str(done, "status") != "COMPLETED") throw std::runtime_error("not COMPLETED: " + json::serialize(done));
    return id;
  }

  json::object post_receipts(const json::array& receipts) {
    return require(api().post_json(kReceipts, json::object{{"receipts", receipts}}), 200, "receipts");
  }

  // The job's counters and every recipient's state, to show nothing moved.
  std::string stored_state(const std::string& id) {
    std::string s = counters_snapshot(get_job(api(), id)) + fmt::format(" read={}", num(get_job(api(), id), "read"));
    for (const auto& u : list_all_users(api(), id))
      s += fmt::format(" {}:{}:{}:{}", num(u, "seq"), str(u, "status"), json::serialize(u.at("error")),
                       json::serialize(u.at("read_at")));
    return s;
  }
};

// The rejected items of an answer, by index: code (and status when given).
std::map<std::int64_t, std::string> rejected_of(const json::object& answer) {
  std::map<std::int64_t, std::string> out;
  for (const auto& r : answer.at("rejected").as_array()) {
    const auto& o = r.as_object();
    std::string what = str(o, "code");
    if (o.contains("status")) what += "/" + str(o, "status");
    out[num(o, "index")] = what;
  }
  return out;
}

TEST_F(ReceiptsTest, UnknownAndMalformedIdsAreRejectedOneByOneAndChangeNothing) {
  const std::string id = sent_job(3);
  ASSERT_EQ(str(list_all_users(api(), id)[0], "message_id"), message_id_of(id, 0)) << "the id format is api.md's";
  const std::string other_job = "job_" + std::string(26, '0');  // well formed, never created

  auto answer = post_receipts({receipt(message_id_of(id, 3), "delivered"),     // past the job's last seq
                               receipt(message_id_of(other_job, 0), "delivered"),  // no such job
                               receipt("msg_bogus", "delivered"),               // not an id at all
                               receipt("", "read"),
                               receipt(message_id_of(id, 0) + "x", "read"),
                               receipt(message_id_of(id, 1), "delivered")});  // the one good one
  EXPECT_EQ(num(answer, "applied"), 1) << json::serialize(answer);
  const std::map<std::int64_t, std::string> expected{{0, "message_not_found"},
                                                      {1, "message_not_found"},
                                                      {2, "message_not_found"},
                                                      {3, "message_not_found"},
                                                      {4, "message_not_found"}};
  EXPECT_EQ(rejected_of(answer), expected) << json::serialize(answer);
  auto users = list_all_users(api(), id);
  EXPECT_EQ(str(users[0], "status"), "SENT");
  EXPECT_EQ(str(users[1], "status"), "DELIVERED");
  EXPECT_EQ(str(users[2], "status"), "SENT");
  // The good receipt moved its message, and only it.
  auto job = get_job(api(), id);
  EXPECT_EQ(num(job, "delivered"), 1);
  EXPECT_EQ(num(job, "sent"), 2);
  EXPECT_TRUE(counters_add_up(job));
}

TEST_F(ReceiptsTest, MalformedBodiesAreRefusedInTheErrorShapeAndStoreNothing) {
  const std::string id = sent_job(2);
  const std::string before = stored_state(id);
  const std::string mid = message_id_of(id, 0);

  expect_error(api().post(kReceipts, "{\"message_id\":", "application/json"), 400, "invalid_json");
  expect_error(api().post(kReceipts, "", "application/json"), 400, "invalid_json");
  expect_error(api().post_json(kReceipts, json::object{{"receipts", "all of them"}}), 400, "invalid_body");
  expect_error(api().post(kReceipts, json::serialize(receipt(mid, "delivered")), "text/plain"), 415,
               "unsupported_media_type");
  expect_error(api().post_json("/v1/receipts/nosuchprovider", receipt(mid, "delivered")), 404, "provider_not_found");
  json::array too_many;
  for (int i = 0; i < 10001; ++i) too_many.push_back(receipt(mid, "delivered"));
  expect_error(api().post_json(kReceipts, json::object{{"receipts", too_many}}), 413, "too_many_receipts");
  EXPECT_EQ(stored_state(id), before) << "a refused request stored nothing";

  // Bad receipts inside a good body: each rejected as invalid_receipt, by index.
  auto answer = post_receipts({json::object{{"status", "delivered"}},
                               json::object{{"message_id", 7}, {"status", "delivered"}},
                               receipt(mid, "bounced"),
                               json::object{{"message_id", mid}},
                               json::object{{"message_id", mid}, {"status", "failed"}, {"error", "mailbox full"}},
                               json::object{{"message_id", mid},
                                            {"status", "failed"},
                                            {"error", {{"code", std::string(65, 'c')}, {"message", "m"}}}},
                               json::object{{"message_id", mid},
                                            {"status", "failed"},
                                            {"error", {{"code", "c"}, {"message", std::string(1025, 'm')}}}},
                               "not an object",
                               json::value(nullptr)});
  EXPECT_EQ(num(answer, "applied"), 0) << json::serialize(answer);
  std::map<std::int64_t, std::string> expected;
  for (std::int64_t i = 0; i < 9; ++i) expected[i] = "invalid_receipt";
  EXPECT_EQ(rejected_of(answer), expected) << json::serialize(answer);
  EXPECT_EQ(stored_state(id), before);

  // A single receipt (not wrapped in "receipts") is one item at index 0.
  auto single = require(api().post_json(kReceipts, receipt(mid, "nope")), 200, "single receipt");
  EXPECT_EQ(num(single, "applied"), 0);
  EXPECT_EQ(rejected_of(single), (std::map<std::int64_t, std::string>{{0, "invalid_receipt"}}));
  EXPECT_EQ(stored_state(id), before);
  // And the server goes on serving.
  EXPECT_EQ(num(post_receipts({receipt(mid, "delivered")}), "applied"), 1);
  EXPECT_EQ(num(get_job(api(), id), "delivered"), 1);
}

TEST_F(ReceiptsTest, RepeatsChangeNothingAndReadIsCountedOnce) {
  const std::string id = sent_job(2);
  const std::string a = message_id_of(id, 0), b = message_id_of(id, 1);
  EXPECT_EQ(num(post_receipts({receipt(a, "read"), receipt(b, "delivered")}), "applied"), 2);
  const std::string once = stored_state(id);
  // The same again, several times, and in one request twice over: applied
  // (a repeat is safe to send) but no change.
  for (int i = 0; i < 3; ++i) {
    auto again = post_receipts({receipt(a, "read"), receipt(b, "delivered"), receipt(a, "read")});
    EXPECT_EQ(num(again, "applied"), 3) << json::serialize(again);
    EXPECT_TRUE(again.at("rejected").as_array().empty()) << json::serialize(again);
  }
  EXPECT_EQ(stored_state(id), once);
  auto job = get_job(api(), id);
  EXPECT_EQ(num(job, "read"), 1);
  EXPECT_EQ(num(job, "delivered"), 2);
  // `delivered` after `read` records when delivery was reported, once.
  auto users = list_all_users(api(), id);
  EXPECT_TRUE(users[0].at("delivered_at").is_null()) << json::serialize(users[0]);
  post_receipts({receipt(a, "delivered")});
  users = list_all_users(api(), id);
  const std::string delivered_at = str(users[0], "delivered_at");
  post_receipts({receipt(a, "delivered")});
  EXPECT_EQ(str(list_all_users(api(), id)[0], "delivered_at"), delivered_at);
  EXPECT_EQ(num(get_job(api(), id), "read"), 1);
}

TEST_F(ReceiptsTest, RecipientsInStatesThatTakeNoReceiptAreRejectedNamingTheState) {
  // FAILED by a receipt; then every receipt but `failed` is refused, and
  // `failed` again keeps the first error.
  const std::string sent = sent_job(2);
  const std::string f = message_id_of(sent, 0);
  json::object bounce = receipt(f, "failed");
  bounce["error"] = json::object{{"code", "mailbox_full"}, {"message", "first"}};
  EXPECT_EQ(num(post_receipts({bounce}), "applied"), 1);
  const std::string failed_state = stored_state(sent);
  json::object second = receipt(f, "failed");
  second["error"] = json::object{{"code", "other"}, {"message", "second"}};
  auto answer = post_receipts({receipt(f, "delivered"), receipt(f, "read"), second});
  EXPECT_EQ(num(answer, "applied"), 1) << json::serialize(answer);
  EXPECT_EQ(rejected_of(answer), (std::map<std::int64_t, std::string>{{0, "receipt_not_applicable/FAILED"},
                                                                      {1, "receipt_not_applicable/FAILED"}}));
  EXPECT_EQ(stored_state(sent), failed_state);
  auto u = list_all_users(api(), sent)[0];
  EXPECT_EQ(str(u.at("error").as_object(), "code"), "mailbox_full");
  EXPECT_EQ(num(get_job(api(), sent), "failed"), 1);

  // PENDING: a job never run. CANCELLED: a job cancelled before it ran.
  const std::string pending = create_job(api(), email_job_spec());
  ingest_json(api(), pending, email_users(0, 1));
  const std::string cancelled = create_job(api(), email_job_spec());
  ingest_json(api(), cancelled, email_users(0, 1));
  require(job_action(api(), cancelled, "cancel"), 200, "cancel");
  wait_for_status(api(), cancelled, {"CANCELLED"});
  const std::string pending_before = stored_state(pending), cancelled_before = stored_state(cancelled);
  answer = post_receipts({receipt(message_id_of(pending, 0), "delivered"),
                          receipt(message_id_of(pending, 0), "failed"),
                          receipt(message_id_of(cancelled, 0), "read"),
                          receipt(message_id_of(cancelled, 0), "failed")});
  EXPECT_EQ(num(answer, "applied"), 0) << json::serialize(answer);
  EXPECT_EQ(rejected_of(answer), (std::map<std::int64_t, std::string>{{0, "receipt_not_applicable/PENDING"},
                                                                      {1, "receipt_not_applicable/PENDING"},
                                                                      {2, "receipt_not_applicable/CANCELLED"},
                                                                      {3, "receipt_not_applicable/CANCELLED"}}));
  EXPECT_EQ(stored_state(pending), pending_before);
  EXPECT_EQ(stored_state(cancelled), cancelled_before);
}

// Eight clients post at once. Per group of messages:
//   A: every client reports `read`          -> DELIVERED, read once each
//   B: every client reports `delivered`     -> DELIVERED
//   C: half `delivered`, half `failed`      -> FAILED whatever the order
//      (a `delivered` after the `failed` is rejected; before it, overtaken)
//   D: each client `delivered` for its own  -> DELIVERED
//   E: no receipt                           -> SENT
// The counters must then equal the recipients' states, and add up.
TEST_F(ReceiptsTest, ConcurrentReceiptsLeaveCountersThatMatchTheRecipients) {
  constexpr int kClients = 8, kGroup = 40, kRounds = 3;
  const std::string id = sent_job(5 * kGroup);
  auto mid = [&](int group, int i) { return message_id_of(id, group * kGroup + i); };

  std::vector<json::object> answers(kClients * kRounds);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c)
    clients.emplace_back([&, c] {
      HttpClient client(port(), kKeyA);
      for (int round = 0; round < kRounds; ++round) {
        json::array list;
        for (int i = 0; i < kGroup; ++i) {
          list.push_back(receipt(mid(0, i), "read"));
          list.push_back(receipt(mid(1, i), "delivered"));
          list.push_back(receipt(mid(2, i), c % 2 ? "failed" : "delivered"));
        }
        for (int i = c; i < kGroup; i += kClients) list.push_back(receipt(mid(3, i), "delivered"));
        auto r = client.post_json(kReceipts, json::object{{"receipts", list}});
        answers[c * kRounds + round] = r.status == 200 ? r.object() : json::object{{"status", r.status}};
        answers[c * kRounds + round]["posted"] = list.size();
      }
    });
  for (auto& t : clients) t.join();

  for (const auto& a : answers) {
    ASSERT_TRUE(a.contains("applied")) << json::serialize(a);
    const auto rejected = a.at("rejected").as_array();
    EXPECT_EQ(num(a, "applied") + static_cast<std::int64_t>(rejected.size()), num(a, "posted"));
    for (const auto& r : rejected)  // only group C's late `delivered` can be refused
      EXPECT_EQ(str(r.as_object(), "code") + "/" + str(r.as_object(), "status"), "receipt_not_applicable/FAILED")
          << json::serialize(a);
  }

  std::map<std::string, std::int64_t> states;
  std::int64_t read = 0;
  auto users = list_all_users(api(), id);
  ASSERT_EQ(users.size(), 5u * kGroup);
  for (const auto& u : users) {
    ASSERT_EQ(str(u, "message_id"), message_id_of(id, num(u, "seq")));
    const std::int64_t group = num(u, "seq") / kGroup;
    const std::string status = str(u, "status");
    ++states[status];
    read += !u.at("read_at").is_null();
    const char* expected = group == 2 ? "FAILED" : group == 4 ? "SENT" : "DELIVERED";
    EXPECT_EQ(status, expected) << json::serialize(u);
    EXPECT_EQ(!u.at("read_at").is_null(), group == 0) << json::serialize(u);
  }
  auto job = get_job(api(), id);
  EXPECT_TRUE(counters_add_up(job)) << json::serialize(job);
  EXPECT_EQ(num(job, "delivered"), states["DELIVERED"]);
  EXPECT_EQ(num(job, "failed"), states["FAILED"]);
  EXPECT_EQ(num(job, "sent"), states["SENT"]);
  EXPECT_EQ(num(job, "read"), read);
  EXPECT_EQ(num(job, "delivered"), 3 * kGroup);
  EXPECT_EQ(num(job, "failed"), kGroup);
  EXPECT_EQ(num(job, "read"), kGroup);
}

}  // namespace
}  // namespace crier::e2e
