// The cgroup v2 controllers, one file each, applied in the container's unified directory.
// Device rules and linux.resources.unified are handled by devices.cpp and unified.cpp.
#pragma once

#include <string>
#include <vector>

#include "cgroups/controller.hpp"

namespace husk::cgroups::v2 {

extern const Controller memory, cpu, cpuset, io, hugetlb;

// Every v2 controller in the order the manager applies them.
const std::vector<const Controller*>& controllers();

// Device rules need an eBPF program on v2, which husk does not load yet: rules that only deny
// everything or allow everything are accepted (with the kernel default, no filter); any other
// rule is an error naming the field.
void check_device_rules(const std::vector<spec::DeviceRule>& rules);

// linux.resources.unified: each key is written as a file of the container's cgroup.
void apply_unified(const std::map<std::string, std::string>& unified, const std::string& dir);

}  // namespace husk::cgroups::v2
