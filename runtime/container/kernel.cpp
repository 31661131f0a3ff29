#include "kernel.hpp"

#include <sys/utsname.h>

#include <charconv>

#include "common/error.hpp"

namespace husk::kernel {

const std::vector<Feature>& required_features() {
    static const std::vector<Feature> features = {
        {"the new mount API (fsopen, open_tree, move_mount)", {5, 2}},
        {"clone3 and pidfd_open", {5, 3}},
        {"openat2 with RESOLVE_IN_ROOT", {5, 6}},
        {"CLONE_INTO_CGROUP", {5, 7}},
        {"setns on a pidfd", {5, 8}},
        {"mount_setattr", {5, 12}},
    };
    return features;
}

std::optional<Version> parse_release(std::string_view release) {
    Version v;
    const char* p = release.data();
    const char* end = p + release.size();
    auto [after_major, e1] = std::from_chars(p, end, v.major);
    if (e1 != std::errc() || after_major == end || *after_major != '.') return std::nullopt;
    auto [after_minor, e2] = std::from_chars(after_major + 1, end, v.minor);
    if (e2 != std::errc()) return std::nullopt;
    return v;
}

std::string check(std::string_view release) {
    auto v = parse_release(release);
    if (!v) return "";
    std::string missing;
    size_t n = 0;
    for (const auto& f : required_features())
        if (*v < f.since) {
            if (n++) missing += ", ";
            missing += std::string(f.name) + " (" + std::to_string(f.since.major) + "." +
                       std::to_string(f.since.minor) + ")";
        }
    if (n == 0) return "";
    const Version& min = required_features().back().since;
    return "kernel " + std::string(release) + " lacks " + missing + ": husk needs Linux " + std::to_string(min.major) +
           "." + std::to_string(min.minor) + " or newer";
}

void require_supported() {
    struct utsname u;
    if (::uname(&u) != 0) return;
    if (std::string err = check(u.release); !err.empty()) throw Error(err);
}

}  // namespace husk::kernel
