// The rdma controller, the same file on cgroup v1 and v2: HCA handle and object limits per
// RDMA device in rdma.max.
#include "controller.hpp"

namespace husk::cgroups {
namespace {

bool wanted(const spec::Resources& r) { return !r.rdma.empty(); }

void apply(const spec::Resources& r, const std::string& dir) {
    for (auto& [device, l] : r.rdma) {
        std::string line = device;
        if (l.hca_handles) line += " hca_handle=" + std::to_string(*l.hca_handles);
        if (l.hca_objects) line += " hca_object=" + std::to_string(*l.hca_objects);
        if (line != device) set(dir, "rdma.max", line, "linux.resources.rdma." + device);
    }
}

void stats(const std::string&, Json&) {}

}  // namespace

const Controller rdma{"rdma", "linux.resources.rdma", wanted, apply, stats};

}  // namespace husk::cgroups
