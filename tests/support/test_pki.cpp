#include "tests/support/test_pki.h"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace crier::testing {
namespace {

namespace fs = std::filesystem;

// Runs one openssl command line; its output goes to a log beside the files,
// shown when it fails.
void openssl(const fs::path& dir, const std::string& args) {
  const fs::path log = dir / "openssl.log";
  const std::string cmd = fmt::format("cd '{}' && openssl {} >>'{}' 2>&1", dir.string(), args, log.string());
  if (std::system(cmd.c_str()) != 0) {
    std::ifstream in(log);
    std::stringstream s;
    s << in.rdbuf();
    throw std::runtime_error(fmt::format("openssl {} failed:\n{}", args, s.str()));
  }
}

void write(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

// A self-signed CA (P-256: quick to make).
void make_ca(const fs::path& dir, const std::string& name) {
  openssl(dir, fmt::format("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout {0}.key "
                           "-out {0}.pem -subj /CN={0} -days 2",
                           name));
}

// A leaf for `san` signed by CA `ca`, valid for `days` from now (negative:
// its notAfter is already past, which is how `openssl x509 -req` makes an
// expired certificate without faking the clock).
CertAndKey make_leaf(const fs::path& dir, const std::string& name, const std::string& ca, const std::string& san,
                     int days) {
  write(dir / (name + ".ext"), fmt::format("subjectAltName={}\nextendedKeyUsage=serverAuth\n", san));
  openssl(dir, fmt::format("req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout {0}.key -out {0}.csr "
                           "-subj /CN={0}",
                           name));
  openssl(dir, fmt::format("x509 -req -in {0}.csr -CA {1}.pem -CAkey {1}.key -CAcreateserial -days {2} "
                           "-extfile {0}.ext -out {0}.pem",
                           name, ca, days));
  return {dir / (name + ".pem"), dir / (name + ".key")};
}

}  // namespace

TestPki make_test_pki(const fs::path& dir) {
  TestPki pki;
  make_ca(dir, "test-ca");
  make_ca(dir, "untrusted-ca");
  pki.ca_cert = dir / "test-ca.pem";
  const std::string local = "DNS:localhost,IP:127.0.0.1";
  pki.localhost = make_leaf(dir, "localhost", "test-ca", local, 1);
  pki.other_host = make_leaf(dir, "other-host", "test-ca", "DNS:other.example", 1);
  pki.expired = make_leaf(dir, "expired", "test-ca", local, -1);
  pki.unknown_ca = make_leaf(dir, "unknown-ca", "untrusted-ca", local, 1);
  return pki;
}

}  // namespace crier::testing
