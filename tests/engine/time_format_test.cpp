// RFC 3339 timestamps <-> unix milliseconds.
#include "engine/time_format.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <ctime>

namespace crier {
namespace {

// 2026-11-25T10:00:00Z: 20,782 days and 10 hours after the epoch.
constexpr std::int64_t kNov25 = 20'782LL * 86'400'000 + 10LL * 3'600'000;

TEST(TimeFormatTest, ParsesUtcWithZ) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339("2026-11-25T10:00:00Z"), kNov25);
  EXPECT_EQ(parse_rfc3339("2026-11-25t10:00:00z"), kNov25);  // lower-case separators
  EXPECT_EQ(parse_rfc3339("2026-11-25 10:00:00Z"), kNov25);  // space instead of T
}

TEST(TimeFormatTest, AppliesOffsets) {
  EXPECT_EQ(parse_rfc3339("2026-11-25T12:00:00+02:00"), kNov25);
  EXPECT_EQ(parse_rfc3339("2026-11-25T04:30:00-05:30"), kNov25);
  EXPECT_EQ(parse_rfc3339("2026-11-25T10:00:00+00:00"), kNov25);
  EXPECT_EQ(parse_rfc3339("2026-11-26T00:00:00+14:00"), kNov25);  // crosses midnight
}

TEST(TimeFormatTest, ParsesFractionalSecondsAsMilliseconds) {
  EXPECT_EQ(parse_rfc3339("2026-11-25T10:00:00.250Z"), kNov25 + 250);
  EXPECT_EQ(parse_rfc3339("2026-11-25T10:00:00.5Z"), kNov25 + 500);
  EXPECT_EQ(parse_rfc3339("2026-11-25T10:00:00.007Z"), kNov25 + 7);
  // Beyond milliseconds the digits are dropped, not rounded.
  EXPECT_EQ(parse_rfc3339("2026-11-25T10:00:00.123999Z"), kNov25 + 123);
  EXPECT_EQ(parse_rfc3339("2026-11-25T12:00:00.250+02:00"), kNov25 + 250);
}

TEST(TimeFormatTest, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(kNov25 + 250), "2026-11-25T10:00:00.250Z");
  EXPECT_EQ(format_rfc3339(kNov25 + 7), "2026-11-25T10:00:00.007Z");
}

TEST(TimeFormatTest, FormatThenParseRoundTrips) {
  for (std::int64_t ms : {std::int64_t{0}, std::int64_t{1}, kNov25, kNov25 + 999,
                          std::int64_t{951'782'400'123} /* 2000-02-29 */,
                          std::int64_t{4'102'444'799'999} /* 2099-12-31 */}) {
    std::string s = format_rfc3339(ms);
    EXPECT_EQ(parse_rfc3339(s), ms) << s;
  }
}

TEST(TimeFormatTest, LeapDayIsValidOnlyInLeapYears) {
  EXPECT_TRUE(parse_rfc3339("2024-02-29T00:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("2025-02-29T00:00:00Z").has_value());
}

TEST(TimeFormatTest, RejectsGarbageAndImpossibleDates) {
  for (std::string_view s : {"",
                             "now",
                             "2026-11-25",
                             "2026-11-25T10:00:00",
                             /* no zone */ "2026-11-25T10:00Z",
                             "2026/11/25T10:00:00Z",
                             "2026-13-01T00:00:00Z",
                             "2026-00-10T00:00:00Z",
                             "2026-11-00T00:00:00Z",
                             "2026-11-32T00:00:00Z",
                             "2026-02-30T00:00:00Z",
                             "2026-04-31T00:00:00Z",
                             "2026-11-25T24:00:00Z",
                             "2026-11-25T10:60:00Z",
                             "2026-11-25T10:00:00.Z",
                             "2026-11-25T10:00:00+0200",
                             "2026-11-25T10:00:00+02",
                             "2026-11-25T10:00:00Zjunk",
                             "2026-11-25T1a:00:00Z",
                             "x026-11-25T10:00:00Z"}) {
    EXPECT_FALSE(parse_rfc3339(s).has_value()) << "'" << s << "'";
  }
}

TEST(TimeFormatTest, FormatsInstantsBeforeTheEpoch) {
  EXPECT_EQ(format_rfc3339(-1000), "1969-12-31T23:59:59.000Z");
  EXPECT_EQ(format_rfc3339(-500), "1969-12-31T23:59:59.500Z");
  EXPECT_EQ(parse_rfc3339("1969-12-31T23:59:59.500Z"), -500);
}

}  // namespace
}  // namespace crier

namespace crier {
namespace {

// format_rfc3339 computes the civil date by hand: it agrees with gmtime_r
// over five centuries (leap days and centuries included), to the millisecond.
TEST(TimeFormat, TheHandWrittenDateAgreesWithGmtime) {
  const std::int64_t from = -2'208'988'800'000;  // 1900-01-01
  const std::int64_t to = 13'569'465'600'000;    // 2400-01-01
  for (std::int64_t ms = from; ms < to; ms += 7'919LL * 60'000 + 123) {
    std::time_t t = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    const std::int64_t millis = ((ms % 1000) + 1000) % 1000;
    const std::string expected = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                                             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    ASSERT_EQ(format_rfc3339(ms), expected) << ms;
  }
  EXPECT_EQ(format_rfc3339(951'782'400'000), "2000-02-29T00:00:00.000Z");
}

}  // namespace
}  // namespace crier
