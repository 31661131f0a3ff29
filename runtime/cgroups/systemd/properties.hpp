// The systemd unit properties of a container: linux.resources in systemd's terms (v1 or v2
// names), the device rules as DevicePolicy/DeviceAllow, and org.systemd.property.* annotations.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "spec/config.hpp"
#include "dbus.hpp"

namespace husk::cgroups::systemd {

using Property = std::pair<std::string, dbus::Value>;
using Properties = std::vector<Property>;

// systemd's version where a property needs a newer one than Debian 12's oldest peers.
constexpr unsigned kCpuQuotaPeriodSince = 242;  // CPUQuotaPeriodUSec
constexpr unsigned kAllowedCpusSince = 244;     // AllowedCPUs, AllowedMemoryNodes

struct Host {
    bool v2 = false;           // systemd runs the controllers on cgroup v2 (not on v1 or hybrid)
    unsigned version = 0;      // systemd's version; 0: not asked (needs_version said no)
    std::string proc_devices;  // /proc/devices, for DeviceAllow's "char-<driver>" entries
};

// Whether resource_properties() needs systemd's version for these resources.
bool needs_version(const spec::Resources& r);
// runc's mapping: v2 MemoryMax, MemoryLow, MemorySwapMax, CPUWeight, TasksMax; v1 MemoryLimit,
// CPUShares, BlockIOWeight, TasksMax; both CPUQuotaPerSecUSec (rounded up to 10 ms, as systemd
// keeps whole percents) with CPUQuotaPeriodUSec, AllowedCPUs/AllowedMemoryNodes; v2's unified
// keys systemd knows. With `devices`, DevicePolicy/DeviceAllow too (create, not update).
Properties resource_properties(const spec::Resources& r, const Host& host, bool devices);
// The effective device rules as a systemd allow list; rules an allow list cannot say are left
// to the cgroupfs rules husk writes afterwards.
Properties device_properties(const std::vector<spec::DeviceRule>& rules, const std::string& proc_devices);
// org.systemd.property.NAME=VALUE annotations; VALUE in GVariant text ("uint64 5", "'s'",
// "true", "['a', 'b']"); NAMEs ending in a lowercase letter and "Sec" become ...USec.
Properties annotation_properties(const std::map<std::string, std::string>& annotations);
// One value in GVariant text format (the subset annotations use); errors name `field`.
dbus::Value parse_gvariant(const std::string& text, const std::string& field);
// "0-3,5" as systemd's CPU/NUMA node mask: bit n in byte n/8, lowest bit first.
std::vector<uint8_t> id_list_mask(const std::string& list, const std::string& field);
// The a(sv) StartTransientUnit and SetUnitProperties take.
dbus::Value to_dbus(const Properties& props);

}  // namespace husk::cgroups::systemd
