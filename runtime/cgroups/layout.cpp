#include "layout.hpp"

#include <linux/magic.h>
#include <sys/statfs.h>

#include "common/cgroupfs.hpp"
#include "common/fs.hpp"
#include "controller.hpp"

namespace husk::cgroups {
namespace {

bool is_cgroup2(const std::string& path) {
    struct statfs st;
    return ::statfs(path.c_str(), &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

}  // namespace

Layout detect_layout(const std::string& mountpoint) {
    if (is_cgroup2(mountpoint)) return Layout::V2;
    if (is_cgroup2(mountpoint + "/unified")) return Layout::Hybrid;
    return Layout::V1;
}

const char* layout_name(Layout l) {
    switch (l) {
        case Layout::V1: return "v1";
        case Layout::V2: return "v2";
        case Layout::Hybrid: return "hybrid";
    }
    return "?";
}

std::vector<std::pair<std::string, std::string>> v1_mounts(const std::string& root) {
    std::vector<std::pair<std::string, std::string>> out;
    std::string info;
    if (!fs::try_read_file("/proc/self/mountinfo", info)) return out;
    for (const auto& line : split(info, '\n')) {
        // id parent major:minor root mountpoint options... - fstype source superoptions
        size_t dash = line.find(" - ");
        if (dash == std::string::npos) continue;
        auto pre = split(line.substr(0, dash), ' ');
        auto post = split(line.substr(dash + 3), ' ');
        if (pre.size() < 5 || post.size() < 3 || post[0] != "cgroup" || pre[4].rfind(root + "/", 0) != 0) continue;
        std::string controllers;
        for (const auto& o : split(post[2], ',')) {
            if (o == "rw" || o == "ro" || o == "clone_children" || o == "noprefix" || o.rfind("release_agent", 0) == 0 ||
                o == "xattr")
                continue;
            controllers += (controllers.empty() ? "" : ",") + o;
        }
        out.emplace_back(controllers, pre[4]);
    }
    return out;
}

std::map<std::string, std::string> own_cgroups() {
    std::map<std::string, std::string> own;
    for (const auto& m : cgroupfs::cgroups_of(0)) own[m.controllers_text] = m.path;
    return own;
}

}  // namespace husk::cgroups
