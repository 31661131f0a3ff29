// cgroup v1 devices: deny everything, then the spec's rules in order, then the devices runc
// allows in every container.
#include "cgroups/convert.hpp"
#include "controllers.hpp"

namespace husk::cgroups::v1 {
namespace {

bool wanted(const spec::Resources&) { return true; }

void apply(const spec::Resources& r, const std::string& dir) {
    for (auto& [file, line] : device_writes(r.devices)) set(dir, file, line, "linux.resources.devices");
}

void stats(const std::string&, Json&) {}

}  // namespace

std::vector<std::pair<std::string, std::string>> device_writes(const std::vector<spec::DeviceRule>& rules) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& d : effective_device_rules(rules))
        out.emplace_back(d.allow ? "devices.allow" : "devices.deny", device_rule_text(d));
    return out;
}

const Controller devices{"devices", "linux.resources.devices", wanted, apply, stats};

}  // namespace husk::cgroups::v1
