// cgroup v1 cpuacct: nothing to apply; CPU usage (total, per CPU, user and kernel) for stats.
#include <unistd.h>

#include <sstream>

#include "controllers.hpp"

namespace husk::cgroups::v1 {
namespace {

bool wanted(const spec::Resources&) { return false; }
void apply(const spec::Resources&, const std::string&) {}

std::vector<uint64_t> numbers(const std::string& dir, const std::string& file) {
    std::vector<uint64_t> out;
    std::istringstream in(read(dir, file).value_or(""));
    uint64_t v;
    while (in >> v) out.push_back(v);
    return out;
}

void stats(const std::string& dir, Json& out) {
    // cpuacct.stat counts clock ticks; runc reports nanoseconds.
    uint64_t tick_ns = 1000000000ULL / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
    auto st = read_keyed(dir, "cpuacct.stat");
    Json& u = out["cpu"]["usage"];
    u["total"] = read_u64(dir, "cpuacct.usage");
    u["percpu"] = numbers(dir, "cpuacct.usage_percpu");
    u["percpu_kernel"] = numbers(dir, "cpuacct.usage_percpu_sys");
    u["percpu_user"] = numbers(dir, "cpuacct.usage_percpu_user");
    u["kernel"] = st["system"] * tick_ns;
    u["user"] = st["user"] * tick_ns;
}

}  // namespace

const Controller cpuacct{"cpuacct", "linux.resources.cpu", wanted, apply, stats};

}  // namespace husk::cgroups::v1
