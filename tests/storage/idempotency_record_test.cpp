// An Idempotency-Key's record written in the action's own batch: after a
// create or a status change under a claim (and a reopen, as after a crash),
// the key knows which job its action made or changed, though no answer was
// ever stored; the answer, once stored, replaces it.
#include "tests/storage/store_fixture.h"

namespace crier::testing {
namespace {

IdempotencyClaim claim_of(std::string key) {
  return IdempotencyClaim{"acme", std::move(key), "hash-of-the-request", kBaseMs + 86'400'000, std::nullopt};
}

TEST(IdempotencyRecordTest, ACreateUnderAClaimLeavesTheKeyNamingItsJob) {
  TempDir dir;
  Job plain = make_job("acme"), claimed = make_job("acme", kBaseMs + 1), started = make_job("acme", kBaseMs + 2);
  const auto c1 = claim_of("create-1"), c2 = claim_of("create-2"), c3 = claim_of("run-1");
  {
    auto store = open_store(dir);
    ASSERT_TRUE(store->insert_job(plain));
    ASSERT_TRUE(store->insert_job(claimed, &c1));
    std::vector<IngestEntry> entries = {email_entry("a@example.com"), email_entry("b@example.com")};
    auto c = store->insert_job_with(started, entries, 0, true, std::nullopt, &c2);
    ASSERT_TRUE(c) << c.error().message;
    started.status = JobStatus::processing;
    ASSERT_TRUE(store->update_job(started, &c3));
  }
  auto store = open_store(dir);  // what a restart after a crash reads
  for (const auto& [key, job] : {std::pair{"create-1", claimed.key}, std::pair{"create-2", started.key},
                                 std::pair{"run-1", started.key}}) {
    SCOPED_TRACE(key);
    auto found = store->find_answer("acme", key, kBaseMs);
    ASSERT_TRUE(found) << found.error().message;
    ASSERT_TRUE(found->has_value());
    EXPECT_FALSE((*found)->answered());
    EXPECT_EQ((*found)->request_hash, "hash-of-the-request");
    EXPECT_EQ((*found)->committed_job, job);
    // Keys are per tenant, and expire.
    EXPECT_FALSE(store->find_answer("other", key, kBaseMs)->has_value());
    EXPECT_FALSE(store->find_answer("acme", key, kBaseMs + 86'400'001)->has_value());
  }
  EXPECT_FALSE(store->find_answer("acme", "never-used", kBaseMs)->has_value());

  // The answer, once stored, takes the record's place.
  ASSERT_TRUE(store->put_answer("acme", "create-1", IdempotentAnswer{"hash-of-the-request", 201, R"({"job_id":"x"})",
                                                                     kBaseMs + 86'400'000, std::nullopt}));
  auto answered = store->find_answer("acme", "create-1", kBaseMs);
  ASSERT_TRUE(answered && answered->has_value());
  EXPECT_TRUE((*answered)->answered());
  EXPECT_EQ((*answered)->status, 201);
  EXPECT_EQ((*answered)->body, R"({"job_id":"x"})");
  EXPECT_FALSE((*answered)->committed_job.has_value());
}

}  // namespace
}  // namespace crier::testing
