// cgroup v1 devices: deny everything, then the spec's rules in order, then the devices runc
// allows in every container.
#include <fcntl.h>
#include <unistd.h>

#include <map>

#include "runtime/cgroups/convert.hpp"
#include "controllers.hpp"
#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace husk::cgroups::v1 {
namespace {

bool wanted(const spec::Resources&) { return true; }

// One rule per write(2), as the kernel takes them; each file is opened once (a dozen rules
// for the default devices alone).
void apply(const spec::Resources& r, const std::string& dir) {
    std::map<std::string, UniqueFd> open_files;
    for (auto& [file, line] : device_writes(r.devices)) {
        UniqueFd& fd = open_files[file];
        std::string path = dir + "/" + file;
        if (!fd) fd.reset(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd) throw_errno("linux.resources.devices: open " + path);
        if (::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()))
            throw_errno("linux.resources.devices: write \"" + line + "\" to " + path);
    }
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
