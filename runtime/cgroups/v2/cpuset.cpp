// cgroup v2 cpuset: the CPUs and memory nodes the container may use.
#include "controllers.hpp"

namespace husk::cgroups::v2 {
namespace {

bool wanted(const spec::Resources& r) { return r.cpu && (!r.cpu->cpus.empty() || !r.cpu->mems.empty()); }

void stats(const std::string& dir, Json& out) {
    out["cpuset"] = {{"cpus", read(dir, "cpuset.cpus.effective").value_or("")},
                     {"mems", read(dir, "cpuset.mems.effective").value_or("")}};
}

}  // namespace

const Controller cpuset{"cpuset", "linux.resources.cpu", wanted, apply_cpuset, stats};

}  // namespace husk::cgroups::v2
