// What the host's cgroup filesystems look like: v1, v2 or hybrid, which v1 hierarchies are
// mounted (mountinfo), and the cgroup this process is in within each of them.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace husk::cgroups {

enum class Layout { V1, V2, Hybrid };
Layout detect_layout(const std::string& mountpoint = "/sys/fs/cgroup");
const char* layout_name(Layout l);

// One mounted hierarchy and the container's directory in it.
struct Hierarchy {
    std::string controllers;  // "memory", "cpu,cpuacct", "" for cgroup2
    std::string mountpoint;   // /sys/fs/cgroup/memory
    std::string dir;          // mountpoint + container path
    bool created = false;     // we made dir (delete removes only those)
    bool unified() const { return controllers.empty(); }
};

// The v1 hierarchies mounted under root, from mountinfo: (controllers, mountpoint).
std::vector<std::pair<std::string, std::string>> v1_mounts(const std::string& root);
// This process's cgroup in each hierarchy (/proc/self/cgroup: "id:controllers:path"), keyed by
// the controllers field ("" for the v2 hierarchy).
std::map<std::string, std::string> own_cgroups();

}  // namespace husk::cgroups
