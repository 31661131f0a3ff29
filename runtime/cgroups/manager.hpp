// A container's cgroup across every hierarchy the host has: cgroup v1 controllers, the cgroup2
// (unified) hierarchy, or both on hybrid hosts. Owns creation, membership, freezing and removal.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config.hpp"
#include "error.hpp"

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

// create() could not make a directory for lack of permission (a rootless husk).
struct NotPermitted : Error {
    using Error::Error;
};

class Manager {
public:
    // Plans the container's cgroup from linux.cgroupsPath as runc's cgroupfs driver does:
    // absolute paths are under each hierarchy's root, relative ones under husk's own cgroup,
    // and an empty one becomes /<id>. Nothing is created yet. `root` is the cgroupfs
    // mount (a fake tree in unit tests).
    static Manager plan(const std::string& cgroups_path, const std::string& id,
                        const std::string& root = "/sys/fs/cgroup");
    static Manager restore(const nlohmann::json& saved);
    nlohmann::json save() const;

    Layout layout() const { return layout_; }
    const std::string& path() const { return path_; }
    const std::vector<Hierarchy>& hierarchies() const { return hierarchies_; }
    const Hierarchy* find(const std::string& controller) const;

    // Makes the container's directory in every hierarchy (and parents as needed). Refuses an
    // existing one that has processes or is frozen; on failure removes what it made. Before the
    // first mkdir, `record` gets what save() will say once they are made (for crash recovery).
    void create(const std::function<void(const nlohmann::json&)>& record = {});
    // Validates and writes linux.resources into every controller it needs. `initial` (create)
    // also sets the device rules; `husk update` leaves them as they are. A resource the host
    // cannot apply is an error naming the field; nothing is skipped silently.
    void apply(const spec::Resources& resources, bool initial = true);
    // runc's events "data" object: cpu, memory, pids, blkio, hugetlb ... from the cgroup files.
    nlohmann::json stats() const;
    // The directory holding the memory controller's files (for OOM notification), or "".
    std::string memory_dir() const;
    // An O_PATH fd of the cgroup2 directory for clone3(CLONE_INTO_CGROUP), or -1 on v1.
    int open_unified() const;
    void add(pid_t pid);
    // Removes the directories create() made, and any made inside them, deepest first; quietly
    // skips missing ones.
    void destroy();

    void freeze();
    void thaw();
    bool frozen() const;
    // The processes of the cgroup and of the cgroups below it.
    std::vector<pid_t> pids() const;
    // Every process of the cgroup; with SIGKILL on a v2 kernel that has cgroup.kill, atomically.
    void signal_all(int sig) const;

private:
    // Makes each hierarchy's directory; `made` gets every directory it created, parents too.
    void make_dirs(std::vector<std::string>& made);
    bool frozen_now(const Hierarchy& h) const;
    Layout layout_ = Layout::V2;
    std::string path_;
    std::vector<Hierarchy> hierarchies_;
};

}  // namespace husk::cgroups
