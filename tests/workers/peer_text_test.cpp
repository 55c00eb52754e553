// peer_text: what a vendor or mail server sent, kept as UTF-8 in outcomes.
#include <gtest/gtest.h>

#include "workers/peer_text.h"

namespace crier {
namespace {

TEST(PeerText, KeepsWellFormedTextAsIs) {
  EXPECT_EQ(peer_text("plain"), "plain");
  EXPECT_EQ(peer_text("caf\xC3\xA9 \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xF0\x9F\x98\x80");
}

TEST(PeerText, ReplacesEachIllFormedByte) {
  EXPECT_EQ(peer_text("caf\xE9"), "caf\xEF\xBF\xBD");                      // Latin-1
  EXPECT_EQ(peer_text("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");            // overlong '/'
  EXPECT_EQ(peer_text("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  EXPECT_EQ(peer_text("\xF4\x90\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // past U+10FFFF
  EXPECT_EQ(peer_text("ab\xE2\x82"), "ab\xEF\xBF\xBD\xEF\xBF\xBD");        // a character cut short
}

TEST(PeerText, CutsBeforeACharacterNeverInsideOne) {
  EXPECT_EQ(peer_text("abcdef", 4), "abcd…");
  EXPECT_EQ(peer_text("ab\xC3\xA9", 3), "ab…");  // é is 2 bytes: not split
  EXPECT_EQ(peer_text("abc", 3), "abc");
}

}  // namespace
}  // namespace crier
