// Runtime logging as runc does it: text or JSON lines ({"level","msg","time"}) to --log,
// errors also to stderr, debug lines only with --debug.
#pragma once

#include <time.h>

#include <string>

namespace husk::log {

enum class Format { Text, Json };

void configure(const std::string& path, Format format, bool debug);
void debug(const std::string& msg);
void info(const std::string& msg);
void warn(const std::string& msg);
// Errors go to the log file and to stderr.
void error(const std::string& msg);

// A time as RFC 3339 with nanoseconds, UTC ("2026-11-22T18:02:23.123456789Z").
std::string rfc3339(const timespec& ts);
// The current time so (runc's "created" and log "time").
std::string now_rfc3339();

}  // namespace husk::log
