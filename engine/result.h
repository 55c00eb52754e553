// Errors as values at module boundaries: every fallible call that crosses a
// folder returns Result<T>. The api layer maps each ErrorKind to exactly one
// HTTP status (api/errors.cpp); nothing else decides statuses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace crier {

enum class ErrorKind {
  invalid,         // the request is malformed (400)
  unauthorized,    // no or unknown credentials (401)
  not_found,       // no such resource for this tenant (404)
  conflict,        // the resource's state forbids it (409)
  too_large,       // over a configured size limit (413)
  unsupported,     // unsupported media type (415)
  method_not_allowed,  // the path exists, the method does not (405)
  unprocessable,   // well-formed but refers to something that does not fit (422)
  exhausted,       // a quota is used up for now (429)
  unavailable,     // not ready to serve yet, at capacity, or the store cannot write for now (503)
  timeout,         // the client was too slow to send its request (408)
  insufficient_storage,  // the store's disk is full: nothing was stored (507)
  internal,        // storage or invariant failure (500)
};

struct Error {
  ErrorKind kind = ErrorKind::internal;
  std::string code;     // stable, machine-readable, snake_case
  std::string message;  // for people
  std::string field;    // the offending input field, when there is one
  std::string status;   // for conflicts: the resource's current state
  // Numbers that explain the error, by name (e.g. a quota's needed and
  // available), for answers that show them.
  std::vector<std::pair<std::string, std::int64_t>> details;
  // What happened underneath (a RocksDB status, with file paths): for the
  // server's log only, never sent to a client.
  std::string detail;
};

inline Error make_error(ErrorKind kind, std::string code, std::string message,
                        std::string field = {}) {
  Error e;
  e.kind = kind;
  e.code = std::move(code);
  e.message = std::move(message);
  e.field = std::move(field);
  return e;
}

// A value or an error, never both. Access to the wrong alternative throws
// std::bad_variant_access: a programming error, not a runtime condition.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}      // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

}  // namespace crier
