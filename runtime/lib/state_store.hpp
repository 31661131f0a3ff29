// The on-disk record of containers under --root (default /run/husk): one directory per id
// holding state.json, the config copy, and exec.fifo while the container waits to start.
// Every command on a container holds that directory's lock.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "unique_fd.hpp"

namespace husk {

// What husk remembers about a container; status is derived, never stored.
struct Record {
    std::string id;
    pid_t pid = 0;
    uint64_t pid_start = 0;
    std::string bundle;
    std::string rootfs;
    std::string created;
    std::string owner;
    std::map<std::string, std::string> annotations;
    bool own_pid_ns = false;
    bool host_mounts = false;
    // Whether config.json has poststart/poststop hooks: start and delete skip parsing it if not.
    bool poststart_hooks = true;
    bool poststop_hooks = true;  // no mount namespace: its mounts are in the host's, under rootfs
    nlohmann::json cgroup;
};

void validate_id(const std::string& id);

class ContainerDir {
public:
    // Makes <root>/<id> and locks it; fails if the container already exists.
    static ContainerDir create(const std::string& root, const std::string& id);
    // Opens and locks an existing container; "container X does not exist" otherwise.
    static ContainerDir open(const std::string& root, const std::string& id);
    // Opens and locks a directory whose create never finished (no state.json), to remove it.
    static ContainerDir open_incomplete(const std::string& root, const std::string& id);
    static std::vector<std::string> list(const std::string& root);

    const std::string& dir() const { return dir_; }
    std::string file(const std::string& name) const { return dir_ + "/" + name; }
    void save(const Record& r) const;
    Record load() const;
    // Removes the directory and everything in it.
    void remove();
    // The locked fd; a forked child must close it or it keeps the lock (flock is per open file).
    int lock_fd() const { return lock_.get(); }
    // Lets others in before this object goes (the files stay reachable through file()).
    void unlock() { lock_.reset(); }

private:
    std::string dir_;
    UniqueFd lock_;
};

}  // namespace husk
