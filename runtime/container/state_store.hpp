// The on-disk record of containers under --root (default /run/husk): one directory per id
// holding state.json, the config copy, and exec.fifo while the container waits to start.
// Every command on a container holds that directory's lock. While create runs, creating.json
// records what it is about to make, so that a create killed part way leaves a container that
// `state` shows as stopped and `delete` removes, cgroups and all.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

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
    // False for a container whose create never finished: what creating.json recorded, if
    // anything, with no pid (its status is stopped).
    bool complete = true;
};

// create(): a container of that id exists (or its create is under way).
struct AlreadyExists : Error {
    using Error::Error;
};

void validate_id(const std::string& id);

class ContainerDir {
public:
    // Makes <root>/<id>, locked before it appears under that name; AlreadyExists if it exists.
    static ContainerDir create(const std::string& root, const std::string& id);
    // Opens and locks an existing container, a finished one or one whose create died part way
    // (complete() tells); "container X does not exist" otherwise. Without `wait`, a container
    // another command holds is std::nullopt.
    static ContainerDir open(const std::string& root, const std::string& id);
    static std::optional<ContainerDir> try_open(const std::string& root, const std::string& id);
    // The ids under root, finished or not.
    static std::vector<std::string> list(const std::string& root);
    // What creating.json says about a container whose create holds its lock, without the lock.
    static std::optional<Record> peek_creating(const std::string& root, const std::string& id);
    // Removes <id>~<pid> directories of creates killed before their directory got its name.
    static void remove_stale_temporaries(const std::string& root, const std::string& id);

    const std::string& dir() const { return dir_; }
    std::string file(const std::string& name) const { return dir_ + "/" + name; }
    // state.json: the container is created. Replaces creating.json.
    void save(const Record& r) const;
    // creating.json: what create is about to make (written before it makes it).
    void save_intent(const Record& r) const;
    Record load() const;
    bool complete() const { return complete_; }
    // Removes the directory and everything in it.
    void remove();
    // The locked fd; a forked child must close it or it keeps the lock (flock is per open file).
    int lock_fd() const { return lock_.get(); }
    // Lets others in before this object goes (the files stay reachable through file()).
    void unlock() { lock_.reset(); }

private:
    static std::optional<ContainerDir> open_dir(const std::string& root, const std::string& id, bool wait);
    std::string dir_;
    UniqueFd lock_;
    bool complete_ = true;
};

}  // namespace husk
