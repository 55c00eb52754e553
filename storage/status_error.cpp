#include "storage/status_error.h"

#include <fmt/format.h>

namespace crier {

Error storage_error(const rocksdb::Status& s, std::string_view what) {
  auto e = make_error(ErrorKind::internal, "storage_error", "the store could not complete the request");
  e.detail = fmt::format("{}: {}", what, s.ToString());
  return e;
}

Error corrupt(std::string_view what) {
  return make_error(ErrorKind::internal, "storage_corrupt", fmt::format("unreadable {}", what));
}

}  // namespace crier
