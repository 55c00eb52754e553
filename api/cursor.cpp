#include "api/cursor.h"

#include <openssl/evp.h>
#include <xxhash.h>

namespace crier::api {
namespace {

std::string base64url(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::optional<std::string> unbase64url(std::string_view text) {
  if (text.empty() || text.size() > 4096) return std::nullopt;
  std::string in(text);
  for (auto& c : in) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (!std::isalnum(static_cast<unsigned char>(c))) return std::nullopt;
  }
  std::size_t pad = (4 - in.size() % 4) % 4;
  if (pad == 3) return std::nullopt;
  in.append(pad, '=');
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

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
