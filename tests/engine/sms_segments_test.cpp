// SMS encoding and segment counting: the GSM 03.38 alphabet and its
// extension table, UCS-2 surrogate pairs, the single/multi-part limits,
// characters that must not be split across parts, and ill-formed UTF-8.
#include "engine/sms_segments.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace crier {
namespace {

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

struct Case {
  std::string name;
  std::string body;
  SmsEncoding encoding;
  std::size_t characters;
  std::size_t segments;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> kCases = {
      {"empty body is one GSM-7 message", "", SmsEncoding::gsm7, 0, 1},
      {"plain ASCII", "Hello, world!", SmsEncoding::gsm7, 13, 1},
      {"euro sign is an extension character", "€", SmsEncoding::gsm7, 2, 1},
      {"caret is an extension character", "^", SmsEncoding::gsm7, 2, 1},
      {"every extension character counts two", "^{}\\[~]|€\f", SmsEncoding::gsm7, 20, 1},
      {"LF CR and space are basic", "a\nb\r c", SmsEncoding::gsm7, 6, 1},
      {"basic set beyond ASCII",
       "£¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà@$", SmsEncoding::gsm7, 42, 1},
      {"emoji is a surrogate pair", "😀", SmsEncoding::ucs2, 2, 1},
      {"emoji makes the whole body UCS-2", "Hi 😀", SmsEncoding::ucs2, 5, 1},
      {"lowercase c-cedilla is not GSM", "ça", SmsEncoding::ucs2, 2, 1},
      {"uppercase C-cedilla is GSM", "Ça", SmsEncoding::gsm7, 2, 1},
      {"backtick is not GSM", "`", SmsEncoding::ucs2, 1, 1},
      {"tab is not GSM", "a\tb", SmsEncoding::ucs2, 3, 1},
      {"Cyrillic", "Привет", SmsEncoding::ucs2, 6, 1},
      {"Ohm sign is not the Greek Omega", "\u2126", SmsEncoding::ucs2, 1, 1},
      // GSM-7 limits.
      {"160 septets is one segment", repeat("a", 160), SmsEncoding::gsm7, 160, 1},
      {"161 septets is two segments", repeat("a", 161), SmsEncoding::gsm7, 161, 2},
      {"159 plus an extension is 161 septets", repeat("a", 159) + "€", SmsEncoding::gsm7, 161, 2},
      {"158 plus an extension is 160 septets", repeat("a", 158) + "€", SmsEncoding::gsm7, 160, 1},
      {"80 extension characters", repeat("{", 80), SmsEncoding::gsm7, 160, 1},
      {"153*2 septets is two segments", repeat("a", 306), SmsEncoding::gsm7, 306, 2},
      {"153*2+1 septets is three segments", repeat("a", 307), SmsEncoding::gsm7, 307, 3},
      // 152 + € + 152 = 306 septets, but € does not fit in the first part's
      // last septet: it opens the second, which then overflows.
      {"extension at the segment boundary moves to the next part",
       repeat("a", 152) + "€" + repeat("a", 152), SmsEncoding::gsm7, 306, 3},
      {"extension that fits the boundary exactly", repeat("a", 151) + "€" + repeat("a", 153),
       SmsEncoding::gsm7, 306, 2},
      // UCS-2 limits.
      {"70 units is one segment", repeat("ж", 70), SmsEncoding::ucs2, 70, 1},
      {"71 units is two segments", repeat("ж", 71), SmsEncoding::ucs2, 71, 2},
      {"35 emoji are 70 units", repeat("😀", 35), SmsEncoding::ucs2, 70, 1},
      {"67*2 units is two segments", repeat("ж", 134), SmsEncoding::ucs2, 134, 2},
      {"67*2+1 units is three segments", repeat("ж", 135), SmsEncoding::ucs2, 135, 3},
      {"surrogate pair at the segment boundary moves to the next part",
       repeat("ж", 66) + "😀" + repeat("ж", 66), SmsEncoding::ucs2, 134, 3},
      {"one GSM character beyond the set turns a long body UCS-2", repeat("a", 100) + "ç",
       SmsEncoding::ucs2, 101, 2},
      // Ill-formed UTF-8: one U+FFFD per maximal ill-formed subpart.
      {"stray continuation byte", "a\x80" "b", SmsEncoding::ucs2, 3, 1},
      {"truncated two-byte sequence at the end", "a\xC3", SmsEncoding::ucs2, 2, 1},
      {"truncated four-byte sequence is one replacement", "\xF0\x9F\x98" "a", SmsEncoding::ucs2, 2, 1},
      {"overlong encoding of '/'", "\xC0\xAF", SmsEncoding::ucs2, 2, 1},
      {"encoded surrogate", "\xED\xA0\x80", SmsEncoding::ucs2, 3, 1},
      {"beyond U+10FFFF", "\xF4\x90\x80\x80", SmsEncoding::ucs2, 4, 1},
      {"bytes that never appear in UTF-8", "\xFE\xFF", SmsEncoding::ucs2, 2, 1},
      {"a NUL byte is not GSM", std::string("a\0b", 3), SmsEncoding::ucs2, 3, 1},
  };
  return kCases;
}

TEST(SmsSegmentsTest, TrickyBodies) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    auto s = count_sms_segments(c.body);
    EXPECT_EQ(to_string(s.encoding), to_string(c.encoding));
    EXPECT_EQ(s.characters, c.characters);
    EXPECT_EQ(s.segments, c.segments);
  }
}

TEST(SmsSegmentsTest, SeptetsOfSingleCodePoints) {
  EXPECT_EQ(gsm7_septets(U'a'), 1);
  EXPECT_EQ(gsm7_septets(U'@'), 1);
  EXPECT_EQ(gsm7_septets(U'\u03A9'), 1);  // Greek capital Omega
  EXPECT_EQ(gsm7_septets(U'\u2126'), 0);  // Ohm sign
  EXPECT_EQ(gsm7_septets(U'\u20AC'), 2);  // euro sign
  EXPECT_EQ(gsm7_septets(U'\f'), 2);
  EXPECT_EQ(gsm7_septets(U'\u00E7'), 0);  // c-cedilla
  EXPECT_EQ(gsm7_septets(U'\u00C7'), 1);  // C-cedilla
  EXPECT_EQ(gsm7_septets(U'\uFFFD'), 0);
  EXPECT_EQ(gsm7_septets(U'\U0001F600'), 0);
}

TEST(SmsSegmentsTest, DefaultAlphabetHas127CharactersAndTheExtensionTable10) {
  // 128 positions, one of which is the escape to the extension table.
  int basic = 0, extension = 0;
  for (char32_t cp = 0; cp < 0x10000; ++cp) {
    int w = gsm7_septets(cp);
    if (w == 1) ++basic;
    if (w == 2) ++extension;
  }
  EXPECT_EQ(basic, 127);
  EXPECT_EQ(extension, 10);
}

TEST(SmsSegmentsTest, LongBodiesAreCeilOfLengthWithoutBoundaryCharacters) {
  for (std::size_t n : {160u, 161u, 306u, 307u, 459u, 460u, 1530u, 1531u}) {
    auto s = count_sms_segments(repeat("x", n));
    EXPECT_EQ(s.segments, n <= 160 ? 1 : (n + 152) / 153) << n;
  }
  for (std::size_t n : {70u, 71u, 134u, 135u, 201u, 202u}) {
    auto s = count_sms_segments(repeat("é", n) + "ç");  // UCS-2 from the last character
    EXPECT_EQ(s.characters, n + 1);
    EXPECT_EQ(s.segments, n + 1 <= 70 ? 1 : (n + 1 + 66) / 67) << n;
  }
}

TEST(SmsSegmentsTest, ArbitraryBytesAreMeasuredWithinBounds) {
  // Every byte is consumed by exactly one code point or replacement: UCS-2
  // units never exceed the bytes, GSM-7 septets never exceed twice them.
  std::mt19937 rng(13);
  std::uniform_int_distribution<int> byte(0, 255), length(0, 400);
  for (int n = 0; n < 5000; ++n) {
    std::string body(static_cast<std::size_t>(length(rng)), '\0');
    for (auto& c : body) c = static_cast<char>(byte(rng));
    auto s = count_sms_segments(body);
    EXPECT_GE(s.segments, 1u);
    if (s.encoding == SmsEncoding::ucs2) EXPECT_LE(s.characters, body.size());
    else EXPECT_LE(s.characters, 2 * body.size());
  }
}

TEST(SmsSegmentsTest, EncodingNames) {
  EXPECT_EQ(to_string(SmsEncoding::gsm7), "GSM-7");
  EXPECT_EQ(to_string(SmsEncoding::ucs2), "UCS-2");
}

}  // namespace
}  // namespace crier
