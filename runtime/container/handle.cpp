#include "runtime/container/handle.hpp"

#include "common/error.hpp"
#include "container.hpp"

namespace husk::container {

Container Container::load(const std::string& root, const std::string& id) {
    ContainerDir dir = ContainerDir::open(root, id);
    Record rec = dir.load();
    return Container(std::move(dir), std::move(rec), id);
}

Status Container::status() {
    if (!status_) status_ = status_of(dir_, rec_);
    return *status_;
}

spec::State Container::state() { return make_state(rec_, status()); }

cgroups::Manager* Container::cgroup() {
    if (rec_.cgroup.empty()) return nullptr;
    if (!cgroup_) cgroup_ = cgroups::Manager::restore(rec_.cgroup);
    return &*cgroup_;
}

void Container::update(const spec::Resources& r) {
    require(Op::Update);
    cgroups::Manager* cg = cgroup();
    if (!cg) throw Error("cannot update container \"" + id_ + "\": it has no cgroup");
    cg->apply(r, false);
}

std::vector<pid_t> Container::pids() {
    cgroups::Manager* cg = cgroup();
    if (!cg) throw Error("cannot list the processes of container \"" + id_ + "\": it has no cgroup (rootless)");
    return cg->pids();
}

std::optional<cgroups::Manager> Container::live_cgroup() {
    cgroups::Manager* cg = cgroup();
    if (!cg || status() == Status::Stopped) return std::nullopt;
    return *cg;
}

}  // namespace husk::container
