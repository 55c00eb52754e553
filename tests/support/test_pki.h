// Certificates for the HTTPS tests, made with Debian's `openssl` command in
// a directory of the test's own: a CA the tests trust and, signed by it, a
// leaf for localhost / 127.0.0.1, one for another name, and an expired one;
// plus a leaf for localhost signed by a second CA that nobody trusts.
#pragma once

#include <filesystem>
#include <string>

namespace crier::testing {

struct CertAndKey {
  std::filesystem::path cert;  // PEM
  std::filesystem::path key;   // PEM, unencrypted
};

struct TestPki {
  std::filesystem::path ca_cert;  // the trust anchor to configure
  CertAndKey localhost;           // SAN DNS:localhost, IP:127.0.0.1; valid for a day
  CertAndKey other_host;          // SAN DNS:other.example only; valid
  CertAndKey expired;             // SAN DNS:localhost, IP:127.0.0.1; notAfter in the past
  CertAndKey unknown_ca;          // SAN DNS:localhost, IP:127.0.0.1; signed by an untrusted CA
};

// Writes everything under `dir` (which must exist). Throws
// std::runtime_error with openssl's output when a command fails.
TestPki make_test_pki(const std::filesystem::path& dir);

}  // namespace crier::testing
