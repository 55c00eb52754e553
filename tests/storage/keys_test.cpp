// Key layouts: every encoder round-trips, and byte order is the order the
// store relies on (ingest order for recipients, newest first for listings).
#include "storage/keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace crier {
namespace {

constexpr std::int64_t kMs = 1'764'064'800'000;

JobKey fixed_key(std::uint8_t fill) {
  JobKey k;
  k.fill(fill);
  return k;
}

TEST(KeysTest, U64RoundTripsBigEndian) {
  for (std::uint64_t v : {0ULL, 1ULL, 255ULL, 256ULL, 0x0102030405060708ULL, ~0ULL}) {
    std::string out;
    keys::put_u64(out, v);
    ASSERT_EQ(out.size(), 8u);
    EXPECT_EQ(keys::get_u64(out), v);
  }
  // Appends, most significant byte first.
  std::string out = "ab";
  keys::put_u64(out, 0x0102030405060708ULL);
  EXPECT_EQ(out, std::string("ab\x01\x02\x03\x04\x05\x06\x07\x08", 10));
}

TEST(KeysTest, RecipientKeyRoundTripsItsSeq) {
  JobKey job = new_job_key(kMs);
  for (std::uint64_t seq : {0ULL, 1ULL, 255ULL, 256ULL, 1ULL << 40, ~0ULL - 1}) {
    std::string k = keys::recipient(job, seq);
    ASSERT_EQ(k.size(), 24u);
    EXPECT_EQ(k.substr(0, 16), keys::job(job));
    EXPECT_EQ(keys::seq_of_recipient(k), seq);
  }
}

TEST(KeysTest, RecipientKeysSortInSeqOrder) {
  JobKey job = new_job_key(kMs);
  EXPECT_LT(keys::recipient(job, 1), keys::recipient(job, 256));  // little-endian would invert this
  EXPECT_LT(keys::recipient(job, 255), keys::recipient(job, 256));
  EXPECT_LT(keys::recipient(job, 0), keys::recipient(job, 1ULL << 56));
  std::vector<std::string> ks;
  for (std::uint64_t seq :
       {0ULL, 1ULL, 2ULL, 127ULL, 128ULL, 255ULL, 256ULL, 65'535ULL, 65'536ULL, 1ULL << 32})
    ks.push_back(keys::recipient(job, seq));
  EXPECT_TRUE(std::is_sorted(ks.begin(), ks.end()));
}

TEST(KeysTest, RecipientsOfOneJobAreContiguous) {
  // Every recipient of job A sorts before any of job B (A < B), so a prefix
  // scan of one job never wanders into the next.
  JobKey a = fixed_key(0x10), b = fixed_key(0x11);
  EXPECT_LT(keys::recipient(a, ~0ULL), keys::recipient(b, 0));
  EXPECT_EQ(keys::job(a).size(), 16u);
}

TEST(KeysTest, TenantJobRoundTripsTheJob) {
  JobKey job = new_job_key(kMs);
  std::string k = keys::tenant_job("acme", kMs, job);
  EXPECT_EQ(k.size(), 4u + 1 + 8 + 16);
  EXPECT_EQ(k.substr(0, 5), keys::tenant_prefix("acme"));
  EXPECT_EQ(keys::job_of_tenant_job(k), job);
}

TEST(KeysTest, TenantJobsSortNewestFirst) {
  JobKey older = new_job_key(kMs), newer = new_job_key(kMs + 1);
  EXPECT_LT(keys::tenant_job("acme", kMs + 1, newer), keys::tenant_job("acme", kMs, older));
  EXPECT_LT(keys::tenant_job("acme", kMs + 86'400'000, newer),
            keys::tenant_job("acme", kMs, older));
  // Same millisecond: distinct keys, ordered by the job key.
  JobKey x = fixed_key(0x01), y = fixed_key(0x02);
  EXPECT_LT(keys::tenant_job("acme", kMs, x), keys::tenant_job("acme", kMs, y));
}

TEST(KeysTest, TenantPrefixesDoNotOverlap) {
  // "ab" must not be found by a scan of tenant "a".
  std::string a = keys::tenant_prefix("a");
  std::string ab_job = keys::tenant_job("ab", kMs, fixed_key(1));
  EXPECT_NE(ab_job.substr(0, a.size()), a);
  std::string ab_tpl = keys::tenant_scoped("ab", "welcome");
  EXPECT_NE(ab_tpl.substr(0, a.size()), a);
  EXPECT_EQ(keys::tenant_scoped("a", "welcome"), a + "welcome");
}

TEST(KeysTest, DedupeCountersAndCursorKeysAreDistinctPerJob) {
  JobKey job = fixed_key(0x42);
  DedupeKey id;
  id.fill(0x07);
  std::string d = keys::dedupe(job, id);
  ASSERT_EQ(d.size(), 32u);
  EXPECT_EQ(d.substr(0, 16), keys::job(job));
  EXPECT_EQ(d.substr(16), std::string(16, '\x07'));
  EXPECT_NE(keys::counters(job), keys::cursor(job));
  EXPECT_EQ(keys::counters(job).substr(0, 16), keys::job(job));
  EXPECT_NE(keys::counters(job), keys::counters(fixed_key(0x43)));
}

TEST(KeysTest, GroupJobRoundTripsTheJobUnderItsGroup) {
  JobKey job = new_job_key(kMs);
  std::string k = keys::group_job("acme", "due-reminders", job);
  EXPECT_EQ(k.size(), 4u + 1 + 13 + 1 + 16);
  EXPECT_EQ(k.substr(0, 19), keys::group_jobs_prefix("acme", "due-reminders"));
  EXPECT_EQ(keys::group_jobs_prefix("acme", "due-reminders"), keys::tenant_scoped("acme", "due-reminders") + '\0');
  EXPECT_EQ(keys::job_of_group_job(k), job);
}

TEST(KeysTest, GroupJobsSortOldestFirstWithinTheirGroup) {
  JobKey older = new_job_key(kMs), newer = new_job_key(kMs + 1);
  EXPECT_LT(keys::group_job("acme", "g", older), keys::group_job("acme", "g", newer));
  EXPECT_LT(keys::group_job("acme", "g", new_job_key(kMs + 255)), keys::group_job("acme", "g", new_job_key(kMs + 256)));
}

TEST(KeysTest, GroupPrefixesDoNotOverlap) {
  // A scan of group "g" never reaches group "g2", nor tenant "acme2"'s "g".
  std::string g = keys::group_jobs_prefix("acme", "g");
  for (const auto& other : {keys::group_job("acme", "g2", fixed_key(0)), keys::group_job("acme2", "g", fixed_key(0)),
                            keys::group_job("acm", "e", fixed_key(0))})
    EXPECT_NE(other.substr(0, g.size()), g);
  // Every key of the group sorts below the prefix with its last byte raised:
  // the bound of a range delete of the group's list.
  std::string past = g;
  past.back() = '\x01';
  EXPECT_LT(keys::group_job("acme", "g", fixed_key(0xff)), past);
  EXPECT_GE(keys::group_job("acme", "g2", fixed_key(0)), past);
}

// ---- senders ------------------------------------------------------------------

TEST(KeysTest, SenderKeysAreTenantScopedAndListable) {
  EXPECT_EQ(keys::sender("acme", "8134"), std::string("acme\0s8134", 10));
  EXPECT_EQ(keys::sender_prefix("acme"), std::string("acme\0s", 6));
  EXPECT_TRUE(keys::sender("acme", "8134").starts_with(keys::sender_prefix("acme")));
  // Another tenant whose name extends this one never falls under its prefix.
  EXPECT_FALSE(keys::sender("acme2", "8134").starts_with(keys::sender_prefix("acme")));
  // A sender record is not a quota use.
  EXPECT_EQ(keys::at_of_quota_use(keys::sender("acme", "8134")), std::nullopt);
}

TEST(KeysTest, QuotaUseKeysRoundTripTheirTimeAndSortByIt) {
  JobKey job = new_job_key(kMs);
  for (std::int64_t at : {std::int64_t{0}, std::int64_t{1}, kMs, kMs + 86'400'000}) {
    std::string k = keys::quota_use("acme", "8134", at, job);
    EXPECT_TRUE(k.starts_with(keys::quota_use_prefix("acme", "8134")));
    EXPECT_EQ(k.size(), keys::quota_use_prefix("acme", "8134").size() + 8 + 16);
    EXPECT_EQ(keys::at_of_quota_use(k), at);
    EXPECT_EQ(k.substr(k.size() - 16), keys::job(job));
  }
  EXPECT_LT(keys::quota_use("acme", "8134", 255, job), keys::quota_use("acme", "8134", 256, job));
  EXPECT_LT(keys::quota_use("acme", "8134", kMs, fixed_key(0xff)), keys::quota_use("acme", "8134", kMs + 1, fixed_key(0)));
  // One sender's uses never mix with those of a sender whose id extends it:
  // the 0x00 after the id ends the prefix.
  EXPECT_FALSE(keys::quota_use("acme", "81345", kMs, job).starts_with(keys::quota_use_prefix("acme", "8134")));
  EXPECT_LT(keys::quota_use("acme", "8134", ~0LL >> 1, job), keys::quota_use("acme", "81345", 0, job));
  // Malformed or foreign keys are not quota uses.
  EXPECT_EQ(keys::at_of_quota_use("acme"), std::nullopt);
  EXPECT_EQ(keys::at_of_quota_use(std::string("acme\0q", 6)), std::nullopt);
}

// Read by exact Get only (never scanned), so distinct is enough.
TEST(KeysTest, SigningSecretKeysAreOnePerTenantAndApartFromTheStoreFormat) {
  const std::string a = keys::signing_secrets("a");
  EXPECT_EQ(a, std::string("secret\0a", 8));
  EXPECT_NE(keys::signing_secrets("ab"), a);
  EXPECT_NE(a.substr(0, 5), std::string("meta\0", 5));
}

// A job's outbox events iterate in their order, and its two markers sort
// after them (read_events bounds its scan with the 'n' key).
TEST(KeysTest, OutboxEventsSortBySeqBeforeTheJobsMarkers) {
  JobKey job = new_job_key(kMs);
  EXPECT_LT(keys::outbox_event(job, 255), keys::outbox_event(job, 256));
  EXPECT_LT(keys::outbox_event(job, ~0ULL), keys::outbox_next(job));
  EXPECT_LT(keys::outbox_next(job), keys::outbox_status(job));
  EXPECT_EQ(keys::outbox_event(job, 7).size(), 16u + 1 + 8);
  EXPECT_EQ(keys::outbox_event(job, 7).substr(0, 16), keys::job(job));
  EXPECT_LT(keys::outbox_status(job), keys::outbox_event(new_job_key(kMs + 1), 0)) << "jobs do not interleave";
}

// A tenant's profiles are one prefix scan, in user_id order, with neither
// its aliases nor another tenant's profiles inside it.
TEST(KeysTest, ProfileKeysListOneTenantsProfilesAndNothingElse) {
  const std::string prefix = keys::profile_prefix("acme");
  EXPECT_EQ(keys::profile("acme", "u1"), prefix + "u1");
  EXPECT_LT(keys::profile("acme", "a"), keys::profile("acme", "b"));
  EXPECT_NE(keys::profile("acme-2", "u1").substr(0, prefix.size()), prefix);
  EXPECT_NE(keys::profile_alias("acme", "crm", "u1").substr(0, prefix.size()), prefix);
  EXPECT_EQ(keys::profile_alias("acme", "crm", "x"), std::string("acme\0acrm\0x", 11));
  EXPECT_NE(keys::profile_alias("acme", "cr", "mx"), keys::profile_alias("acme", "crm", "x"))
      << "the label ends at its 0x00";
}

// A list's members are one prefix scan in user_id order, and a user's lists
// one prefix scan in list_id order; an id that extends another's never falls
// into its prefix (0x00 ends each id), nor do list records into either.
TEST(KeysTest, ListKeysKeepListsAndUsersApart) {
  EXPECT_EQ(keys::user_list("t", "l"), std::string("t\0ll", 4));
  EXPECT_EQ(keys::list_member("t", "l", "u"), std::string("t\0ml\0u", 6));
  EXPECT_EQ(keys::member_list("t", "u", "l"), std::string("t\0uu\0l", 6));
  EXPECT_EQ(keys::list_member("t", "l", "u"), keys::list_members_prefix("t", "l") + "u");
  EXPECT_EQ(keys::member_list("t", "u", "l"), keys::member_lists_prefix("t", "u") + "l");
  EXPECT_EQ(keys::user_list("t", "l"), keys::user_list_prefix("t") + "l");
  EXPECT_NE(keys::list_member("t", "ab", "c").substr(0, keys::list_members_prefix("t", "a").size()),
            keys::list_members_prefix("t", "a"));
  EXPECT_NE(keys::member_list("t", "uu", "l").substr(0, keys::member_lists_prefix("t", "u").size()),
            keys::member_lists_prefix("t", "u"));
  EXPECT_LT(keys::list_member("t", "l", "a"), keys::list_member("t", "l", "b"));
  EXPECT_LT(keys::member_list("t", "u", "a"), keys::member_list("t", "u", "b"));
  for (const auto& k : {keys::list_member("t", "l", "u"), keys::member_list("t", "u", "l"), keys::profile("t", "l"),
                        keys::segment("t", "l")})
    EXPECT_NE(k.substr(0, keys::user_list_prefix("t").size()), keys::user_list_prefix("t")) << "no other tag is a list";
}

// One tenant's entries of one channel are one prefix, apart from its other
// channels, its profiles and a tenant whose name extends its own.
TEST(KeysTest, SuppressionKeysArePerTenantAndChannel) {
  const std::string email = keys::suppression("acme", 0, "");
  EXPECT_EQ(keys::suppression("acme", 0, "a@x.io"), email + "a@x.io");
  EXPECT_NE(keys::suppression("acme", 1, "a@x.io").substr(0, email.size()), email);
  EXPECT_NE(keys::suppression("acme-2", 0, "a@x.io").substr(0, email.size()), email);
  EXPECT_LT(keys::suppression("acme", 0, "a@x.io"), keys::suppression("acme", 0, "b@x.io"));
}

}  // namespace
}  // namespace crier
