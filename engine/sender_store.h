// The storage of WhatsApp senders and their quota uses, declared here and
// implemented in storage/ (RocksDB). Every method is thread-safe; writes are
// synced. Quota uses are written by the job store, in the same atomic write
// as the job that takes them (JobStore::insert_job_with, update_job_with).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "engine/result.h"
#include "engine/sender.h"
#include "engine/sender_quota.h"

namespace crier {

class SenderStore {
 public:
  virtual ~SenderStore() = default;
  // Creates or replaces the sender (tenant, phone_number_id).
  virtual Result<void> put_sender(const Sender& s) = 0;
  virtual Result<std::optional<Sender>> find_sender(std::string_view tenant, std::string_view id) = 0;
  // Returns whether it existed. Its quota uses stay until they roll off:
  // the limit belongs to the number, which a new record does not reset.
  virtual Result<bool> delete_sender(std::string_view tenant, std::string_view id) = 0;
  // The tenant's senders in id order after `after_id`.
  virtual Result<std::vector<Sender>> list_senders(std::string_view tenant, std::string_view after_id,
                                                   std::size_t limit) = 0;
  // The sender's quota uses made after `since_ms`, oldest first.
  virtual Result<std::vector<QuotaUse>> quota_uses(std::string_view tenant, std::string_view id,
                                                   std::int64_t since_ms) = 0;
};

}  // namespace crier
