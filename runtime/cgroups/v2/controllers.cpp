// The v2 controller table, in the order the manager applies them.
#include "controllers.hpp"

namespace husk::cgroups::v2 {

const std::vector<const Controller*>& controllers() {
    static const std::vector<const Controller*> all = {&cpuset, &cpu,     &memory,
                                                       &cgroups::pids, &io, &hugetlb, &cgroups::rdma};
    return all;
}

}  // namespace husk::cgroups::v2
