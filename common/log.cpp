#include "log.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "error.hpp"

namespace husk::log {
namespace {

int g_fd = -1;  // -1: no --log file and no --debug; messages other than errors are dropped
Format g_format = Format::Text;
bool g_debug = false;

void emit(const char* level, const std::string& msg) {
    if (g_fd < 0) return;
    std::string line = format_line(g_format, now_rfc3339(), level, msg);
    ssize_t unused = ::write(g_fd, line.data(), line.size());
    (void)unused;
}

// logrus quotes a value holding anything but these (runc's text log, which tools parse).
bool needs_quotes(const std::string& s) {
    if (s.empty()) return true;
    for (unsigned char c : s) {
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                     c == '.' || c == '_' || c == '/' || c == '@' || c == '^' || c == '+';
        if (!plain) return true;
    }
    return false;
}

// A Go-style quoted string: backslash escapes for quotes, backslashes and control characters.
std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char hex[8];
                    std::snprintf(hex, sizeof hex, "\\x%02x", c);
                    out += hex;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

}  // namespace

std::string format_line(Format format, const std::string& time, const char* level, const std::string& msg) {
    if (format == Format::Json) {
        // A plain (sorted) json: its keys sort as runc writes them, level, msg, time, and the
        // shim, which logs through here too, links no second serializer for ordered_json.
        nlohmann::json j;
        j["level"] = level;
        j["msg"] = msg;
        j["time"] = time;
        return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
    return "time=\"" + time + "\" level=" + level + " msg=" + (needs_quotes(msg) ? quoted(msg) : msg) + "\n";
}

void configure(const std::string& path, Format format, bool debug) {
    g_format = format;
    g_debug = debug;
    if (!path.empty()) {
        // As runc: a log that cannot be written is an error, not silence.
        int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) throw_errno("--log: open " + path);
        g_fd = fd;
    } else if (debug) {
        g_fd = 2;  // runc's default log is stderr
    }
}

bool debugging() { return g_debug; }

void debug(const std::string& msg) {
    if (g_debug) emit("debug", msg);
}
void info(const std::string& msg) { emit("info", msg); }
void warn(const std::string& msg) {
    emit("warning", msg);
    if (g_fd < 0) std::fprintf(stderr, "husk: warning: %s\n", msg.c_str());
}
void error(const std::string& msg) {
    emit("error", msg);
    if (g_fd != 2) std::fprintf(stderr, "husk: %s\n", msg.c_str());
}

std::string now_rfc3339() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return rfc3339(ts);
}

std::string rfc3339(const timespec& ts) {
    // UTC by hand: glibc's gmtime_r first loads the local time zone (/etc/localtime), four system
    // calls on every create for a zone it does not use. Days to civil date: the proleptic
    // Gregorian calendar in 400-year eras starting on March 1st.
    long secs = ts.tv_sec, days = secs / 86400, rem = secs % 86400;
    if (rem < 0) rem += 86400, --days;
    days += 719468;
    long era = (days >= 0 ? days : days - 146096) / 146097;
    long doe = days - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
    long year = yoe + era * 400 + (month <= 2);
    char buf[128];
    std::snprintf(buf, sizeof buf, "%04ld-%02ld-%02ldT%02ld:%02ld:%02ld.%09ldZ", year, month, day, rem / 3600,
                  rem / 60 % 60, rem % 60, ts.tv_nsec);
    return buf;
}

}  // namespace husk::log
