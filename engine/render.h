// Rendering a job's content for one recipient: the job's global data merged
// with the recipient's data (the recipient wins, objects merge key by key),
// then Mustache ({{var}}, sections, partials-free) over every field.
// Templates are compiled once per dispatch run, never per message.
#pragma once

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/content.h"
#include "engine/job.h"
#include "engine/recipient.h"
#include "engine/result.h"
#include "engine/sms_segments.h"

namespace kainjow::mustache {
template <typename string_type>
class basic_data;
}  // namespace kainjow::mustache

namespace crier {

// A dynamic button of a WhatsApp template message: the parameter of the
// button at `index` (a URL button's suffix, a quick reply's payload).
struct WhatsappButton {
  std::string sub_type = "url";  // "url" or "quick_reply"
  std::uint32_t index = 0;
  std::string text;
};

// The data key whose value lists a whatsapp message's buttons:
// [{"index": 0, "sub_type": "url", "text": "ABC-123"}, ...] ("index"
// defaults to the position, "sub_type" to "url"). Read from the recipient's
// data, else the job's; taken as given, not rendered.
inline constexpr std::string_view kWhatsappButtonsKey = "whatsapp_buttons";

struct RenderedMessage {
  std::string subject, text, html;       // email
  std::string title, body;               // push (title, body), sms (body)
  std::string json_body;                 // webhook
  std::string template_name, language;   // whatsapp
  std::vector<std::string> parameters;   // whatsapp
  // sms: the body's encoding, length and segments, measured as it is
  // rendered; empty on every other channel.
  std::optional<SmsSegments> sms;
  std::vector<WhatsappButton> buttons;   // whatsapp
  // Variables that had no value in the data (rendered empty), and the
  // first of them by name ("order.id"). Sections ({{#x}}) are not
  // variables: a missing one is simply false.
  std::uint32_t missing_variables = 0;
  std::string first_missing;

  // Empties every field, keeping the strings' buffers for the next message.
  void clear();
};

// Merges `overrides` into `base`: nested objects merge, anything else is replaced.
void merge_data(boost::json::object& base, const boost::json::object& overrides);

// Limits on templates, checked before anything is compiled: kainjow
// compiles and renders sections recursively, so depth is a stack hazard.
inline constexpr std::size_t kMaxTemplateFieldBytes = 256 * 1024;  // one field (a webhook body: all of it)
inline constexpr std::size_t kMaxTemplateTotalBytes = 1024 * 1024;  // every field of every locale
inline constexpr std::size_t kMaxTemplateSectionDepth = 32;         // {{#a}}{{#b}}... nested

// Checks that every template in the content is within the limits above and
// compiles; the error (invalid_template, 422) names the field. Every
// template passes here (PUT /v1/templates, job creation, the façades).
Result<void> check_templates(const LocalizedContent& content);

// The names sections ({{#x}}, {{^x}}) test in a Mustache source, following
// set-delimiter tags, added to `out`.
void collect_section_names(std::string_view source, std::set<std::string, std::less<>>& out);

// The deepest nesting of sections ({{#x}}, {{^x}}) in a Mustache source,
// following set-delimiter tags ({{=<% %>=}}).
std::size_t section_depth(std::string_view source);

// Not thread-safe: each dispatch loop owns its renderer.
class JobRenderer {
 public:
  // Compiles the content of every channel the job may send on
  // (routed_channels): content_missing_channel when the base variant lacks
  // one of them.
  static Result<std::unique_ptr<JobRenderer>> compile(const JobSpec& spec);
  ~JobRenderer();

  // The message for `r` on `channel`, one of the job's channels (else
  // render_failed). A variable with no value renders empty and is counted
  // in `out.missing_variables`; for a job with strict_variables it is the
  // error missing_variable instead. Renders into `out` (cleared first; its strings' buffers
  // are reused), so a caller building many messages renders each in place,
  // and one that keeps its messages from batch to batch allocates nothing
  // for them.
  Result<void> render_into(const Recipient& r, Channel channel, RenderedMessage& out);
  // The same on the channel route_for picks for `r` (the job's first channel
  // for a recipient with no address on any, which ingest never stores).
  Result<void> render_into(const Recipient& r, RenderedMessage& out);
  Result<RenderedMessage> render(const Recipient& r);

  struct Compiled;  // defined in render.cpp

 private:
  JobRenderer() = default;
  JobSpec routes_;      // the job's channels, routing and webhook_url: what route_for reads
  std::string locale_;  // the job's default locale
  bool strict_ = false;  // the job's strict_variables
  boost::json::object global_;
  // global_ converted for Mustache once, on first use.
  std::unique_ptr<kainjow::mustache::basic_data<std::string>> global_view_;
  // Per channel (indexed by its value): null for a channel the job does not use.
  std::array<std::unique_ptr<Compiled>, kChannelCount> base_;
  std::array<std::map<std::string, std::unique_ptr<Compiled>>, kChannelCount> locales_;
  // The variant for the user's locale, else for the job's (each: exact tag,
  // then language), else the base content.
  Compiled& for_locale(std::size_t channel, const std::string& user_locale);
  // Templates with sections or other Mustache beyond variables, by kainjow.
  Result<void> render_mustache(Compiled& c, const Recipient& r, RenderedMessage& out);
  // Templates of text and variables only, rendered without kainjow: the
  // recipient's data read in place by simdjson (the common case), or
  // parsed by boost::json and merged with the job's (render_fast_merged)
  // when layering would hide a nested object of the job's data.
  Result<void> render_fast(Compiled& c, const Recipient& r, RenderedMessage& out);
  Result<void> render_fast_merged(Compiled& c, const Recipient& r, RenderedMessage& out);
  // The fields of `c`, each variable looked up by `emit`, into `m`.
  template <class Emit>
  void fill(Compiled& c, const Emit& emit, RenderedMessage& m);
  struct Scratch;  // simdjson's parser, reused for every message
  std::unique_ptr<Scratch> scratch_;
  // render_fast_merged parses each recipient's data into this arena, emptied
  // before the next message: no malloc or free per JSON value, and nothing
  // to destroy (a monotonic resource frees nothing one by one).
  static constexpr std::size_t kArenaBytes = 16 * 1024;
  std::unique_ptr<unsigned char[]> arena_buffer_ = std::make_unique<unsigned char[]>(kArenaBytes);
  boost::json::monotonic_resource arena_{arena_buffer_.get(), kArenaBytes};
};

}  // namespace crier
