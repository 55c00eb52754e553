#include "storage/record_codec.h"

namespace crier::records {
namespace {

constexpr char kRecipientV1 = 1;
constexpr char kStateV1 = 1;  // without next_attempt_at and read_at
constexpr char kStateV2 = 2;  // without sent_at and delivered_at
constexpr char kStateV3 = 3;

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_bytes(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

// A time near updated_at, as its distance from it: one byte for a SENT
// state (sent_at == updated_at), a few for a receipt's. 0 = none; else
// zigzag(updated_at - t) + 1.
std::uint64_t encode_near(std::int64_t t, std::int64_t updated_at) {
  if (t == 0) return 0;
  std::int64_t d = updated_at - t;
  return ((static_cast<std::uint64_t>(d) << 1) ^ static_cast<std::uint64_t>(d >> 63)) + 1;
}

std::int64_t decode_near(std::uint64_t v, std::int64_t updated_at) {
  if (v == 0) return 0;
  --v;
  std::int64_t d = static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
  return updated_at - d;
}

struct Reader {
  std::string_view in;
  bool ok = true;

  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in.empty()) break;
      auto b = static_cast<unsigned char>(in.front());
      in.remove_prefix(1);
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok = false;
    return 0;
  }
  std::string bytes() {
    std::string s;
    bytes_into(s);
    return s;
  }
  void bytes_into(std::string& s) {
    auto n = varint();
    if (!ok || n > in.size()) {
      ok = false;
      return;
    }
    s.assign(in.substr(0, n));
    in.remove_prefix(n);
  }
};

}  // namespace

std::string encode(const Recipient& r) {
  std::string out;
  out.reserve(16 + r.user_id.size() + r.email.size() + r.phone.size() + r.data_json.size());
  out.push_back(kRecipientV1);
  for (const std::string* f : {&r.user_id, &r.email, &r.phone, &r.push_token, &r.webhook_url,
                               &r.locale, &r.data_json, &r.preferences_json})
    put_bytes(out, *f);
  return out;
}

std::optional<Recipient> decode_recipient(std::string_view in, std::uint64_t seq) {
  Recipient r;
  if (!decode_recipient_into(in, seq, r)) return std::nullopt;
  return r;
}

bool decode_recipient_into(std::string_view in, std::uint64_t seq, Recipient& r) {
  if (in.empty() || in.front() != kRecipientV1) return false;
  Reader rd{in.substr(1)};
  r.seq = seq;
  for (std::string* f : {&r.user_id, &r.email, &r.phone, &r.push_token, &r.webhook_url,
                         &r.locale, &r.data_json, &r.preferences_json})
    rd.bytes_into(*f);
  return rd.ok;
}

std::string encode(const RecipientState& s) {
  std::string out;
  out.push_back(kStateV3);
  out.push_back(static_cast<char>(s.status));
  put_varint(out, s.attempts);
  put_varint(out, static_cast<std::uint64_t>(s.updated_at));
  put_bytes(out, s.error_code);
  put_bytes(out, s.error_message);
  put_varint(out, static_cast<std::uint64_t>(s.next_attempt_at));
  put_varint(out, static_cast<std::uint64_t>(s.read_at));
  put_varint(out, encode_near(s.sent_at, s.updated_at));
  put_varint(out, encode_near(s.delivered_at, s.updated_at));
  return out;
}

std::optional<RecipientState> decode_state(std::string_view in) {
  if (in.size() < 2 || in.front() < kStateV1 || in.front() > kStateV3) return std::nullopt;
  auto status = static_cast<unsigned char>(in[1]);
  if (status > static_cast<unsigned char>(RecipientStatus::cancelled)) return std::nullopt;
  Reader rd{in.substr(2)};
  RecipientState s;
  s.status = static_cast<RecipientStatus>(status);
  s.attempts = static_cast<std::uint32_t>(rd.varint());
  s.updated_at = static_cast<std::int64_t>(rd.varint());
  s.error_code = rd.bytes();
  s.error_message = rd.bytes();
  if (in.front() >= kStateV2) {
    s.next_attempt_at = static_cast<std::int64_t>(rd.varint());
    s.read_at = static_cast<std::int64_t>(rd.varint());
  }
  if (in.front() >= kStateV3) {
    s.sent_at = decode_near(rd.varint(), s.updated_at);
    s.delivered_at = decode_near(rd.varint(), s.updated_at);
  }
  if (!rd.ok) return std::nullopt;
  return s;
}

}  // namespace crier::records
