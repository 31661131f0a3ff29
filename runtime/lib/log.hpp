// Runtime logging as runc does it: text or JSON lines ({"level","msg","time"}) to --log,
// errors also to stderr, debug lines only with --debug.
#pragma once

#include <string>

namespace husk::log {

enum class Format { Text, Json };

void configure(const std::string& path, Format format, bool debug);
void debug(const std::string& msg);
void info(const std::string& msg);
void warn(const std::string& msg);
// Errors go to the log file and to stderr.
void error(const std::string& msg);

// Current time as RFC 3339 with nanoseconds, UTC (runc's "created" and log "time").
std::string now_rfc3339();

}  // namespace husk::log
