// linux.resources.unified: raw cgroup v2 files and values, written as given.
#include "controllers.hpp"

namespace husk::cgroups::v2 {

void apply_unified(const std::map<std::string, std::string>& unified, const std::string& dir) {
    for (auto& [key, value] : unified) set(dir, key, value, "linux.resources.unified." + key);
}

}  // namespace husk::cgroups::v2
