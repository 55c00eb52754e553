// Where Crier may connect on a tenant's behalf. A webhook_url or
// callback_url comes from a tenant; without a guard it could aim Crier at
// the machine itself, the cloud's metadata service (169.254.169.254) or the
// operator's private network, and read the answers back (SSRF). The HTTP
// client checks the address it actually connects to, after resolving (a
// name that resolves to a private address is refused, and no second lookup
// can swap the address: no DNS rebinding), against a deny-list that is on
// by default:
//   IPv4  0.0.0.0/8 (unspecified, "this network"), 10.0.0.0/8, 172.16.0.0/12,
//         192.168.0.0/16 (RFC 1918), 100.64.0.0/10 (CGNAT), 127.0.0.0/8
//         (loopback), 169.254.0.0/16 (link-local, cloud metadata),
//         192.0.0.0/24 (IETF protocol assignments), 198.18.0.0/15
//         (benchmarking), 224.0.0.0/4 (multicast), 240.0.0.0/4 (reserved,
//         broadcast)
//   IPv6  ::/128 (unspecified), ::1/128 (loopback), fe80::/10 (link-local),
//         fec0::/10 (old site-local), fc00::/7 (ULA), ff00::/8 (multicast);
//         and an IPv4 address carried inside IPv6 (::ffff:a.b.c.d mapped,
//         ::a.b.c.d compatible, 64:ff9b::/96 NAT64, 2002::/16 6to4) is
//         judged as that IPv4 address
// The operator opens exceptions with an allow-list of CIDRs (`crier serve
// --egress-allow`, `[egress] allow`), which wins over the deny-list.
//
// A value type, cheap to copy; thread-safe to read.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/result.h"

namespace crier {

class EgressPolicy {
 public:
  using Address = std::array<std::uint8_t, 16>;  // IPv6; IPv4 as ::ffff:a.b.c.d

  // The deny-list above, no exceptions.
  EgressPolicy();

  // Opens `cidr` ("127.0.0.0/8", "fd00::/8", or one address). Errors:
  // invalid_config naming the entry.
  Result<void> allow(std::string_view cidr);
  // The default policy with each of `cidrs` allowed.
  static Result<EgressPolicy> allowing(const std::vector<std::string>& cidrs);
  // The default policy with loopback (127.0.0.0/8, ::1) allowed: for tests
  // whose receivers run on the same machine.
  static EgressPolicy allowing_loopback();

  // Whether a connection to this address is allowed.
  bool permits(const Address& address) const;
  // The same for an address in text ("10.0.0.1", "::1"); false when it
  // does not parse.
  bool permits(std::string_view ip) const;

  // What can be judged before any lookup, e.g. when a job is created: a URL
  // whose host is an IP address (in any form the system's resolver would
  // read as one, e.g. "127.1" or "2130706433") or "localhost" (and
  // *.localhost) that the policy refuses. Names are judged when connecting.
  // Errors: egress_denied (unprocessable).
  Result<void> check_url(std::string_view url) const;

  // The parsed form of an address in text (IPv4 mapped into IPv6).
  static bool parse(std::string_view ip, Address& out);

 private:
  struct Network {
    Address base{};
    unsigned prefix = 0;  // bits, over the 128-bit form
  };
  static bool contains(const Network& n, const Address& a);
  static Result<Network> parse_network(std::string_view cidr);
  bool denied(const Address& a) const;

  std::vector<Network> deny_, allow_;
};

}  // namespace crier
