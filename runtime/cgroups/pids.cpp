// The pids controller, the same files on cgroup v1 and v2: the task limit (-1: unlimited) and
// the current count.
#include "controller.hpp"

namespace husk::cgroups {
namespace {

bool wanted(const spec::Resources& r) { return r.pids_limit && *r.pids_limit != 0; }

void apply(const spec::Resources& r, const std::string& dir) {
    set(dir, "pids.max", *r.pids_limit < 0 ? "max" : std::to_string(*r.pids_limit), "linux.resources.pids.limit");
}

void stats(const std::string& dir, Json& out) {
    uint64_t limit = read_u64(dir, "pids.max");
    out["pids"] = {{"current", read_u64(dir, "pids.current")}, {"limit", limit == UINT64_MAX ? 0 : limit}};
}

}  // namespace

const Controller pids{"pids", "linux.resources.pids", wanted, apply, stats};

}  // namespace husk::cgroups
