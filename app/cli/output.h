// What the CLI prints and how it exits: the documented exit codes, the one
// line an error becomes, and the two output modes (text for people, json for
// scripts). docs/cli.md lists the codes; keep it in step.
#pragma once

#include <boost/json/fwd.hpp>

#include <string>
#include <string_view>

#include "app/cli/api_client.h"

namespace crier::cli {

namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int api_error = 1;      // the server refused the request (4xx/5xx)
inline constexpr int bad_input = 2;      // a local problem: unreadable file, malformed --data, no URL
inline constexpr int unreachable = 3;    // no answer: connect, TLS, timeout, broken connection
inline constexpr int job_partial = 4;    // watched job ended PARTIAL
inline constexpr int job_failed = 5;     // watched job ended FAILED
inline constexpr int job_cancelled = 6;  // watched job ended CANCELLED
inline constexpr int interrupted = 130;  // Ctrl-C (128 + SIGINT, as shells report it)
}  // namespace exit_code

enum class OutputMode { text, json };

// Options every command that talks to the server shares.
struct CommonOptions {
  Connection connection;
  std::string output = "text";  // text | json
  OutputMode mode() const { return output == "json" ? OutputMode::json : OutputMode::text; }
};

// Fills the connection from CRIER_URL / CRIER_API_KEY where no flag gave it.
// Returns false (after printing why) when there is still no URL, or it is
// not an http(s) URL.
bool resolve_connection(CommonOptions& options);

// Prints the failure as one line on stderr and returns its exit code:
//   error: invalid_template: the template does not compile (field content.email.text, request id req_...)
//   error: cannot reach http://127.0.0.1:8080: connect_failed: Connection refused
int report_failure(const Reply& reply, const Connection& connection);

// "error: <message>" on stderr; returns exit_code::bad_input.
int report_input_error(std::string_view message);

// The value as compact JSON on one line of stdout.
void print_json(const boost::json::value& v);

// Whether stdout is a terminal (progress bars are drawn only then).
bool stdout_is_terminal();

}  // namespace crier::cli
