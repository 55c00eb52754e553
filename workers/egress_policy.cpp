#include "workers/egress_policy.h"

#include <arpa/inet.h>

#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace crier {
namespace {

constexpr const char* kDenied[] = {
    // IPv4 (judged in their ::ffff: form)
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
    // IPv6
    "::/128", "::1/128", "fe80::/10", "fec0::/10", "fc00::/7", "ff00::/8"};

EgressPolicy::Address mapped_v4(const std::uint8_t* v4) {
  EgressPolicy::Address a{};
  a[10] = a[11] = 0xff;
  std::memcpy(a.data() + 12, v4, 4);
  return a;
}

// The IPv4 address an IPv6 one carries, by the transition schemes a
// dual-stack host or a gateway would route to that IPv4 address.
bool embedded_v4(const EgressPolicy::Address& a, EgressPolicy::Address& out) {
  static const std::uint8_t kNat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  const bool compatible = std::all_of(a.begin(), a.begin() + 12, [](std::uint8_t b) { return b == 0; }) &&
                          !(a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] <= 1);  // not :: or ::1
  if (compatible || std::memcmp(a.data(), kNat64, 12) == 0) {
    out = mapped_v4(a.data() + 12);
    return true;
  }
  if (a[0] == 0x20 && a[1] == 0x02) {  // 6to4: 2002:AABB:CCDD::/48
    out = mapped_v4(a.data() + 2);
    return true;
  }
  return false;
}

Error egress_denied(std::string message) {
  return make_error(ErrorKind::unprocessable, "egress_denied", std::move(message));
}

}  // namespace

bool EgressPolicy::parse(std::string_view ip, Address& out) {
  std::string s(ip);
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  std::uint8_t buf[16];
  if (::inet_pton(AF_INET, s.c_str(), buf) == 1) {
    out = mapped_v4(buf);
    return true;
  }
  if (::inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    std::memcpy(out.data(), buf, 16);
    return true;
  }
  return false;
}

Result<EgressPolicy::Network> EgressPolicy::parse_network(std::string_view cidr) {
  auto bad = [&] {
    return make_error(ErrorKind::invalid, "invalid_config",
                      fmt::format("egress allow entry '{}' is not a CIDR (e.g. 10.1.0.0/16, fd00::/8, 127.0.0.1)", cidr));
  };
  auto slash = cidr.find('/');
  std::string_view ip = cidr.substr(0, slash);
  Network n;
  if (!parse(ip, n.base)) return bad();
  const bool v4 = ip.find(':') == std::string_view::npos;
  unsigned bits = v4 ? 32 : 128;
  if (slash != std::string_view::npos) {
    auto p = cidr.substr(slash + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), bits);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size() || bits > (v4 ? 32u : 128u)) return bad();
  }
  n.prefix = v4 ? bits + 96 : bits;
  // Host bits cleared, so "10.1.2.3/8" means 10.0.0.0/8.
  for (unsigned i = 0; i < 16; ++i) {
    unsigned keep = n.prefix > i * 8 ? std::min(8u, n.prefix - i * 8) : 0;
    n.base[i] &= static_cast<std::uint8_t>(keep == 8 ? 0xff : (0xff << (8 - keep)) & 0xff);
  }
  return n;
}

bool EgressPolicy::contains(const Network& n, const Address& a) {
  unsigned full = n.prefix / 8, rest = n.prefix % 8;
  if (std::memcmp(n.base.data(), a.data(), full) != 0) return false;
  if (rest == 0) return true;
  std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (n.base[full] & mask) == (a[full] & mask);
}

EgressPolicy::EgressPolicy() {
  for (const char* cidr : kDenied) deny_.push_back(*parse_network(cidr));
}

Result<void> EgressPolicy::allow(std::string_view cidr) {
  auto n = parse_network(cidr);
  if (!n) return n.error();
  allow_.push_back(*n);
  return {};
}

Result<EgressPolicy> EgressPolicy::allowing(const std::vector<std::string>& cidrs) {
  EgressPolicy p;
  for (const auto& c : cidrs)
    if (auto r = p.allow(c); !r) return r.error();
  return p;
}

EgressPolicy EgressPolicy::allowing_loopback() {
  EgressPolicy p;
  p.allow_.push_back(*parse_network("127.0.0.0/8"));
  p.allow_.push_back(*parse_network("::1"));
  return p;
}

bool EgressPolicy::denied(const Address& a) const {
  for (const auto& n : deny_)
    if (contains(n, a)) return true;
  return false;
}

bool EgressPolicy::permits(const Address& a) const {
  for (const auto& n : allow_)
    if (contains(n, a)) return true;
  Address inner;
  if (embedded_v4(a, inner)) {
    for (const auto& n : allow_)
      if (contains(n, inner)) return true;
    if (denied(inner)) return false;
  }
  return !denied(a);
}

bool EgressPolicy::permits(std::string_view ip) const {
  Address a;
  return parse(ip, a) && permits(a);
}

Result<void> EgressPolicy::check_url(std::string_view url) const {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return {};  // not for this check to judge: the URL's own validation does
  std::string host(parsed->host_address());
  if (host.empty()) return {};
  Address a;
  bool literal = parse(host, a);
  if (!literal && parsed->host_type() == boost::urls::host_type::name) {
    // What getaddrinfo would read as an IPv4 address: "127.1", "0x7f.1", "2130706433".
    in_addr v4{};
    if (::inet_aton(host.c_str(), &v4) == 1) {
      a = mapped_v4(reinterpret_cast<const std::uint8_t*>(&v4.s_addr));
      literal = true;
    }
  }
  std::string lower;
  for (char c : host) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  while (!lower.empty() && lower.back() == '.') lower.pop_back();
  if (!literal && (lower == "localhost" || lower.ends_with(".localhost"))) {
    parse("127.0.0.1", a);
    literal = true;
  }
  if (literal && !permits(a))
    return egress_denied(fmt::format("{} is a loopback, private, link-local or otherwise internal address, "
                                     "which this server does not send to",
                                     host));
  return {};
}

}  // namespace crier
