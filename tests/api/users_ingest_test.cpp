// POST /v1/jobs/{id}/users: JSON, NDJSON and CSV bodies, all passed
// buffered through Router::handle.
#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

// The job's counters as GET /v1/jobs/{id} shows them.
struct Counts {
  std::int64_t received, unique, duplicates, rejected, pending;
  bool operator==(const Counts&) const = default;
};

class IngestFixture : public ApiTest {
 protected:
  Counts counts(const std::string& id) {
    auto b = get_job(id);
    return {int_of(b, "received"), int_of(b, "unique"), int_of(b, "duplicates"), int_of(b, "rejected"),
            int_of(b, "pending")};
  }
};

using JsonIngestTest = IngestFixture;
using StreamIngestTest = IngestFixture;

TEST_F(JsonIngestTest, CountsAcceptedDuplicatesAndRejected) {
  std::string id = create_job();
  auto r = ingest(id, R"({"users":[
      {"email":"a@example.com","user_id":"a"},
      {"email":"b@example.com"},
      {"email":"a@example.com","user_id":"a"},
      {"email":"not-an-email"},
      {"phone":"+14155550100"},
      {"email":"c@EXAMPLE.com"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(int_of(b, "accepted"), 3);
  EXPECT_EQ(int_of(b, "duplicates"), 1);
  EXPECT_EQ(int_of(b, "rejected_count"), 2);
  EXPECT_EQ(b.at("rejected_truncated"), false);
  EXPECT_EQ(int_of(b, "received_total"), 6);
  EXPECT_EQ(int_of(b, "unique_total"), 3);
  const auto& rejected = b.at("rejected").as_array();
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(int_of(rejected[0].as_object(), "index"), 3);
  EXPECT_EQ(rejected[0].at("code"), "invalid_email");
  EXPECT_EQ(rejected[0].at("field"), "email");
  EXPECT_EQ(int_of(rejected[1].as_object(), "index"), 4);
  EXPECT_EQ(rejected[1].at("code"), "missing_address");
  EXPECT_FALSE(rejected[1].as_object().contains("line"));

  EXPECT_EQ(counts(id), (Counts{6, 3, 1, 2, 3}));
  // A second batch dedupes against the first.
  auto again = body_of(ingest(id, R"({"users":[{"email":"b@example.com"},{"email":"d@example.com"}]})"));
  EXPECT_EQ(int_of(again, "accepted"), 1);
  EXPECT_EQ(int_of(again, "duplicates"), 1);
  EXPECT_EQ(int_of(again, "unique_total"), 4);
}

// The answer lists at most 10 000 rejected users (docs/api.md); the count
// says how many there were, and the flag that the list was cut.
TEST_F(JsonIngestTest, TheRejectedListStopsAtItsCapAndSaysSo) {
  ASSERT_EQ(ctx_->limits.max_rejected_listed, 10000u) << "the documented default";
  std::string id = create_job();
  std::string body = R"({"users":[{"email":"first@example.com"})";
  for (int i = 0; i < 10005; ++i) body += R"(,{"email":"not-an-email"})";
  body += R"(,{"email":"last@example.com"}]})";
  auto r = ingest(id, body);
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  auto b = body_of(r);
  EXPECT_EQ(int_of(b, "accepted"), 2);
  EXPECT_EQ(int_of(b, "rejected_count"), 10005);
  EXPECT_EQ(b.at("rejected_truncated"), true);
  const auto& rejected = b.at("rejected").as_array();
  ASSERT_EQ(rejected.size(), 10000u);
  EXPECT_EQ(int_of(rejected.front().as_object(), "index"), 1) << "the first ones are listed";
  EXPECT_EQ(int_of(rejected.back().as_object(), "index"), 10000);
  EXPECT_EQ(counts(id).rejected, 10005);
}

TEST_F(JsonIngestTest, TooManyUsersIs413AndStoresNothing) {
  ctx_->limits.max_users_per_batch = 3;
  std::string id = create_job();
  auto r = ingest(id, users_body(0, 4));
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(error_code(r), "too_many_users");
  EXPECT_EQ(counts(id), (Counts{0, 0, 0, 0, 0}));
  // Exactly the limit is fine.
  auto ok = ingest(id, users_body(0, 3));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(counts(id).unique, 3);
}

TEST_F(JsonIngestTest, MalformedBodiesAre400AndStoreNothing) {
  std::string id = create_job();
  ASSERT_EQ(ingest(id, users_body(0, 2)).status, 200);
  const Counts before = counts(id);
  struct Case {
    const char* name;
    std::string body;
    const char* code;
  };
  const std::vector<Case> cases = {
      {"truncated", R"({"users":[{"email":"x1@example.com"},{"email":"x2@exa)", "invalid_json"},
      {"unclosed array", R"({"users":[{"email":"x1@example.com"})", "invalid_json"},
      {"invalid UTF-8", "{\"users\":[{\"email\":\"x1@example.com\",\"user_id\":\"\xff\xfe\"}]}", "invalid_json"},
      {"trailing garbage", R"({"users":[{"email":"x1@example.com"}]} trailing)", "invalid_json"},
      {"second document", R"({"users":[{"email":"x1@example.com"}]}{"users":[]})", "invalid_json"},
      {"users not an array", R"({"users":{"email":"x1@example.com"}})", "invalid_body"},
      {"body not an object", R"([{"email":"x1@example.com"}])", "invalid_body"},
      {"no users key", R"({"people":[{"email":"x1@example.com"}]})", "missing_field"},
      {"empty body", "", "invalid_json"},
  };
  for (const auto& c : cases) {
    auto r = ingest(id, c.body);
    EXPECT_EQ(r.status, 400) << c.name << ": " << r.body;
    EXPECT_EQ(error_code(r), c.code) << c.name << ": " << r.body;
    EXPECT_EQ(counts(id), before) << c.name;
  }
}

TEST_F(JsonIngestTest, NumericUserIdIsAcceptedAsWritten) {
  std::string id = create_job();
  auto r = ingest(id, R"({"users":[{"user_id":12345,"email":"n@example.com"},{"user_id":true,"email":"m@example.com"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(int_of(b, "accepted"), 1);
  ASSERT_EQ(b.at("rejected").as_array().size(), 1u);
  EXPECT_EQ(b.at("rejected").as_array()[0].at("code"), "invalid_user_id");
  auto users = all_users(id);
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].at("user_id"), "12345");
}

TEST_F(JsonIngestTest, NumericUserIdsThatAreNotWhole64BitNumbersAreRefusedPerUser) {
  std::string id = create_job();
  auto r = ingest(id, R"({"users":[{"user_id":1e999,"email":"a@example.com"},)"
                      R"({"user_id":18446744073709551616,"email":"b@example.com"},)"
                      R"({"user_id":1.5,"email":"c@example.com"},)"
                      R"({"user_id":1e3,"email":"d@example.com"},)"
                      R"({"user_id":18446744073709551615,"email":"e@example.com"},)"
                      R"({"user_id":-7,"email":"f@example.com"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(int_of(b, "accepted"), 2);
  const auto& rejected = b.at("rejected").as_array();
  ASSERT_EQ(rejected.size(), 4u) << r.body;
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(rejected[i].at("index").as_int64(), static_cast<std::int64_t>(i));
    EXPECT_EQ(rejected[i].at("code"), "invalid_user_id");
  }
  auto users = all_users(id);
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].at("user_id"), "18446744073709551615");
  EXPECT_EQ(users[1].at("user_id"), "-7");
}

TEST_F(JsonIngestTest, DataNestedDeeperThanRenderingAcceptsIsRefusedAtIngest) {
  std::string id = create_job();
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += R"({"a":)";
  deep += "1";
  for (int i = 0; i < 40; ++i) deep += "}";
  auto r = ingest(id, R"({"users":[{"email":"a@example.com","data":)" + deep + R"(},{"email":"b@example.com"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(int_of(b, "accepted"), 1);
  ASSERT_EQ(b.at("rejected").as_array().size(), 1u);
  EXPECT_EQ(b.at("rejected").as_array()[0].at("code"), "invalid_data");
}

TEST_F(JsonIngestTest, DataMustBeAnObjectPerUser) {
  std::string id = create_job();
  auto r = ingest(id, R"({"users":[
      {"email":"a@example.com","data":[1,2]},
      {"email":"b@example.com","data":"text"},
      {"email":"c@example.com","data":{"ok":true}},
      {"email":"d@example.com","data":null}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(int_of(b, "accepted"), 2);
  const auto& rejected = b.at("rejected").as_array();
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(int_of(rejected[0].as_object(), "index"), 0);
  EXPECT_EQ(rejected[0].at("code"), "invalid_data");
  EXPECT_EQ(rejected[0].at("field"), "data");
  EXPECT_EQ(int_of(rejected[1].as_object(), "index"), 1);
  EXPECT_EQ(rejected[1].at("code"), "invalid_data");
}

TEST_F(JsonIngestTest, NestedDataIsStoredAndListed) {
  std::string id = create_job();
  auto r = ingest(id, R"({"users":[{"email":"a@example.com","data":
      {"name":"Ann","order":{"id":42,"items":[{"sku":"X-1","qty":2},{"sku":"Y-2","price":9.5}]},"vip":true,"note":"caf\u00e9 \"q\""}}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto users = all_users(id);
  ASSERT_EQ(users.size(), 1u);
  json::value expected = json::parse(
      R"({"name":"Ann","order":{"id":42,"items":[{"sku":"X-1","qty":2},{"sku":"Y-2","price":9.5}]},"vip":true,"note":"café \"q\""})");
  EXPECT_EQ(users[0].at("data"), expected);
  EXPECT_EQ(users[0].at("email"), "a@example.com");
  EXPECT_EQ(users[0].at("status"), "PENDING");
  EXPECT_TRUE(users[0].at("message_id").is_null());
}

TEST_F(JsonIngestTest, UnknownUserFieldsAreIgnored) {
  std::string id = create_job();
  auto r = ingest(id, R"({"users":[{"email":"a@example.com","favourite_colour":{"deep":[1,{"x":2}]}}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(int_of(body_of(r), "accepted"), 1);
}

TEST_F(StreamIngestTest, NdjsonSkipsBlankLinesAndRejectsBadLinesByLineNumber) {
  std::string id = create_job();
  std::string body =
      "{\"email\":\"a@example.com\"}\n"
      "\n"
      "   \r\n"
      "{\"email\":\"b@example.com\",\"data\":{\"n\":1}}\r\n"
      "{not json\n"
      "[1,2]\n"
      "{\"email\":\"nope\"}\n"
      "{\"email\":\"c@example.com\"}";  // no final newline
  auto r = ingest(id, body, "application/x-ndjson");
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(int_of(b, "accepted"), 3);
  EXPECT_EQ(int_of(b, "rejected_count"), 3);
  const auto& rejected = b.at("rejected").as_array();
  ASSERT_EQ(rejected.size(), 3u);
  EXPECT_EQ(int_of(rejected[0].as_object(), "line"), 5);
  EXPECT_EQ(int_of(rejected[0].as_object(), "index"), 2);
  EXPECT_EQ(rejected[0].at("code"), "invalid_json");
  EXPECT_EQ(int_of(rejected[1].as_object(), "line"), 6);
  EXPECT_EQ(rejected[1].at("code"), "invalid_user");
  EXPECT_EQ(int_of(rejected[2].as_object(), "line"), 7);
  EXPECT_EQ(rejected[2].at("code"), "invalid_email");

  auto users = all_users(id);
  ASSERT_EQ(users.size(), 3u);
  EXPECT_EQ(users[0].at("email"), "a@example.com");
  EXPECT_EQ(users[1].at("data"), (json::object{{"n", 1}}));
  EXPECT_EQ(users[2].at("email"), "c@example.com");
}

// A streamed body fed piece by piece, as the server feeds it.
class PipelinedStreamTest : public IngestFixture {
 protected:
  PipelinedStreamTest() { ctx_->limits.stream_commit_users = 100; }

  std::unique_ptr<api::BodyStream> open(const std::string& job_id) {
    auto req = request("POST", "/v1/jobs/" + job_id + "/users");
    req.content_type = "application/x-ndjson";
    auto opened = router_->open_stream(req);
    if (!std::holds_alternative<std::unique_ptr<api::BodyStream>>(opened))
      throw std::runtime_error("no stream: " + std::get<api::ApiResponse>(opened).body);
    return std::move(std::get<std::unique_ptr<api::BodyStream>>(opened));
  }
  static std::string lines(int from, int to) {
    std::string out;
    for (int i = from; i < to; ++i) out += fmt::format("{{\"email\":\"u{}@example.com\"}}\n", i);
    return out;
  }
};

TEST_F(PipelinedStreamTest, CommitsRunBehindTheParserInOrderAndTheAnswerWaitsForAll) {
  // Commits of 100 run while the next 100 are parsed: each must still see the
  // ones before it (a duplicate across a commit boundary is caught) and get
  // the next seqs, and the answer must count every one of them.
  std::string id = create_job();
  auto stream = open(id);
  std::string body = lines(0, 1050) + "{\"email\":\"u50@example.com\"}\n" + lines(1050, 1100);
  for (std::size_t at = 0; at < body.size(); at += 777) ASSERT_TRUE(stream->feed(std::string_view(body).substr(at, 777)).ok());
  auto r = stream->finish();
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(int_of(b, "accepted"), 1100);
  EXPECT_EQ(int_of(b, "duplicates"), 1);
  EXPECT_EQ(int_of(b, "unique_total"), 1100);
  EXPECT_EQ(counts(id), (Counts{1101, 1100, 1, 0, 1100}));
  auto users = all_users(id);
  ASSERT_EQ(users.size(), 1100u);
  for (int i = 0; i < 1100; ++i) {
    EXPECT_EQ(int_of(users[i], "seq"), i);
    EXPECT_EQ(users[i].at("email").as_string(), fmt::format("u{}@example.com", i)) << i;
  }
}

TEST_F(PipelinedStreamTest, ACommitThatFailsBehindTheParserEndsTheStreamWithWhatWasCommitted) {
  std::string id = create_job();
  auto stream = open(id);
  ASSERT_TRUE(stream->feed(lines(0, 100)).ok());  // the first commit starts behind the parser
  for (int i = 0; i < 2000 && counts(id).unique < 100; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(counts(id).unique, 100);
  // The job leaves CREATED: the next commit, started by the next 100 users,
  // fails on its own thread; the stream answers that error at its end.
  auto run = send("POST", "/v1/jobs/" + id + "/run");
  ASSERT_EQ(run.status, 202) << run.body;
  ASSERT_TRUE(stream->feed(lines(100, 250)).ok());
  auto r = stream->finish();
  ASSERT_EQ(r.status, 409) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(b.at("error").at("code"), "invalid_state_transition");
  const auto& ingested = b.at("ingested").as_object();
  EXPECT_EQ(int_of(ingested, "accepted"), 100);
  EXPECT_EQ(int_of(ingested, "unique_total"), 100);
  EXPECT_EQ(counts(id).received, 100);
}

TEST_F(StreamIngestTest, NdjsonLineWithTrailingContentIsRejected) {
  std::string id = create_job();
  auto r = ingest(id, "{\"email\":\"a@example.com\"} {\"email\":\"b@example.com\"}\n{\"email\":\"c@example.com\"}\n",
                  "application/x-ndjson");
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(int_of(b, "accepted"), 1);
  ASSERT_EQ(b.at("rejected").as_array().size(), 1u);
  EXPECT_EQ(int_of(b.at("rejected").as_array()[0].as_object(), "line"), 1);
}

TEST_F(StreamIngestTest, CsvBuildsNestedDataFromDottedColumns) {
  std::string id = create_job();
  auto r = ingest(id,
                  "user_id,email,locale,data.name,data.address.city,data.address.zip,preferences.email\n"
                  "u1,a@example.com,fr,Ann,Paris,75001,yes\n"
                  "u2,b@example.com,,\"Bob, Jr.\",,,\n",
                  "text/csv");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(int_of(body_of(r), "accepted"), 2);
  auto users = all_users(id);
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].at("user_id"), "u1");
  EXPECT_EQ(users[0].at("locale"), "fr");
  EXPECT_EQ(users[0].at("data"),
            json::parse(R"({"name":"Ann","address":{"city":"Paris","zip":"75001"}})"));
  // Empty cells set nothing.
  EXPECT_EQ(users[1].at("data"), (json::object{{"name", "Bob, Jr."}}));
  EXPECT_TRUE(users[1].at("locale").is_null());
}

TEST_F(StreamIngestTest, CsvUnknownColumnIs400AndStoresNothing) {
  std::string id = create_job();
  auto r = ingest(id, "email,shoe_size\na@example.com,44\n", "text/csv");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(error_code(r), "invalid_csv_header");
  EXPECT_EQ(error_field(r, "field"), "shoe_size");
  EXPECT_EQ(counts(id), (Counts{0, 0, 0, 0, 0}));
}

TEST_F(StreamIngestTest, CsvRaggedRowIsRejectedWithItsLine) {
  std::string id = create_job();
  auto r = ingest(id, "email,data.name\na@example.com,Ann\nb@example.com\nc@example.com,Cy,extra\nd@example.com,Di\n",
                  "text/csv");
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(int_of(b, "accepted"), 2);
  const auto& rejected = b.at("rejected").as_array();
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(rejected[0].at("code"), "invalid_csv_row");
  EXPECT_EQ(int_of(rejected[0].as_object(), "line"), 3);
  EXPECT_EQ(int_of(rejected[0].as_object(), "index"), 1);
  EXPECT_EQ(rejected[1].at("code"), "invalid_csv_row");
  EXPECT_EQ(int_of(rejected[1].as_object(), "line"), 4);
  EXPECT_EQ(counts(id), (Counts{4, 2, 0, 2, 2}));
}

TEST_F(StreamIngestTest, CsvHeaderWithUtf8BomIsAccepted) {
  std::string id = create_job();
  auto r = ingest(id, "\xEF\xBB\xBF" "email,data.name\r\na@example.com,Ann\r\n", "text/csv");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(int_of(body_of(r), "accepted"), 1);
  auto users = all_users(id);
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].at("email"), "a@example.com");
}

TEST_F(StreamIngestTest, CsvRowWithInvalidUtf8IsRejected) {
  std::string id = create_job();
  auto r = ingest(id, "email,data.name\na@example.com,\xC3\x28\nb@example.com,Bo\n", "text/csv");
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(int_of(b, "accepted"), 1);
  ASSERT_EQ(b.at("rejected").as_array().size(), 1u);
  EXPECT_EQ(b.at("rejected").as_array()[0].at("code"), "invalid_utf8");
}

TEST_F(StreamIngestTest, CsvWithoutHeaderIs400) {
  std::string id = create_job();
  auto r = ingest(id, "", "text/csv");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(error_code(r), "invalid_csv_header");
}

TEST_F(StreamIngestTest, AnUnterminatedQuotedCsvFieldIsALineTooLong) {
  ctx_->limits.max_line_bytes = 1000;
  std::string id = create_job();
  // One open quoted field, never closed: libcsv buffers it as it grows.
  auto r = ingest(id, "email,data.note\na@example.com,\"" + std::string(5000, 'x'), "text/csv");
  EXPECT_EQ(r.status, 413) << r.body.substr(0, 300);
  EXPECT_EQ(error_code(r), "line_too_long");
}

TEST_F(StreamIngestTest, CsvRowLimitCountsEachRowNotTheBody) {
  ctx_->limits.max_line_bytes = 100;
  std::string id = create_job();
  std::string body = "email,data.note\n";
  for (int i = 0; i < 50; ++i) body += fmt::format("u{}@example.com,\"two\nlines\"\r\n", i);
  auto r = ingest(id, body, "text/csv");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r).at("accepted").as_int64(), 50);
  auto long_row = ingest(id, "email,data.note\na@example.com,\"" + std::string(60, 'x') + "\n" +
                                 std::string(60, 'y') + "\"\n", "text/csv");
  EXPECT_EQ(long_row.status, 413) << "a quoted newline does not end the row: " << long_row.body.substr(0, 300);
}

}  // namespace
}  // namespace crier::testing
