// The one sockaddr_un builder (common/unix_socket): lengths, abstract names, and the limit.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "common/error.hpp"
#include "common/unix_socket.hpp"

using namespace husk;

TEST_CASE("unix_socket::address: a path is NUL-terminated and its length counts the NUL") {
    auto a = unix_socket::address("/run/x.sock");
    CHECK(a.sa.sun_family == AF_UNIX);
    CHECK(std::string(a.sa.sun_path) == "/run/x.sock");
    CHECK(a.len == offsetof(sockaddr_un, sun_path) + 12);
}

TEST_CASE("unix_socket::address: an abstract name is not NUL-terminated") {
    std::string name("\0bus", 4);
    auto a = unix_socket::address(name);
    CHECK(std::memcmp(a.sa.sun_path, name.data(), 4) == 0);
    CHECK(a.len == offsetof(sockaddr_un, sun_path) + 4);
}

TEST_CASE("unix_socket::address: too long or empty is an error that names the path") {
    std::string longp = "/" + std::string(sizeof(sockaddr_un{}.sun_path), 'a');
    CHECK_THROWS_WITH_AS(unix_socket::address(longp), doctest::Contains(longp.c_str()), Error);
    CHECK_THROWS_AS(unix_socket::address(""), Error);
    std::string fits(sizeof(sockaddr_un{}.sun_path) - 1, 'b');
    CHECK_NOTHROW(unix_socket::address(fits));
}
