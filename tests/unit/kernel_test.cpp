// The minimum-kernel check: releases read from uname(), and the features an old one lacks.
#include <doctest/doctest.h>

#include "runtime/container/kernel.hpp"

TEST_CASE("the kernel check names what an old kernel lacks") {
    using husk::kernel::check;
    using husk::kernel::parse_release;
    REQUIRE(parse_release("5.10.0-21-amd64"));
    CHECK(parse_release("5.10.0-21-amd64")->major == 5);
    CHECK(parse_release("5.10.0-21-amd64")->minor == 10);
    CHECK(parse_release("6.18.44-fc-v1045")->minor == 18);
    CHECK(parse_release("4.18.0-425.el8.x86_64")->major == 4);
    CHECK_FALSE(parse_release("linux"));
    CHECK_FALSE(parse_release("6"));
    CHECK_FALSE(parse_release(""));

    for (const char* ok : {"5.12.0", "5.15.0-91-generic", "6.1.0-18-amd64", "6.18.44-fc-v1045", "10.0"})
        CHECK(check(ok).empty());
    // Unreadable releases pass: the system calls will tell.
    CHECK(check("weird").empty());

    std::string debian11 = check("5.10.0-21-amd64");
    CHECK(debian11 == "kernel 5.10.0-21-amd64 lacks mount_setattr (5.12): husk needs Linux 5.12 or newer");

    std::string ubuntu20 = check("5.4.0-150-generic");
    CHECK(ubuntu20.find("openat2 with RESOLVE_IN_ROOT (5.6)") != std::string::npos);
    CHECK(ubuntu20.find("CLONE_INTO_CGROUP (5.7)") != std::string::npos);
    CHECK(ubuntu20.find("setns on a pidfd (5.8)") != std::string::npos);
    CHECK(ubuntu20.find("mount_setattr (5.12)") != std::string::npos);
    CHECK(ubuntu20.find("clone3") == std::string::npos);

    std::string el8 = check("4.18.0-425.el8.x86_64");
    CHECK(el8.find("the new mount API") != std::string::npos);
    CHECK(el8.find("clone3 and pidfd_open (5.3)") != std::string::npos);
    CHECK(el8.find("husk needs Linux 5.12 or newer") != std::string::npos);
}
