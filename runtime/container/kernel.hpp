// The oldest kernel husk runs on: the features it creates containers with, the release each
// came in, and the check made from one uname() before create, run and exec.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace husk::kernel {

struct Version {
    int major = 0, minor = 0;
    bool operator<(const Version& o) const { return major != o.major ? major < o.major : minor < o.minor; }
};

struct Feature {
    const char* name;
    Version since;
};

// In the order they came: the last is the minimum release.
const std::vector<Feature>& required_features();

// "5.10.0-21-amd64" -> 5.10; nullopt when the release does not start with MAJOR.MINOR.
std::optional<Version> parse_release(std::string_view release);

// Empty when the release has every feature; else an error naming the release, the features it
// lacks and the minimum. A release that cannot be read passes (the system calls will tell).
std::string check(std::string_view release);

// check() on uname()'s release; throws husk::Error with its message.
void require_supported();

}  // namespace husk::kernel
