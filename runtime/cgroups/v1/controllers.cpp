// The v1 controller table: the order the manager applies them (cpuset first, as a new cpuset
// cgroup must have cpus and mems before tasks join; devices last).
#include "controllers.hpp"

namespace husk::cgroups::v1 {

const std::vector<const Controller*>& controllers() {
    static const std::vector<const Controller*> all = {&cpuset,  &cpu,     &cpuacct,  &memory,        &cgroups::pids,
                                                       &blkio,   &hugetlb, &net_cls, &net_prio,      &cgroups::rdma,
                                                       &devices};
    return all;
}

}  // namespace husk::cgroups::v1
