// How an SMS body travels on the GSM network: its encoding, its length in
// that encoding's units, and the number of segments (parts) it is sent and
// billed as. Pure: no allocation, no I/O, safe from any thread.
//
// Encoding: GSM-7 when every character is in the GSM 03.38 default alphabet
// (3GPP TS 23.038, 1 septet) or its extension table (^ { } \ [ ~ ] | € and
// form feed: an escape plus a septet, so 2); otherwise UCS-2, where a
// character outside the BMP is a surrogate pair (2 UTF-16 units).
//
// Segments: a body that fits one message (160 septets, 70 units) is 1
// segment; a longer one is split into parts that each carry a 6-byte user
// data header, leaving 153 septets or 67 units per part. Parts are filled
// greedily and never split a character: an escape pair or a surrogate pair
// that does not fit whole starts the next part (as handsets and Twilio's
// segment calculator split), so a long body can need one part more than
// ceil(length / 153).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace crier {

enum class SmsEncoding : std::uint8_t { gsm7, ucs2 };

// "GSM-7" or "UCS-2".
std::string_view to_string(SmsEncoding e);

// The capacity of one segment, per encoding.
inline constexpr std::size_t kGsm7SingleSegment = 160;  // septets
inline constexpr std::size_t kGsm7MultiSegment = 153;   // septets, after the header
inline constexpr std::size_t kUcs2SingleSegment = 70;   // UTF-16 units
inline constexpr std::size_t kUcs2MultiSegment = 67;    // UTF-16 units, after the header

struct SmsSegments {
  SmsEncoding encoding = SmsEncoding::gsm7;
  // The body's length in the encoding's units: septets for GSM-7 (an
  // extension character counts 2), UTF-16 code units for UCS-2 (a
  // character outside the BMP counts 2).
  std::size_t characters = 0;
  // At least 1: an empty body is still one message (Twilio's calculator
  // reports 1 segment for it, and a provider bills a sent SMS as one).
  std::size_t segments = 1;

  friend bool operator==(const SmsSegments&, const SmsSegments&) = default;
};

// Measures a rendered body given as UTF-8. Never fails: an ill-formed
// sequence (stray continuation byte, truncated or overlong sequence,
// encoded surrogate, beyond U+10FFFF) counts as one U+FFFD per maximal
// ill-formed subpart (Unicode's recommended practice), which makes the
// body UCS-2. Linear in the body's size.
SmsSegments count_sms_segments(std::string_view utf8_body);

// A code point's size in GSM-7: 1 in the default alphabet, 2 in the
// extension table, 0 when GSM-7 cannot carry it.
int gsm7_septets(char32_t code_point);

}  // namespace crier
