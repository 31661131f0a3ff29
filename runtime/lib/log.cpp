#include "log.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

namespace husk::log {
namespace {

int g_fd = -1;  // -1: no --log file; messages other than errors are dropped
Format g_format = Format::Text;
bool g_debug = false;

void emit(const char* level, const std::string& msg) {
    if (g_fd < 0) return;
    std::string line;
    if (g_format == Format::Json) {
        nlohmann::ordered_json j;
        j["level"] = level;
        j["msg"] = msg;
        j["time"] = now_rfc3339();
        line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    } else {
        line = now_rfc3339() + " " + level + ": " + msg + "\n";
    }
    ssize_t unused = ::write(g_fd, line.data(), line.size());
    (void)unused;
}

}  // namespace

void configure(const std::string& path, Format format, bool debug) {
    g_format = format;
    g_debug = debug;
    if (!path.empty()) {
        int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) g_fd = fd;
    }
}

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
    std::fprintf(stderr, "husk: %s\n", msg.c_str());
}

std::string now_rfc3339() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm t{};
    gmtime_r(&ts.tv_sec, &t);
    char buf[64];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
    std::snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
    return buf;
}

}  // namespace husk::log
