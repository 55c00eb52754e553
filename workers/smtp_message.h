// Turning a rendered email into the bytes an SMTP server receives: RFC 5322
// headers, a MIME body (RFC 2045/2046) and SMTP's dot-stuffing. Pure
// functions, no I/O, so they are tested without a socket.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "workers/provider.h"

namespace crier::smtp {

// Whether `address` can be written as <address> in MAIL FROM / RCPT TO and in
// a header: local@domain, no spaces, controls, angle brackets or quotes.
// Non-ASCII bytes are allowed; such an address needs SMTPUTF8.
bool is_valid_address(std::string_view address);
bool is_ascii(std::string_view s);

// Printable ASCII text stays as it is; anything else (non-ASCII, controls, a
// literal "=?", an overlong value) becomes RFC 2047 encoded-words in UTF-8,
// each at most 75 characters, folded onto continuation lines.
std::string encode_header_text(std::string_view text);

// Quoted-printable (RFC 2045 6.7): any line ending becomes CRLF, encoded lines
// are at most 76 characters (soft breaks), trailing blanks are encoded.
std::string quoted_printable(std::string_view text);

// Base64 in lines of 76 characters, each ending in CRLF.
std::string base64_lines(std::string_view data);

// "Tue, 05 Mar 2024 10:00:00 +0000" (RFC 5322 3.3) for a unix time in ms.
std::string format_date(std::int64_t unix_ms);

struct Sender {
  std::string address;
  std::string name;  // may be empty
};

// The complete message for `m` with CRLF line endings, no line over 998
// octets, 7-bit unless the recipient's address itself is not ASCII. The body
// is text/plain, text/html or multipart/alternative of both, in UTF-8, each
// part quoted-printable or (mostly non-ASCII text) base64.
std::string format_message(const OutboundMessage& m, const Sender& from, std::int64_t unix_ms);

// The DATA payload: lines starting with '.' get another '.', and the message
// ends with CRLF "." CRLF (RFC 5321 4.5.2).
std::string dot_stuff(std::string_view message);

}  // namespace crier::smtp
