// Runtime logging as runc does it: logrus text lines (time="..." level=debug msg="...") or JSON
// lines ({"level","msg","time"}) to --log (to stderr with --debug and no --log), errors also to
// stderr, debug lines only with --debug.
#pragma once

#include <time.h>

#include <string>

namespace husk::log {

enum class Format { Text, Json };

// Throws husk::Error if the log file cannot be opened.
void configure(const std::string& path, Format format, bool debug);
// Whether --debug was given (to skip building a message nobody reads).
bool debugging();
void debug(const std::string& msg);
void info(const std::string& msg);
void warn(const std::string& msg);
// Errors go to the log file and to stderr.
void error(const std::string& msg);

// One log line, newline included, in the given format.
std::string format_line(Format format, const std::string& time, const char* level, const std::string& msg);

// A time as RFC 3339 with nanoseconds, UTC ("2026-11-22T18:02:23.123456789Z").
std::string rfc3339(const timespec& ts);
// The current time so (runc's "created" and log "time").
std::string now_rfc3339();

}  // namespace husk::log
