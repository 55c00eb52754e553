// The secrets `crier serve` keeps in its data directory: the API key it
// generates when none is configured, and the key that signs event stream
// tickets (api/event_ticket.h). (Webhook signing secrets are per
// tenant, in the store: workers/tenant_signing.h.)
#pragma once

#include <optional>
#include <string>

#include "engine/result.h"

namespace crier {

struct StoredSecret {
  std::string key;
  std::string path;
  bool created = false;  // generated just now (show it once), or read back
};

// The key in `<data_dir>/api_key`, generated ("crier_" + 32 hex digits from
// the system's CSPRNG) when the file does not exist. A new file is created
// with O_CREAT|O_EXCL and mode 0600 from the start (never widened, then
// narrowed), is not followed if a symlink is planted there, and is synced
// before the key is used. A file that exists but holds no valid key is an
// error, never overwritten. Messages name the path, never the key.
Result<StoredSecret> load_or_create_api_key(const std::string& data_dir);

// With no key configured, one is generated once and kept in the data
// directory (load_or_create_api_key), so `make run` works out of the box and
// keeps working: added to config.api_keys for tenant "default" and returned
// for announce_api_key. With keys configured: nullopt.
struct Config;
Result<std::optional<StoredSecret>> ensure_api_key(Config& config);

// Prints where the generated key is (on stdout, after the listening line):
// the key itself only when it was just made, then wipes it from memory (the
// digest in ApiKeys is what stays).
void announce_api_key(std::optional<StoredSecret>& generated);

// The key in `<data_dir>/ticket_key` (64 hex digits: 32 bytes from the
// system's CSPRNG), made the same way when missing. Kept across restarts,
// so tickets handed out stay valid; removing the file (server stopped)
// revokes them all.
Result<StoredSecret> load_or_create_ticket_key(const std::string& data_dir);

}  // namespace crier
