#include "storage/state_runs.h"

#include "storage/keys.h"
#include "storage/record_codec.h"

namespace crier::runs {
namespace {

bool runnable(const StateChange& c) {
  return is_final(c.state.status) && c.state.next_attempt_at == 0 && c.previous_retry_at == 0;
}

bool same_state(const RecipientState& a, const RecipientState& b) {
  return a.status == b.status && a.attempts == b.attempts && a.updated_at == b.updated_at &&
         a.read_at == b.read_at && a.next_attempt_at == b.next_attempt_at && a.sent_at == b.sent_at &&
         a.delivered_at == b.delivered_at &&
         a.error_code == b.error_code && a.error_message == b.error_message;
}

}  // namespace

Plan plan(std::span<const StateChange> changes) {
  Plan out;
  std::size_t i = 0;
  while (i < changes.size()) {
    std::size_t j = i + 1;
    if (runnable(changes[i]))
      while (j < changes.size() && changes[j].seq == changes[j - 1].seq + 1 && runnable(changes[j]) &&
             same_state(changes[j].state, changes[i].state))
        ++j;
    if (j - i >= kMinRun) {
      out.runs.push_back({changes[i].seq, changes[j - 1].seq + 1, i});
    } else {
      for (std::size_t k = i; k < j; ++k) out.singles.push_back(k);
    }
    i = j;
  }
  return out;
}

std::string encode(std::uint64_t end, const RecipientState& state) {
  std::string out;
  keys::put_u64(out, end);
  out += records::encode(state);
  return out;
}

std::optional<Decoded> decode(std::string_view value) {
  if (value.size() < 8) return std::nullopt;
  auto state = records::decode_state(value.substr(8));
  if (!state) return std::nullopt;
  return Decoded{keys::get_u64(value), std::move(*state)};
}

}  // namespace crier::runs
