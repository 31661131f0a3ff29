// A container's cgroup across every hierarchy the host has: cgroup v1 controllers, the cgroup2
// (unified) hierarchy, or both on hybrid hosts. Owns creation, membership, freezing and removal,
// by cgroupfs itself or, with the systemd driver, through a transient systemd unit. By job:
// manager.cpp plans, creates, applies and removes; layout.cpp reads the host's hierarchies;
// tree.cpp walks cgroup trees; freezer.cpp pauses; signal.cpp lists and signals the processes;
// saved.cpp is the state-file record; systemd/unit.cpp the systemd driver's steps.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "layout.hpp"
#include "spec/config.hpp"

namespace husk::cgroups {

// create() could not make a directory for lack of permission (a rootless husk).
struct NotPermitted : Error {
    using Error::Error;
};

namespace systemd {
class Client;
}

class Manager {
public:
    // Plans the container's cgroup from linux.cgroupsPath as runc's cgroupfs driver does:
    // absolute paths are under each hierarchy's root, relative ones under husk's own cgroup,
    // and an empty one becomes /<id>. Nothing is created yet. `root` is the cgroupfs
    // mount (a fake tree in unit tests).
    static Manager plan(const std::string& cgroups_path, const std::string& id,
                        const std::string& root = "/sys/fs/cgroup");
    // The systemd driver (--systemd-cgroup, as runc's): linux.cgroupsPath is "slice:prefix:name"
    // and the cgroup is a transient unit systemd makes around init (start_unit), on the system
    // manager, or the user's own when rootless. Connects to the bus (a missing one fails here,
    // before anything is made); only the user manager is asked anything (its own cgroup).
    static Manager plan_systemd(const std::string& cgroups_path, const std::string& id, bool rootless,
                                const std::string& root = "/sys/fs/cgroup");
    static Manager restore(const nlohmann::json& saved);
    nlohmann::json save() const;

    bool uses_systemd() const { return !unit_.empty(); }
    const std::string& unit() const { return unit_; }

    Layout layout() const { return layout_; }
    const std::string& path() const { return path_; }
    const std::vector<Hierarchy>& hierarchies() const { return hierarchies_; }
    const Hierarchy* find(const std::string& controller) const;
    // cgroup v2: gives the container's directory (and the files the kernel says may be
    // delegated) to uid:gid, the root of a user namespace with its own cgroup namespace.
    void delegate_to(uid_t uid, gid_t gid) const;

    // Makes the container's directory in every hierarchy (and parents as needed). Refuses an
    // existing one that has processes or is frozen; on failure removes what it made. Before the
    // first mkdir, `record` gets what save() will say once they are made (for crash recovery).
    void create(const std::function<void(const nlohmann::json&)>& record = {});
    // systemd driver, instead of create() and add(): starts the unit with pid in it and
    // `resources` and the org.systemd.property.* annotations as its properties; then, as runc,
    // makes the directories of the hierarchies systemd leaves alone, puts pid in every hierarchy
    // and writes the resources through cgroupfs as well. On failure nothing of it is left.
    // Once the unit exists, `record` gets what save() will say (for crash recovery).
    void start_unit(pid_t pid, const spec::Resources* resources,
                    const std::map<std::string, std::string>& annotations, const std::string& description,
                    const std::function<void(const nlohmann::json&)>& record = {});
    // Writes linux.resources into every controller it needs. `initial` (create, whose one
    // validation pass, container::validate, has checked the whole config before any side
    // effect) also sets the device rules; `husk update` validates here first and leaves the
    // device rules as they are. A resource the host cannot apply is an error naming the field;
    // nothing is skipped silently. With the systemd driver an update (not `initial`) sets the
    // unit's properties first.
    void apply(const spec::Resources& resources, bool initial = true);
    // runc's events "data" object: cpu, memory, pids, blkio, hugetlb ... from the cgroup files.
    nlohmann::json stats() const;
    // The directory holding the memory controller's files (for OOM notification), or "".
    std::string memory_dir() const;
    // An O_PATH fd of the cgroup2 directory for clone3(CLONE_INTO_CGROUP), or -1 on v1.
    int open_unified() const;
    void add(pid_t pid);
    // Removes the directories create() made, and any made inside them, deepest first; quietly
    // skips missing ones. With the systemd driver, first stops the unit (and resets it, should
    // it have failed).
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
    // The systemd driver's steps (systemd/unit.cpp).
    systemd::Client& client();
    void set_unit_properties(const spec::Resources& r);
    spec::Resources with_cpu_in_force(const spec::Resources& r) const;
    void stop_unit();
    // Refuses a container cgroup that exists with processes in or below it, or frozen; says
    // which hierarchies' directories exist.
    std::vector<bool> refuse_busy() const;
    // Makes the hierarchies' directories that do not exist yet (systemd leaves some alone).
    void make_missing_dirs();
    // apply() without systemd: the resources into the cgroup files, device rules too or not.
    void write(const spec::Resources& r, bool devices);
    Layout layout_ = Layout::V2;
    std::string path_;
    std::vector<Hierarchy> hierarchies_;
    // systemd driver: the unit, its parent slice, which manager, whether we started it.
    std::string unit_, slice_;
    bool user_manager_ = false;
    bool unit_started_ = false;
    std::shared_ptr<systemd::Client> client_;  // connected on first use
};

}  // namespace husk::cgroups
