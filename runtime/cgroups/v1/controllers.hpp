// The cgroup v1 controllers, one file each (pids and rdma, the same on v2, are shared); the
// manager applies them where each is mounted (on hybrid hosts too: cgroup2 has none there).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "runtime/cgroups/controller.hpp"

namespace husk::cgroups::v1 {

extern const Controller memory, cpu, cpuacct, cpuset, blkio, hugetlb, net_cls, net_prio, devices;

// Every v1 controller in the order the manager applies them.
const std::vector<const Controller*>& controllers();

// The (file, line) writes that set a new cgroup's device rules: deny everything, then the
// spec's rules in order, then runc's default allowed devices.
std::vector<std::pair<std::string, std::string>> device_writes(const std::vector<spec::DeviceRule>& rules);

}  // namespace husk::cgroups::v1
