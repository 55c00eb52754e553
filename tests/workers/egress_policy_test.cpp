// workers/egress_policy: the deny-list on by default, the forms an internal
// IPv4 address can hide in, the allow-list that opens exceptions, and what
// a URL gives away before any lookup.
#include <gtest/gtest.h>

#include "workers/egress_policy.h"

namespace crier {
namespace {

TEST(EgressPolicyTest, InternalAddressesAreRefusedByDefault) {
  EgressPolicy p;
  for (const char* ip : {"127.0.0.1", "127.255.1.2", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
                         "169.254.169.254", "100.64.0.1", "100.127.255.254", "0.0.0.0", "0.1.2.3", "224.0.0.1",
                         "239.255.255.250", "255.255.255.255", "192.0.0.170", "198.18.0.1",
                         // IPv6
                         "::", "::1", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "fec0::1",
                         // IPv4 inside IPv6
                         "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "::127.0.0.1",
                         "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "2002:c0a8:101::1"}) {
    EXPECT_FALSE(p.permits(std::string_view(ip))) << ip;
  }
}

TEST(EgressPolicyTest, PublicAddressesArePermitted) {
  EgressPolicy p;
  for (const char* ip : {"93.184.216.34", "8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.255.255", "100.128.0.1",
                         "192.169.0.1", "2606:4700::1111", "2001:db8::1", "::ffff:8.8.8.8", "64:ff9b::808:808",
                         "2002:0808:0808::1"}) {
    EXPECT_TRUE(p.permits(std::string_view(ip))) << ip;
  }
  EXPECT_FALSE(p.permits(std::string_view("not an address")));
}

TEST(EgressPolicyTest, TheAllowListOpensExceptions) {
  auto p = EgressPolicy::allowing({"127.0.0.0/8", "10.1.0.0/16", "fd00::/8", "169.254.169.254"});
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->permits(std::string_view("127.0.0.1")));
  EXPECT_TRUE(p->permits(std::string_view("::ffff:127.0.0.1"))) << "the mapped form of an allowed address";
  EXPECT_TRUE(p->permits(std::string_view("10.1.200.3")));
  EXPECT_FALSE(p->permits(std::string_view("10.2.0.1")));
  EXPECT_TRUE(p->permits(std::string_view("fd00::5")));
  EXPECT_FALSE(p->permits(std::string_view("fc00::5")));
  EXPECT_TRUE(p->permits(std::string_view("169.254.169.254")));
  EXPECT_FALSE(p->permits(std::string_view("169.254.169.253")));
  EXPECT_FALSE(p->permits(std::string_view("::1"))) << "127.0.0.0/8 does not open IPv6 loopback";
  EXPECT_TRUE(EgressPolicy::allowing_loopback().permits(std::string_view("::1")));
  // Host bits are ignored: 10.1.2.3/8 is 10.0.0.0/8.
  EXPECT_TRUE(EgressPolicy::allowing({"10.1.2.3/8"})->permits(std::string_view("10.200.0.1")));

  for (const char* bad : {"", "10.0.0.0/33", "fd00::/129", "10.0.0/8", "10.0.0.0/", "10.0.0.0/x", "example.com",
                          "/8"}) {
    auto r = EgressPolicy::allowing({bad});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "invalid_config");
  }
}

TEST(EgressPolicyTest, AUrlsLiteralAddressOrLocalhostIsJudgedBeforeAnyLookup) {
  EgressPolicy p;
  for (const char* url : {"http://127.0.0.1/x", "http://169.254.169.254/latest/meta-data/", "https://10.0.0.1:8443/",
                          "http://[::1]:8080/", "http://[::ffff:127.0.0.1]/", "http://localhost:9000/h",
                          "http://LOCALHOST./h", "http://api.localhost/h", "http://127.1/", "http://2130706433/",
                          "http://0x7f.0.0.1/", "http://0/"}) {
    auto r = p.check_url(url);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.error().code, "egress_denied") << url;
    EXPECT_EQ(r.error().kind, ErrorKind::unprocessable);
  }
  // Names are judged when connecting, by the address they resolve to.
  for (const char* url : {"https://example.com/hook", "http://hooks.internal.example/x", "http://8.8.8.8/"})
    EXPECT_TRUE(p.check_url(url).ok()) << url;
  EXPECT_TRUE(EgressPolicy::allowing_loopback().check_url("http://localhost:9000/h").ok());
}

}  // namespace
}  // namespace crier
