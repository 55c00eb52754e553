// The pieces of the CLI that need no server: a users file cut into batches
// of whole rows, --data items, and the progress lines' formatting.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <fstream>

#include "app/cli/job_spec.h"
#include "app/cli/progress.h"
#include "app/cli/user_file.h"
#include "tests/support/temp_dir.h"

namespace crier::cli {
namespace {

namespace json = boost::json;

std::vector<UserBatch> batches_of(const std::string& content, UserFormat format, std::uint64_t rows) {
  crier::testing::TempDir dir;
  auto path = dir.path() / "users";
  std::ofstream(path, std::ios::binary) << content;
  auto reader = UserFileReader::open(path.string(), format);
  EXPECT_TRUE(reader.ok()) << (reader.ok() ? "" : reader.error().message);
  std::vector<UserBatch> out;
  UserBatch b;
  for (;;) {
    auto more = (*reader)->next(b, rows, 1 << 20);
    EXPECT_TRUE(more.ok());
    if (!more.ok() || !*more) break;
    out.push_back(b);
  }
  return out;
}

TEST(UserFile, CsvBatchesRepeatTheHeaderAndKeepQuotedNewlines) {
  auto batches = batches_of("id,email\r\n1,\"a\nb\"\r\n\r\n2,x\n3,y", UserFormat::csv, 2);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].body, "id,email\r\n1,\"a\nb\"\r\n\r\n2,x\n");
  EXPECT_EQ(batches[0].rows, 2u) << "the blank row is passed on, not counted";
  EXPECT_EQ(batches[0].first_record, 2u);
  EXPECT_EQ(batches[1].body, "id,email\r\n3,y\n") << "a last row without a newline gets one";
  EXPECT_EQ(batches[1].first_record, 5u);
}

TEST(UserFile, NdjsonBatchesAndSkip) {
  crier::testing::TempDir dir;
  auto path = dir.path() / "u.ndjson";
  std::ofstream(path) << "{\"a\":1}\n\n{\"a\":2}\n{\"a\":3}\n";
  auto reader = UserFileReader::open(path.string(), UserFormat::ndjson);
  ASSERT_TRUE(reader.ok());
  auto skipped = (*reader)->skip(2);
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ(*skipped, 2u);
  UserBatch b;
  ASSERT_TRUE(*(*reader)->next(b, 10, 1 << 20));
  EXPECT_EQ(b.body, "{\"a\":3}\n");
  EXPECT_EQ(b.first_record, 4u);
  EXPECT_EQ((*reader)->bytes_read(), (*reader)->total_bytes());
}

TEST(UserFile, FormatFromFlagOrExtension) {
  EXPECT_EQ(user_format("", "x.csv"), UserFormat::csv);
  EXPECT_EQ(user_format("", "x.jsonl"), UserFormat::ndjson);
  EXPECT_EQ(user_format("csv", "x.ndjson"), UserFormat::csv);
  EXPECT_FALSE(user_format("", "-").has_value());
}

TEST(JobSpec, DataItemsNestAndTakeJson) {
  json::object data;
  ASSERT_TRUE(add_data_item(data, "a.b=x=y").ok());
  ASSERT_TRUE(add_data_item(data, "a.c:=[1,2]").ok());
  ASSERT_TRUE(add_data_item(data, "n:=3").ok());
  EXPECT_EQ(json::serialize(data), R"({"a":{"b":"x=y","c":[1,2]},"n":3})");
  EXPECT_FALSE(add_data_item(data, "novalue").ok());
  EXPECT_FALSE(add_data_item(data, "x:={").ok());
  EXPECT_FALSE(add_data_item(data, "a..b=1").ok());
}

TEST(Progress, Formatting) {
  EXPECT_EQ(with_commas(1234567), "1,234,567");
  EXPECT_EQ(with_commas(12), "12");
  EXPECT_EQ(human_bytes(999), "999 B");
  EXPECT_EQ(human_bytes(12'300'000), "12.3 MB");
  EXPECT_EQ(human_duration(65), "1m05s");
  EXPECT_EQ(human_duration(7380), "2h03m");
  EXPECT_EQ(bar(0.5, 4), "[##--]");
  EXPECT_EQ(describe_ingest({500, 50, 100, 2.0}, true),
            "[############------------]  50%  500 rows  250 rows/s  50 B / 100 B  ETA 2s");
  auto job = json::parse(R"({"job_id":"job_1","status":"PROCESSING","unique":1000,"sent":400,"delivered":100,
    "failed":10,"skipped":0,"cancelled":0,"rate_per_second":250,"estimated_seconds_remaining":2})").as_object();
  EXPECT_EQ(describe_job(job, false), "job_1 PROCESSING  sent 500  failed 10  skipped 0  of 1,000  250/s  ETA 2s");
  EXPECT_EQ(describe_job(job, true).substr(0, 42), "PROCESSING [############------------]  51%");
}

}  // namespace
}  // namespace crier::cli
