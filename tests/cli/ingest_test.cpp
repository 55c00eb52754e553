// `crier ingest`: files in batches, rejected rows named by their line in the
// file, a re-run that ingests nothing twice, and --resume.
#include <fmt/format.h>

#include "tests/cli/cli_fixture.h"

namespace crier::cli_test {
namespace {

class IngestTest : public CliTest {
 protected:
  std::string new_job() {
    auto r = crier({"jobs", "create", "--channel", "email", "--content", R"({"email":{"text":"hi {{n}}"}})", "-o", "json"});
    if (r.exit_code != 0) throw std::runtime_error("create: " + r.describe());
    return str(stdout_object(r), "job_id");
  }
};

TEST_F(IngestTest, CsvWithQuotedNewlinesGoesInBatchesAndNamesRejectedRows) {
  const auto id = new_job();
  // Row 3's cell holds a newline inside quotes; row 5 is not an e-mail.
  std::string csv = "\xEF\xBB\xBFuser_id,email,data.note\n"
                    "a,a@example.com,plain\n"
                    "b,b@example.com,\"two\nlines, and a comma\"\n"
                    "c,c@example.com,x\n"
                    "d,nope,x\n"
                    "e,e@example.com,x\n";
  auto file = write_file("users.csv", csv);
  auto r = crier({"ingest", id, file.string(), "--batch-rows", "2", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  auto out = stdout_object(r);
  EXPECT_EQ(num(out, "rows"), 5);
  EXPECT_EQ(num(out, "batches"), 3);
  EXPECT_EQ(num(out, "accepted"), 4);
  ASSERT_EQ(out.at("rejected").as_array().size(), 1u);
  auto rejected = out.at("rejected").as_array()[0].as_object();
  EXPECT_EQ(num(rejected, "line"), 5) << json::serialize(rejected);
  EXPECT_EQ(str(rejected, "code"), "invalid_email");

  // The quoted newline reached the server inside one cell.
  auto users = api().get(fmt::format("/v1/jobs/{}/users?limit=2", id)).object();
  auto b = users.at("users").as_array()[1].as_object();
  EXPECT_EQ(str(b.at("data").as_object(), "note"), "two\nlines, and a comma");
}

TEST_F(IngestTest, RunningTheSameIngestAgainIngestsNothingTwice) {
  const auto id = new_job();
  auto file = write_file("users.ndjson", ndjson_users(0, 25));
  auto first = crier({"ingest", id, file.string(), "--batch-rows", "10", "-o", "json"});
  ASSERT_EQ(first.exit_code, 0) << first.describe();
  EXPECT_EQ(num(stdout_object(first), "accepted"), 25);

  // Same batches, same Idempotency-Keys: the server answers from its record.
  auto second = crier({"ingest", id, file.string(), "--batch-rows", "10"});
  ASSERT_EQ(second.exit_code, 0) << second.describe();
  EXPECT_NE(second.out.find("25 rows of"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("0 accepted, 0 duplicates, 0 rejected"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("25 of those rows (3 batches) were already ingested"), std::string::npos) << second.out;
  auto view = job(id);
  EXPECT_EQ(num(view, "received"), 25);
  EXPECT_EQ(num(view, "duplicates"), 0) << "replayed, not ingested again";
}

TEST_F(IngestTest, ResumeSkipsWhatTheJobHasReceived) {
  const auto id = new_job();
  auto head = write_file("head.ndjson", ndjson_users(0, 12));
  ASSERT_EQ(crier({"ingest", id, head.string()}).exit_code, 0);
  auto whole = write_file("whole.ndjson", ndjson_users(0, 30));
  auto r = crier({"ingest", id, whole.string(), "--resume", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  auto out = stdout_object(r);
  EXPECT_EQ(num(out, "skipped_rows"), 12);
  EXPECT_EQ(num(out, "rows"), 18);
  EXPECT_EQ(num(out, "accepted"), 18);
  EXPECT_EQ(num(out, "unique_total"), 30);
  EXPECT_EQ(num(job(id), "duplicates"), 0);
}

TEST_F(IngestTest, StdinNeedsAFormatAndStreams) {
  const auto id = new_job();
  auto file = write_file("users.txt", csv_users(0, 4));
  auto unknown = crier({"ingest", id, file.string()});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.describe();
  EXPECT_NE(unknown.err.find("--format"), std::string::npos) << unknown.err;

  auto piped = crier({"ingest", id, "-", "--format", "csv", "-o", "json"}, {}, file);
  ASSERT_EQ(piped.exit_code, 0) << piped.describe();
  EXPECT_EQ(num(stdout_object(piped), "accepted"), 4);
  EXPECT_EQ(num(stdout_object(piped), "bytes"), static_cast<std::int64_t>(csv_users(0, 4).size()));

  // A job that is not CREATED refuses users: the server's code, exit 1.
  // (The same batch again would be a replay of its first answer: other users.)
  ASSERT_EQ(crier({"jobs", "run", id}).exit_code, 0);
  auto more = write_file("more.csv", csv_users(10, 4));
  auto late = crier({"ingest", id, more.string()});
  EXPECT_EQ(late.exit_code, 1) << late.describe();
  EXPECT_TRUE(late.err.starts_with("error: invalid_state_transition: ")) << late.err;
  EXPECT_EQ(late.err.find("--resume"), std::string::npos) << "nothing to resume when the first batch is refused: " << late.err;
}

TEST_F(IngestTest, AHeaderTheServerRefusesIsOneErrorLineAndNothingIsStored) {
  const auto id = new_job();
  auto file = write_file("users.csv", "user_id,email,favourite_colour\nu1,u1@example.com,blue\n");
  auto r = crier({"ingest", id, file.string()});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_TRUE(r.err.starts_with("error: invalid_csv_header: ")) << r.err;
  EXPECT_NE(r.err.find("field favourite_colour"), std::string::npos) << r.err;
  EXPECT_EQ(num(job(id), "received"), 0);

  auto empty = write_file("empty.csv", "\n\n");
  auto no_header = crier({"ingest", id, empty.string()});
  EXPECT_EQ(no_header.exit_code, 2) << "found before sending anything: " << no_header.describe();
  EXPECT_NE(no_header.err.find("has no header row"), std::string::npos) << no_header.err;
}

}  // namespace
}  // namespace crier::cli_test
