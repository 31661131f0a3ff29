// One container opened for one command: its locked directory, its record, its status and its
// cgroup. The CLI's commands act on an existing container through this, not on the store.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "runtime/cgroups/manager.hpp"
#include "spec/config.hpp"
#include "spec/state.hpp"
#include "state_store.hpp"
#include "status.hpp"

namespace husk::container {

class Container {
public:
    // Opens and locks <root>/<id>; "container X does not exist" if there is none.
    static Container load(const std::string& root, const std::string& id);

    const std::string& id() const { return id_; }
    const Record& record() const { return rec_; }
    ContainerDir& dir() { return dir_; }
    // Derived from the kernel once, on first use: the lock keeps other commands from changing
    // it meanwhile.
    Status status();
    // Throws the refusal ("cannot pause container \"x\": it is created, not running") unless
    // `op` is allowed in the current status.
    void require(Op op) { container::require(op, status(), id_); }
    spec::State state();
    // The container's cgroup, restored on first use; nullptr without one (rootless).
    cgroups::Manager* cgroup();

    // update: sets the cgroup's limits to `r`.
    void update(const spec::Resources& r);
    // ps: the host pids in the container's cgroup.
    std::vector<pid_t> pids();
    // events: the cgroup while the container has not stopped, nullopt after (or without one).
    std::optional<cgroups::Manager> live_cgroup();

private:
    Container(ContainerDir dir, Record rec, std::string id)
        : dir_(std::move(dir)), rec_(std::move(rec)), id_(std::move(id)) {}

    ContainerDir dir_;
    Record rec_;
    std::string id_;
    std::optional<Status> status_;
    std::optional<cgroups::Manager> cgroup_;
};

}  // namespace husk::container
