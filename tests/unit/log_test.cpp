// Timestamps in state and log lines: UTC, RFC 3339, computed without the time zone files.
#include <doctest/doctest.h>
#include <time.h>

#include <cstdio>
#include <string>

#include "common/log.hpp"

namespace {
std::string by_libc(time_t secs, long nsec) {
    tm t{};
    ::gmtime_r(&secs, &t);
    char buf[64];
    size_t n = ::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
    std::snprintf(buf + n, sizeof buf - n, ".%09ldZ", nsec);
    return buf;
}
}  // namespace

TEST_CASE("rfc3339 agrees with gmtime_r across leap years, century rules and day edges") {
    CHECK(husk::log::rfc3339({0, 0}) == "1970-01-01T00:00:00.000000000Z");
    CHECK(husk::log::rfc3339({951782400, 5}) == "2000-02-29T00:00:00.000000005Z");
    CHECK(husk::log::rfc3339({4107542400, 0}) == "2100-03-01T00:00:00.000000000Z");
    for (time_t s = -86400L * 800; s < 86400L * 366 * 140; s += 86400L * 7 + 3607)
        REQUIRE(husk::log::rfc3339({s, 123}) == by_libc(s, 123));
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    CHECK(husk::log::rfc3339(now) == by_libc(now.tv_sec, now.tv_nsec));
}

TEST_CASE("log lines in runc's (logrus') text layout, and JSON") {
    using husk::log::Format;
    using husk::log::format_line;
    const std::string t = "2026-12-02T14:21:01.000000001Z";
    CHECK(format_line(Format::Text, t, "debug", "plain") == "time=\"" + t + "\" level=debug msg=plain\n");
    CHECK(format_line(Format::Text, t, "error", "say \"hi\"\n\tx\\y") ==
          "time=\"" + t + "\" level=error msg=\"say \\\"hi\\\"\\n\\tx\\\\y\"\n");
    CHECK(format_line(Format::Text, t, "info", "") == "time=\"" + t + "\" level=info msg=\"\"\n");
    CHECK(format_line(Format::Json, t, "warning", "a \"b\"") ==
          "{\"level\":\"warning\",\"msg\":\"a \\\"b\\\"\",\"time\":\"" + t + "\"}\n");
}
