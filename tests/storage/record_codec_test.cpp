// The compact per-recipient records: exact round trips (empty, binary and
// UTF-8 fields included) and refusal of anything truncated or foreign.
#include "storage/record_codec.h"

#include <gtest/gtest.h>

#include <limits>

namespace crier {
namespace {

Recipient full_recipient() {
  Recipient r;
  r.user_id = "user-42";
  r.email = "ada@example.com";
  r.phone = "+14155550100";
  r.push_token = std::string(300, 't');  // a length that needs a two-byte varint
  r.webhook_url = "https://example.com/h?a=1&b=2";
  r.locale = "pt-BR";
  r.data_json = R"({"name":"Zoë 日本語 🎉","n":1})";
  r.preferences_json = R"({"quiet":true})";
  return r;
}

void expect_same(const Recipient& a, const Recipient& b) {
  EXPECT_EQ(a.seq, b.seq);
  EXPECT_EQ(a.user_id, b.user_id);
  EXPECT_EQ(a.email, b.email);
  EXPECT_EQ(a.phone, b.phone);
  EXPECT_EQ(a.push_token, b.push_token);
  EXPECT_EQ(a.webhook_url, b.webhook_url);
  EXPECT_EQ(a.locale, b.locale);
  EXPECT_EQ(a.data_json, b.data_json);
  EXPECT_EQ(a.preferences_json, b.preferences_json);
}

TEST(RecipientCodecTest, RoundTripsEveryField) {
  Recipient r = full_recipient();
  auto back = records::decode_recipient(records::encode(r), 17);
  ASSERT_TRUE(back.has_value());
  r.seq = 17;  // the seq comes from the key, not the record
  expect_same(*back, r);
}

TEST(RecipientCodecTest, RoundTripsEmptyFields) {
  Recipient r;
  r.email = "only@example.com";
  auto back = records::decode_recipient(records::encode(r), 0);
  ASSERT_TRUE(back.has_value());
  expect_same(*back, r);

  auto empty = records::decode_recipient(records::encode(Recipient{}), 3);
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->seq, 3u);
  EXPECT_TRUE(empty->user_id.empty() && empty->email.empty() && empty->data_json.empty());
}

TEST(RecipientCodecTest, RoundTripsBinaryBytes) {
  Recipient r;
  r.user_id = std::string("a\0b\xff\x80\x01", 6);
  r.data_json = std::string(1, '\0') + std::string(200, '\x80');
  auto back = records::decode_recipient(records::encode(r), 0);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->user_id, r.user_id);
  EXPECT_EQ(back->data_json, r.data_json);
}

TEST(RecipientCodecTest, EveryTruncationIsRefused) {
  std::string enc = records::encode(full_recipient());
  for (std::size_t n = 0; n < enc.size(); ++n)
    EXPECT_FALSE(records::decode_recipient(std::string_view(enc).substr(0, n), 0).has_value())
        << "prefix of " << n << " of " << enc.size() << " bytes";
}

TEST(RecipientCodecTest, TrailingBytesAreIgnoredForForwardCompatibility) {
  Recipient r = full_recipient();
  auto back = records::decode_recipient(records::encode(r) + "\x05later", 1);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->email, r.email);
  EXPECT_EQ(back->preferences_json, r.preferences_json);
}

TEST(RecipientCodecTest, UnknownFormatByteIsRefused) {
  std::string enc = records::encode(full_recipient());
  enc[0] = 9;
  EXPECT_FALSE(records::decode_recipient(enc, 0).has_value());
}

TEST(StateCodecTest, RoundTripsEveryStatus) {
  for (auto status : {RecipientStatus::pending, RecipientStatus::enqueued, RecipientStatus::sent,
                      RecipientStatus::delivered, RecipientStatus::failed, RecipientStatus::skipped,
                      RecipientStatus::cancelled}) {
    RecipientState s;
    s.status = status;
    s.attempts = 3;
    s.updated_at = 1'764'064'800'123;
    s.error_code = "provider_rejected";
    s.error_message = "550 mailbox unavailable — «ünïcödé»";
    auto back = records::decode_state(records::encode(s));
    ASSERT_TRUE(back.has_value()) << to_string(status);
    EXPECT_EQ(back->status, status);
    EXPECT_EQ(back->attempts, 3u);
    EXPECT_EQ(back->updated_at, s.updated_at);
    EXPECT_EQ(back->error_code, s.error_code);
    EXPECT_EQ(back->error_message, s.error_message);
  }
}

TEST(StateCodecTest, RoundTripsDefaultsAndLargeValues) {
  auto zero = records::decode_state(records::encode(RecipientState{}));
  ASSERT_TRUE(zero.has_value());
  EXPECT_EQ(zero->status, RecipientStatus::pending);
  EXPECT_EQ(zero->attempts, 0u);
  EXPECT_EQ(zero->updated_at, 0);
  EXPECT_TRUE(zero->error_code.empty() && zero->error_message.empty());

  RecipientState big;
  big.attempts = 0xffffffffu;
  big.updated_at = std::numeric_limits<std::int64_t>::max();
  big.error_message = std::string(100'000, 'e');
  auto back = records::decode_state(records::encode(big));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->attempts, big.attempts);
  EXPECT_EQ(back->updated_at, big.updated_at);
  EXPECT_EQ(back->error_message.size(), big.error_message.size());
}

TEST(StateCodecTest, EveryTruncationIsRefused) {
  RecipientState s;
  s.status = RecipientStatus::failed;
  s.attempts = 200;
  s.updated_at = 1'764'064'800'123;
  s.error_code = "x";
  s.error_message = "why";
  std::string enc = records::encode(s);
  for (std::size_t n = 0; n < enc.size(); ++n)
    EXPECT_FALSE(records::decode_state(std::string_view(enc).substr(0, n)).has_value())
        << "prefix of " << n << " of " << enc.size() << " bytes";
}

TEST(StateCodecTest, UnknownStatusOrFormatIsRefused) {
  std::string enc = records::encode(RecipientState{});
  std::string bad_status = enc;
  bad_status[1] = 7;  // one past CANCELLED
  EXPECT_FALSE(records::decode_state(bad_status).has_value());
  std::string bad_format = enc;
  bad_format[0] = 4;  // formats 1 to 3 exist
  EXPECT_FALSE(records::decode_state(bad_format).has_value());
}

TEST(StateCodecTest, RetryDueTimeAndReadTimeRoundTrip) {
  RecipientState s;
  s.status = RecipientStatus::enqueued;
  s.attempts = 2;
  s.updated_at = 1'700'000'000'123;
  s.error_code = "http_503";
  s.error_message = "try later";
  s.next_attempt_at = 1'700'000'060'000;
  s.read_at = 0;
  auto back = records::decode_state(records::encode(s));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->next_attempt_at, s.next_attempt_at);
  EXPECT_EQ(back->read_at, 0);
  s.next_attempt_at = 0;
  s.read_at = 1'700'000'100'000;
  back = records::decode_state(records::encode(s));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->next_attempt_at, 0);
  EXPECT_EQ(back->read_at, s.read_at);
}

TEST(StateCodecTest, SentAndDeliveredTimesRoundTrip) {
  RecipientState s;
  s.status = RecipientStatus::sent;
  s.attempts = 1;
  s.updated_at = 1'700'000'000'123;
  s.sent_at = s.updated_at;
  std::string sent = records::encode(s);
  auto back = records::decode_state(sent);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->sent_at, s.sent_at);
  EXPECT_EQ(back->delivered_at, 0);
  // Stored as a distance from updated_at: a SENT state pays one byte for it.
  RecipientState unsent = s;
  unsent.sent_at = 0;
  EXPECT_EQ(sent.size(), records::encode(unsent).size());

  // After a receipt: both earlier than updated_at, and one later (a clock
  // step back) survives too.
  s.status = RecipientStatus::delivered;
  s.updated_at = 1'700'000'005'000;
  s.delivered_at = 1'700'000'004'999;
  for (std::int64_t sent_at : {std::int64_t{1'700'000'000'123}, std::int64_t{1'700'000'009'000}, std::int64_t{1}}) {
    s.sent_at = sent_at;
    back = records::decode_state(records::encode(s));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->sent_at, sent_at);
    EXPECT_EQ(back->delivered_at, s.delivered_at);
    EXPECT_EQ(back->updated_at, s.updated_at);
  }
}

TEST(StateCodecTest, FormatTwoRecordsStillDecode) {
  // Format 2: format 1, then next_attempt_at and read_at.
  std::string v2 = {2, static_cast<char>(RecipientStatus::delivered), 1, 5, 0, 0, 0, 7};
  auto s = records::decode_state(v2);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->status, RecipientStatus::delivered);
  EXPECT_EQ(s->updated_at, 5);
  EXPECT_EQ(s->read_at, 7);
  EXPECT_EQ(s->sent_at, 0);
  EXPECT_EQ(s->delivered_at, 0);
}

TEST(StateCodecTest, FormatOneRecordsStillDecode) {
  // Format 1: status, attempts, updated_at, error code and message only.
  std::string v1 = {1, static_cast<char>(RecipientStatus::sent), 3, 5, 2, 'o', 'k', 1, 'm'};
  auto s = records::decode_state(v1);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->status, RecipientStatus::sent);
  EXPECT_EQ(s->attempts, 3u);
  EXPECT_EQ(s->updated_at, 5);
  EXPECT_EQ(s->error_code, "ok");
  EXPECT_EQ(s->error_message, "m");
  EXPECT_EQ(s->next_attempt_at, 0);
  EXPECT_EQ(s->read_at, 0);
}

}  // namespace
}  // namespace crier
