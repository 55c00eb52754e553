#include "engine/sms_segments.h"

#include <array>

namespace crier {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// GSM-7 septets of each ASCII code: letters, digits and most punctuation
// are in the default alphabet; [ \ ] ^ { | } ~ and form feed only in the
// extension table; the backtick and the other control codes not at all.
constexpr std::array<std::uint8_t, 128> kAsciiSeptets = [] {
  std::array<std::uint8_t, 128> t{};
  for (int c = 0x20; c < 0x7F; ++c) t[c] = 1;
  t['`'] = 0;
  for (char c : {'[', '\\', ']', '^', '{', '|', '}', '~'}) t[static_cast<unsigned char>(c)] = 2;
  t['\n'] = 1;
  t['\r'] = 1;
  t['\f'] = 2;
  return t;
}();

// Decodes the code point at s[i] and moves i past it. Follows Unicode's
// table of well-formed byte sequences (3.9, table 3-7): an ill-formed
// sequence yields U+FFFD for its maximal valid prefix (at least one byte)
// and decoding resumes at the first byte that broke it.
char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i++]);
  if (b0 < 0x80) return b0;
  std::size_t length = 0;
  char32_t cp = 0;
  unsigned char low = 0x80, high = 0xBF;  // the second byte's range
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) low = 0xA0;   // no overlong forms
    if (b0 == 0xED) high = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    cp = b0 & 0x07;
    if (b0 == 0xF0) low = 0x90;   // no overlong forms
    if (b0 == 0xF4) high = 0x8F;  // nothing beyond U+10FFFF
  } else {
    return kReplacement;  // a stray continuation byte, C0, C1 or F5..FF
  }
  for (std::size_t k = 1; k < length; ++k) {
    if (i == s.size()) return kReplacement;
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < low || b > high) return kReplacement;
    low = 0x80;
    high = 0xBF;
    cp = (cp << 6) | (b & 0x3F);
    ++i;
  }
  return cp;
}

// Parts of a long message, filled greedily without splitting a character.
struct Parts {
  std::size_t capacity;
  std::size_t count = 1;
  std::size_t fill = 0;
  void add(std::size_t width) {
    if (fill + width > capacity) {
      ++count;
      fill = width;
    } else {
      fill += width;
    }
  }
};

}  // namespace

std::string_view to_string(SmsEncoding e) { return e == SmsEncoding::gsm7 ? "GSM-7" : "UCS-2"; }

int gsm7_septets(char32_t cp) {
  if (cp < 0x80) return kAsciiSeptets[cp];
  switch (cp) {
    // The default alphabet's letters and signs beyond ASCII.
    case U'£': case U'¥': case U'è': case U'é': case U'ù': case U'ì': case U'ò':
    case U'Ç': case U'Ø': case U'ø': case U'Å': case U'å': case U'Δ': case U'Φ':
    case U'Γ': case U'Λ': case U'Ω': case U'Π': case U'Ψ': case U'Σ': case U'Θ':
    case U'Ξ': case U'Æ': case U'æ': case U'ß': case U'É': case U'¤': case U'¡':
    case U'Ä': case U'Ö': case U'Ñ': case U'Ü': case U'§': case U'¿': case U'ä':
    case U'ö': case U'ñ': case U'ü': case U'à':
      return 1;
    case U'€':  // the extension table's one character beyond ASCII
      return 2;
    default:
      return 0;
  }
}

SmsSegments count_sms_segments(std::string_view body) {
  // Both encodings are measured in the one pass; which one applies is
  // known only at the end.
  bool gsm = true;
  std::size_t septets = 0, units = 0;
  Parts gsm_parts{kGsm7MultiSegment}, ucs_parts{kUcs2MultiSegment};
  std::size_t i = 0;
  while (i < body.size()) {
    const char32_t cp = next_code_point(body, i);
    if (gsm) {
      const int w = gsm7_septets(cp);
      if (w == 0) {
        gsm = false;
      } else {
        septets += static_cast<std::size_t>(w);
        gsm_parts.add(static_cast<std::size_t>(w));
      }
    }
    const std::size_t u = cp >= 0x10000 ? 2 : 1;
    units += u;
    ucs_parts.add(u);
  }
  if (gsm) return {SmsEncoding::gsm7, septets, septets <= kGsm7SingleSegment ? 1 : gsm_parts.count};
  return {SmsEncoding::ucs2, units, units <= kUcs2SingleSegment ? 1 : ucs_parts.count};
}

}  // namespace crier
