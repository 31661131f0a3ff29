// cgroup v1 net_prio: a traffic priority per network interface.
#include "controllers.hpp"

namespace husk::cgroups::v1 {
namespace {

bool wanted(const spec::Resources& r) { return r.network && !r.network->priorities.empty(); }

void apply(const spec::Resources& r, const std::string& dir) {
    auto& p = r.network->priorities;
    for (size_t i = 0; i < p.size(); ++i)
        set(dir, "net_prio.ifpriomap", p[i].first + " " + std::to_string(p[i].second),
            "linux.resources.network.priorities[" + std::to_string(i) + "]");
}

void stats(const std::string&, Json&) {}

}  // namespace

const Controller net_prio{"net_prio", "linux.resources.network.priorities", wanted, apply, stats};

}  // namespace husk::cgroups::v1
