#include "workers/tls_peer_check.h"

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace crier {

bool expect_peer(ssl_st* ssl, const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (!ec) return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
  if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) return false;
  return SSL_set1_host(ssl, host.c_str()) == 1;
}

TlsFailure tls_failure(ssl_st* ssl, const boost::system::error_code& ec, std::string_view host) {
  const long result = SSL_get_verify_result(ssl);
  const char* why = X509_verify_cert_error_string(result);
  switch (result) {
    case X509_V_OK:
      return {"tls_failed", fmt::format("TLS with {} failed: {}", host, ec.message())};
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return {"tls_certificate_expired", fmt::format("{}'s certificate is not valid now: {}", host, why)};
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return {"tls_hostname_mismatch", fmt::format("{}'s certificate is not for {}: {}", host, host, why)};
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return {"tls_unknown_ca", fmt::format("{}'s certificate is not signed by a trusted CA: {}", host, why)};
    default:
      return {"tls_failed", fmt::format("{}'s certificate was refused: {}", host, why)};
  }
}

}  // namespace crier
