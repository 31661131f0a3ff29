// cgroup v2 cpu: cpu.weight (from v1 shares), cpu.max (quota and period), cpu.max.burst,
// cpu.idle; usage and throttling from cpu.stat.
#include "runtime/cgroups/convert.hpp"
#include "controllers.hpp"
#include "common/error.hpp"

namespace husk::cgroups::v2 {
namespace {

const std::string kField = "linux.resources.cpu";

void apply(const spec::Resources& r, const std::string& dir) {
    const auto& c = *r.cpu;
    if ((c.realtime_runtime && *c.realtime_runtime) || (c.realtime_period && *c.realtime_period))
        throw Error(kField + ".realtimeRuntime: cgroup v2 has no realtime CPU controller");
    if (c.shares && *c.shares) set(dir, "cpu.weight", std::to_string(shares_to_weight(*c.shares)), kField + ".shares");
    bool quota = c.quota && *c.quota != 0, period = c.period && *c.period != 0;
    if (quota || period) {
        std::string q;
        if (quota) {
            q = *c.quota > 0 ? std::to_string(*c.quota) : "max";
        } else {
            // Only the period changes: keep the quota in force.
            auto cur = split(read(dir, "cpu.max").value_or("max"), ' ');
            q = cur.empty() ? "max" : cur[0];
        }
        set(dir, "cpu.max", period ? q + " " + std::to_string(*c.period) : q, kField + (quota ? ".quota" : ".period"));
    }
    if (c.burst) set(dir, "cpu.max.burst", std::to_string(*c.burst), kField + ".burst");
    if (c.idle) set(dir, "cpu.idle", std::to_string(*c.idle), kField + ".idle");
}

void stats(const std::string& dir, Json& out) {
    auto st = read_keyed(dir, "cpu.stat");
    Json& c = out["cpu"];
    c["usage"] = {{"total", st["usage_usec"] * 1000}, {"kernel", st["system_usec"] * 1000}, {"user", st["user_usec"] * 1000}};
    c["throttling"] = {{"periods", st["nr_periods"]},
                       {"throttled_periods", st["nr_throttled"]},
                       {"throttled_time", st["throttled_usec"] * 1000}};
}

}  // namespace

const Controller cpu{"cpu", "linux.resources.cpu", wants_cpu, apply, stats};

}  // namespace husk::cgroups::v2
