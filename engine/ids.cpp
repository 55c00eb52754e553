#include "engine/ids.h"

#include <fmt/format.h>

#include <random>

namespace crier {
namespace {

constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

std::mt19937_64& rng() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

int decode_char(char c) {
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  // Crockford aliases: I and L read as 1, O as 0.
  if (c == 'I' || c == 'L') c = '1';
  if (c == 'O') c = '0';
  auto pos = kAlphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

}  // namespace

JobKey new_job_key(std::int64_t unix_ms) {
  JobKey key{};
  auto ms = static_cast<std::uint64_t>(unix_ms);
  for (int i = 0; i < 6; ++i) key[i] = static_cast<std::uint8_t>(ms >> (8 * (5 - i)));
  std::uint64_t a = rng()(), b = rng()();
  for (int i = 0; i < 8; ++i) key[6 + i] = static_cast<std::uint8_t>(a >> (8 * i));
  key[14] = static_cast<std::uint8_t>(b);
  key[15] = static_cast<std::uint8_t>(b >> 8);
  return key;
}

// 128 bits as 26 base32 digits: the first digit carries the top 3 bits
// (value 0..7), then 25 digits of 5 bits.
std::string job_id_string(const JobKey& key) {
  std::string out = "job_";
  out.reserve(30);
  unsigned __int128 v = 0;
  for (auto b : key) v = (v << 8) | b;
  char digits[26];
  for (int i = 25; i >= 0; --i) {
    digits[i] = kAlphabet[static_cast<unsigned>(v & 31)];
    v >>= 5;
  }
  out.append(digits, 26);
  return out;
}

std::optional<JobKey> parse_job_id(std::string_view id) {
  if (id.size() != 30 || id.substr(0, 4) != "job_") return std::nullopt;
  unsigned __int128 v = 0;
  for (std::size_t i = 4; i < 30; ++i) {
    int d = decode_char(id[i]);
    if (d < 0) return std::nullopt;
    if (i == 4 && d > 7) return std::nullopt;  // would overflow 128 bits
    v = (v << 5) | static_cast<unsigned>(d);
  }
  JobKey key{};
  for (int i = 15; i >= 0; --i) {
    key[i] = static_cast<std::uint8_t>(v & 0xff);
    v >>= 8;
  }
  return key;
}

std::string message_id(const JobKey& job, std::uint64_t seq) { return message_id(job_id_string(job), seq); }

std::string message_id(std::string_view job_id, std::uint64_t seq) {
  std::string out;
  message_id_into(out, job_id, seq);
  return out;
}

void message_id_into(std::string& out, std::string_view job_id, std::uint64_t seq) {
  // Built by hand: dispatch makes one per message, and fmt's parse showed in its profile.
  static constexpr char kHex[] = "0123456789abcdef";
  out.clear();
  out.reserve(4 + 26 + 1 + 16);
  out.append("msg_").append(job_id.substr(4)).push_back('_');
  for (int shift = 60; shift >= 0; shift -= 4) out.push_back(kHex[(seq >> shift) & 0xf]);
}

std::optional<std::pair<JobKey, std::uint64_t>> parse_message_id(std::string_view id) {
  // msg_ + 26 + _ + 16
  if (id.size() != 4 + 26 + 1 + 16 || id.substr(0, 4) != "msg_" || id[30] != '_') return std::nullopt;
  auto job = parse_job_id(fmt::format("job_{}", id.substr(4, 26)));
  if (!job) return std::nullopt;
  std::uint64_t seq = 0;
  for (char c : id.substr(31)) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    seq = seq << 4 | static_cast<std::uint64_t>(d);
  }
  return std::pair{*job, seq};
}

std::string new_request_id() {
  auto v = rng()();
  return fmt::format("req_{:016x}{:04x}", v, static_cast<unsigned>(rng()() & 0xffff));
}

}  // namespace crier
