// cgroup v1 net_cls: the class id tagged on the container's packets.
#include "controllers.hpp"

namespace husk::cgroups::v1 {
namespace {

bool wanted(const spec::Resources& r) { return r.network && r.network->class_id; }

void apply(const spec::Resources& r, const std::string& dir) {
    set(dir, "net_cls.classid", std::to_string(*r.network->class_id), "linux.resources.network.classID");
}

void stats(const std::string&, Json&) {}

}  // namespace

const Controller net_cls{"net_cls", "linux.resources.network.classID", wanted, apply, stats};

}  // namespace husk::cgroups::v1
