// How an HTTPS client checks who it talks to, and how a refusal is named.
// Shared by the HTTP client (webhooks, vendors, callbacks); OpenSSL's own
// host checks (SSL_set1_host, X509_VERIFY_PARAM_set1_ip_asc) rather than a
// verify callback, so a refused name leaves a verify result that says why.
#pragma once

#include <boost/system/error_code.hpp>

#include <string>
#include <string_view>

struct ssl_st;

namespace crier {

// Asks the handshake on `ssl` to verify the peer for `host`: SNI and the
// certificate's DNS names for a host name, its IP addresses for an address
// literal (no SNI: RFC 6066 allows names only). False when OpenSSL refuses
// the host (the handshake must not go on unchecked).
bool expect_peer(ssl_st* ssl, const std::string& host);

struct TlsFailure {
  std::string code;  // tls_unknown_ca, tls_certificate_expired, tls_hostname_mismatch, tls_failed
  std::string message;
};

// Names a failed handshake on `ssl` by its certificate verify result when
// verification is what failed, else tls_failed with `ec`'s message.
TlsFailure tls_failure(ssl_st* ssl, const boost::system::error_code& ec, std::string_view host);

}  // namespace crier
