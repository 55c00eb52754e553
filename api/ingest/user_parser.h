// One user, parsed from JSON (a batch's element or an NDJSON line) into an
// engine RawUser whose views point into the parser's buffers, and the rules
// the JSON readers share: a body-level syntax error is the request's
// (SyntaxError, thrown and caught within the readers), a bad field is the
// user's (its Error).
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>

#include "engine/result.h"
#include "engine/user_validation.h"

namespace crier::api::ingest {

namespace od = simdjson::ondemand;

// A user refused for what it holds (400-class, per user).
Error bad_user(std::string code, std::string message, std::string field = {});

// A body-level syntax error: the whole request (or NDJSON line) is
// malformed. Thrown by the parser, caught by the reader that called it.
struct SyntaxError {
  std::string message;
};

// Throws SyntaxError for an error that leaves the document out of step; a
// type or number error is the value's, and left to the caller.
void throw_if_fatal(simdjson::error_code e);

// Parses user objects; the views it returns live until its next parse.
// Throws SyntaxError (only).
class UserParser {
 public:
  Result<RawUser> parse(od::value value);
  Result<RawUser> parse(od::object& obj);

  // ondemand checks only the structure of a value it skips (a bracket, a
  // quote), not its atoms or escapes: a value left unread (an unknown
  // field, a field after an error, one of the wrong type) is parsed whole
  // here, so malformed JSON is refused (invalid_json) wherever it sits.
  // Only unread values pay for it; the fields a user is made of are read.
  void check_skipped(od::value& v);

 private:
  Result<std::string_view> user_id(od::value& v);
  // The object's JSON, minified and fully validated (ondemand only checks
  // the structure of what it skips).
  Result<std::string_view> raw_object(od::value& v, std::string& buf, const std::string& field);

  std::string data_, prefs_, id_buf_, skipped_;
  simdjson::dom::parser validator_;
};

// This thread's ondemand parser (one per thread: it keeps its buffers).
od::parser& thread_parser();

}  // namespace crier::api::ingest
