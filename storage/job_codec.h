// Job, template, notification group and signing-secret records, stored as JSON: they are small, rarely written,
// and JSON keeps them readable with `ldb` and easy to extend.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine/content.h"
#include "engine/job.h"
#include "engine/notification_group.h"
#include "engine/signing_secrets.h"

namespace crier::records {

std::string encode(const Job& job);
std::optional<Job> decode_job(std::string_view in);

std::string encode(const Template& t);
std::optional<Template> decode_template(std::string_view in);

std::string encode(const NotificationGroup& g);
std::optional<NotificationGroup> decode_group(std::string_view in);
// {"v":1,"current":…,"created_at":…,"previous":…,"previous_expires_at":…}
std::string encode(const TenantSigningSecrets& s);
std::optional<TenantSigningSecrets> decode_signing_secrets(std::string_view in);

}  // namespace crier::records
