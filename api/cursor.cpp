#include "api/cursor.h"

#include <xxhash.h>

#include "api/base64url.h"

namespace crier::api {
namespace {

std::string check(std::string_view scope, std::string_view position) {
  std::string buf(scope);
  buf.push_back('\0');
  buf.append(position);
  auto h = XXH3_64bits(buf.data(), buf.size());
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((h >> (8 * i)) & 0xff);
  return out;
}

std::string seq_bytes(std::uint64_t seq) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((seq >> (8 * (7 - i))) & 0xff);
  return s;
}

}  // namespace

std::string encode_bytes_cursor(std::string_view scope, std::string_view position) {
  std::string raw(position);
  raw += check(scope, position);
  return base64url(raw);
}

std::optional<std::string> decode_bytes_cursor(std::string_view scope, std::string_view cursor) {
  auto raw = unbase64url(cursor);
  if (!raw || raw->size() < 4) return std::nullopt;
  std::string position = raw->substr(0, raw->size() - 4);
  if (raw->substr(raw->size() - 4) != check(scope, position)) return std::nullopt;
  return position;
}

std::string encode_seq_cursor(const JobKey& job, std::uint64_t seq) {
  return encode_bytes_cursor({reinterpret_cast<const char*>(job.data()), job.size()}, seq_bytes(seq));
}

std::optional<std::uint64_t> decode_seq_cursor(const JobKey& job, std::string_view cursor) {
  auto pos = decode_bytes_cursor({reinterpret_cast<const char*>(job.data()), job.size()}, cursor);
  if (!pos || pos->size() != 8) return std::nullopt;
  std::uint64_t seq = 0;
  for (unsigned char c : *pos) seq = (seq << 8) | c;
  return seq;
}

}  // namespace crier::api
