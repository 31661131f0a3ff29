// The cgroup v2 controllers, one file each, applied in the container's unified directory.
// Device rules and linux.resources.unified are handled by devices.cpp and unified.cpp.
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "runtime/cgroups/controller.hpp"

namespace husk::cgroups::v2 {

extern const Controller memory, cpu, cpuset, io, hugetlb;

// Every v2 controller in the order the manager applies them.
const std::vector<const Controller*>& controllers();

// Device rules on v2 are an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) attached to the cgroup.
// device_program compiles a rule list in which the last matching rule decides (and nothing
// matching denies); apply_devices loads and attaches it for effective_device_rules(rules).
std::vector<bpf_insn> device_program(const std::vector<spec::DeviceRule>& rules);
void apply_devices(const std::vector<spec::DeviceRule>& rules, const std::string& dir);

// linux.resources.unified: each key is written as a file of the container's cgroup.
void apply_unified(const std::map<std::string, std::string>& unified, const std::string& dir);

}  // namespace husk::cgroups::v2
