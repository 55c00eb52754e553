// Job and message identifiers: the string form round-trips, parses
// leniently (case, Crockford aliases) but strictly (shape), and sorts by
// creation time; message ids are a pure function of (job, seq).
#include "engine/ids.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

namespace crier {
namespace {

constexpr std::int64_t kSomeMs = 1'764'064'800'000;  // 2025-11-25T10:00:00Z

TEST(JobIdTest, StringRoundTripsThroughParse) {
  for (std::int64_t ms : {std::int64_t{0}, std::int64_t{1}, kSomeMs, (std::int64_t{1} << 48) - 1}) {
    JobKey key = new_job_key(ms);
    std::string id = job_id_string(key);
    ASSERT_EQ(id.size(), 30u);
    EXPECT_EQ(id.substr(0, 4), "job_");
    auto parsed = parse_job_id(id);
    ASSERT_TRUE(parsed.has_value()) << id;
    EXPECT_EQ(*parsed, key) << id;
  }
}

TEST(JobIdTest, ExtremeKeysRoundTrip) {
  JobKey zeros{};
  JobKey ones;
  ones.fill(0xff);
  for (const JobKey& key : {zeros, ones}) {
    auto parsed = parse_job_id(job_id_string(key));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, key);
  }
  // 128 bits of ones: the first digit carries the top 3 bits, so it is 7.
  EXPECT_EQ(job_id_string(ones)[4], '7');
}

TEST(JobIdTest, ParseIsCaseInsensitive) {
  JobKey key = new_job_key(kSomeMs);
  std::string id = job_id_string(key);
  std::string lower = "job_";
  for (char c : id.substr(4))
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  auto parsed = parse_job_id(lower);
  ASSERT_TRUE(parsed.has_value()) << lower;
  EXPECT_EQ(*parsed, key);
}

TEST(JobIdTest, ParseAcceptsCrockfordAliases) {
  // I and L read as 1, O as 0.
  std::string canonical = "job_" + std::string(25, '0') + "1";
  std::string aliased_l = "job_" + std::string(24, 'O') + "0L";
  std::string aliased_i = "job_" + std::string(25, 'o') + "i";
  auto a = parse_job_id(canonical), b = parse_job_id(aliased_l), c = parse_job_id(aliased_i);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*a, *c);
}

TEST(JobIdTest, ParseRejectsMalformedIds) {
  std::string good = job_id_string(new_job_key(kSomeMs));
  ASSERT_TRUE(parse_job_id(good).has_value());

  std::vector<std::string> bad = {
      "",
      "job_",
      good.substr(0, 29),       // one character short
      good + "0",               // one character long
      "jub_" + good.substr(4),  // wrong prefix
      "JOB_" + good.substr(4),  // the prefix is not case-insensitive
      "msg_" + good.substr(4),
      "job-" + good.substr(4),
      good.substr(0, 10) + "U" + good.substr(11),  // U is not in Crockford base32
      good.substr(0, 10) + "!" + good.substr(11),
      good.substr(0, 10) + " " + good.substr(11),
      "job_8" + good.substr(5),  // first digit > 7 overflows 128 bits
      "job_Z" + good.substr(5),
  };
  for (const auto& id : bad) EXPECT_FALSE(parse_job_id(id).has_value()) << "'" << id << "'";
}

TEST(JobIdTest, IdsSortByCreationTime) {
  std::vector<std::string> ids;
  for (std::int64_t ms : {kSomeMs, kSomeMs + 1, kSomeMs + 2, kSomeMs + 1000, kSomeMs + 86'400'000,
                          kSomeMs + std::int64_t{365} * 86'400'000})
    ids.push_back(job_id_string(new_job_key(ms)));
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
}

TEST(JobIdTest, KeysMadeInTheSameMillisecondDiffer) {
  std::set<JobKey> keys;
  for (int i = 0; i < 100; ++i) keys.insert(new_job_key(kSomeMs));
  EXPECT_EQ(keys.size(), 100u);
}

TEST(MessageIdTest, IsDeterministicForJobAndSeq) {
  JobKey job = new_job_key(kSomeMs);
  EXPECT_EQ(message_id(job, 42), message_id(job, 42));
  EXPECT_EQ(message_id(job, 0), message_id(JobKey(job), 0));
}

TEST(MessageIdTest, DiffersAcrossSeqsAndJobs) {
  JobKey a = new_job_key(kSomeMs), b = new_job_key(kSomeMs);
  ASSERT_NE(a, b);
  EXPECT_NE(message_id(a, 0), message_id(a, 1));
  EXPECT_NE(message_id(a, 1), message_id(a, 256));
  EXPECT_NE(message_id(a, 7), message_id(b, 7));
}

TEST(MessageIdTest, EmbedsTheJobAndTheSeqInHex) {
  JobKey job = new_job_key(kSomeMs);
  std::string id = message_id(job, 255);
  EXPECT_EQ(id, "msg_" + job_id_string(job).substr(4) + "_00000000000000ff");
}

TEST(MessageIdTest, FromTheJobIdStringIsTheSameAndParsesBack) {
  JobKey job = new_job_key(kSomeMs);
  const std::string jid = job_id_string(job);
  for (std::uint64_t seq : {0ULL, 1ULL, 0xabcdefULL, ~0ULL}) {
    std::string id = message_id(std::string_view(jid), seq);
    EXPECT_EQ(id, message_id(job, seq));
    auto parsed = parse_message_id(id);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->first, job);
    EXPECT_EQ(parsed->second, seq);
  }
}

TEST(MessageIdTest, WrittenOverAStringReplacesWhatItHeld) {
  JobKey job = new_job_key(kSomeMs);
  const std::string jid = job_id_string(job);
  std::string out = "something longer than any message id, left from before: 0123456789abcdef";
  for (std::uint64_t seq : {7ULL, 0ULL, ~0ULL}) {
    message_id_into(out, jid, seq);
    EXPECT_EQ(out, message_id(job, seq));
  }
}

TEST(RequestIdTest, HasPrefixAndHexDigitsAndVaries) {
  std::string a = new_request_id(), b = new_request_id();
  ASSERT_EQ(a.size(), 24u);
  EXPECT_EQ(a.substr(0, 4), "req_");
  EXPECT_TRUE(std::all_of(a.begin() + 4, a.end(),
                          [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }));
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace crier
