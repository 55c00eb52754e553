#include "workers/smtp_message.h"

#include "workers/webhook_signature.h"  // base64_encode

#include <fmt/format.h>

#include <ctime>

namespace crier::smtp {
namespace {

constexpr std::string_view kHex = "0123456789ABCDEF";

// RFC 2047 wants encoded-words of at most 75 characters; 39 bytes make 52
// base64 characters, so "Subject: =?UTF-8?B?...?=" stays under 78 columns.
constexpr std::size_t kEncodedWordBytes = 39;
// Longest plain header value we write unfolded; RFC 5322's hard limit is 998.
constexpr std::size_t kMaxPlainHeader = 900;
constexpr std::size_t kQpLine = 75;  // 76 with the soft break's '='

bool is_printable_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

bool is_address_char(unsigned char c) {
  if (c <= 0x20 || c == 0x7f) return false;
  return std::string_view("<>\"\\,;:()[]").find(static_cast<char>(c)) == std::string_view::npos;
}

// Text that is mostly not ASCII grows threefold in quoted-printable; base64
// is smaller then. Plain English stays readable in quoted-printable.
bool prefers_base64(std::string_view s) {
  std::size_t high = 0;
  for (unsigned char c : s) high += c >= 0x80;
  return high * 3 > s.size();
}

// Characters a Message-ID's left part and a MIME boundary can carry safely.
std::string safe_token(std::string_view s, bool dots_and_dashes) {
  std::string out;
  for (char c : s) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum || c == '_' || (dots_and_dashes && (c == '.' || c == '-'))) out.push_back(c);
  }
  return out;
}

std::string mime_part(std::string_view type, std::string_view content) {
  bool b64 = prefers_base64(content);
  return fmt::format("Content-Type: {}; charset=utf-8\r\nContent-Transfer-Encoding: {}\r\n\r\n{}", type,
                     b64 ? "base64" : "quoted-printable", b64 ? base64_lines(content) : quoted_printable(content));
}

std::string from_header(const Sender& from) {
  if (from.name.empty()) return from.address;
  if (is_printable_ascii(from.name) && from.name.find("=?") == std::string::npos) {
    std::string quoted = "\"";
    for (char c : from.name) {
      if (c == '"' || c == '\\') quoted.push_back('\\');
      quoted.push_back(c);
    }
    return quoted + "\" <" + from.address + ">";
  }
  return encode_header_text(from.name) + " <" + from.address + ">";
}

}  // namespace

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

bool is_valid_address(std::string_view address) {
  if (address.size() < 3 || address.size() > 254) return false;
  auto at = address.find('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || at + 1 == address.size()) return false;
  for (unsigned char c : address)
    if (!is_address_char(c)) return false;
  std::string_view domain = address.substr(at + 1);
  if (domain.front() == '.' || domain.back() == '.' || domain.find("..") != std::string_view::npos) return false;
  for (unsigned char c : domain)
    if (!(c >= 0x80 || c == '.' || c == '-' || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
      return false;
  return true;
}

std::string base64_lines(std::string_view data) {
  std::string encoded = base64_encode(data), out;
  for (std::size_t i = 0; i < encoded.size(); i += 76) {
    out.append(encoded, i, 76);
    out += "\r\n";
  }
  return out;
}

std::string encode_header_text(std::string_view text) {
  // A header is one logical line: controls (a stray CR or LF above all)
  // would end it, so they become spaces before anything else.
  std::string clean(text);
  for (char& c : clean)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  if (is_printable_ascii(clean) && clean.find("=?") == std::string::npos && clean.size() <= kMaxPlainHeader)
    return clean;
  std::string out;
  std::size_t pos = 0;
  while (pos < clean.size()) {
    std::size_t end = std::min(pos + kEncodedWordBytes, clean.size());
    // Never split a UTF-8 sequence across two words: decoders may reject it.
    std::size_t cut = end;
    while (cut > pos && cut < clean.size() && (static_cast<unsigned char>(clean[cut]) & 0xC0) == 0x80) --cut;
    if (cut > pos) end = cut;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64_encode(std::string_view(clean).substr(pos, end - pos)) + "?=";
    pos = end;
  }
  return out;
}

std::string quoted_printable(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::size_t col = 0;
  auto emit = [&](std::string_view token) {
    if (col + token.size() > kQpLine) {
      out += "=\r\n";
      col = 0;
    }
    out += token;
    col += token.size();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += "\r\n";
      col = 0;
      continue;
    }
    // Blanks at the end of a line are dropped by some transports: encode them.
    bool line_end = i + 1 == text.size() || text[i + 1] == '\r' || text[i + 1] == '\n';
    bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !line_end);
    if (literal) {
      char ch = static_cast<char>(c);
      emit(std::string_view(&ch, 1));
    } else {
      char esc[3] = {'=', kHex[c >> 4], kHex[c & 15]};
      emit(std::string_view(esc, 3));
    }
  }
  return out;
}

std::string format_date(std::int64_t unix_ms) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} +0000", kDays[tm.tm_wday], tm.tm_mday, kMonths[tm.tm_mon],
                     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string format_message(const OutboundMessage& m, const Sender& from, std::int64_t unix_ms) {
  const auto& c = m.content;
  std::string id = safe_token(m.message_id, true);
  if (id.empty()) id = "unnamed";
  std::string out = fmt::format(
      "Date: {}\r\nFrom: {}\r\nTo: {}\r\nSubject: {}\r\nMessage-ID: <{}@crier>\r\nX-Crier-Message-Id: {}\r\n"
      "MIME-Version: 1.0\r\n",
      format_date(unix_ms), from_header(from), m.to, encode_header_text(c.subject), id, id);
  if (!c.text.empty() && !c.html.empty()) {
    // Quoted-printable writes '=' as "=3D" and base64 has no '_' or '=' at a
    // line's start, so no body line can look like this boundary.
    std::string boundary = "=_crier_" + safe_token(m.message_id, false).substr(0, 50);
    out += fmt::format("Content-Type: multipart/alternative; boundary=\"{}\"\r\n\r\n", boundary);
    out += fmt::format("--{}\r\n{}\r\n--{}\r\n{}\r\n--{}--\r\n", boundary, mime_part("text/plain", c.text), boundary,
                       mime_part("text/html", c.html), boundary);
  } else if (!c.html.empty()) {
    out += mime_part("text/html", c.html);
  } else {
    out += mime_part("text/plain", c.text);
  }
  if (!out.ends_with("\r\n")) out += "\r\n";
  return out;
}

std::string dot_stuff(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 64 + 8);
  bool line_start = true;
  for (char c : message) {
    if (line_start && c == '.') out.push_back('.');
    out.push_back(c);
    line_start = c == '\n';
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  out += ".\r\n";
  return out;
}

}  // namespace crier::smtp
