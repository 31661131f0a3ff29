// cgroup v1 cpu: shares, CFS quota/period/burst, realtime runtime/period, idle; throttling stats.
#include "controllers.hpp"
#include "common/error.hpp"

namespace husk::cgroups::v1 {
namespace {

const std::string kField = "linux.resources.cpu";

void apply(const spec::Resources& r, const std::string& dir) {
    const auto& c = *r.cpu;
    if (c.shares && *c.shares) set(dir, "cpu.shares", std::to_string(*c.shares), kField + ".shares");
    bool quota = c.quota && *c.quota != 0;
    auto set_quota = [&] { set(dir, "cpu.cfs_quota_us", std::to_string(*c.quota), kField + ".quota"); };
    if (c.period && *c.period) {
        // A new period below the current quota is refused until the quota is lowered first.
        try {
            set(dir, "cpu.cfs_period_us", std::to_string(*c.period), kField + ".period");
        } catch (const Error&) {
            if (!quota) throw;
            set_quota();
            set(dir, "cpu.cfs_period_us", std::to_string(*c.period), kField + ".period");
        }
    }
    if (quota) set_quota();
    if (c.burst) set(dir, "cpu.cfs_burst_us", std::to_string(*c.burst), kField + ".burst");
    // The period first: the runtime must fit in it.
    if (c.realtime_period && *c.realtime_period)
        set(dir, "cpu.rt_period_us", std::to_string(*c.realtime_period), kField + ".realtimePeriod");
    if (c.realtime_runtime && *c.realtime_runtime)
        set(dir, "cpu.rt_runtime_us", std::to_string(*c.realtime_runtime), kField + ".realtimeRuntime");
    if (c.idle) set(dir, "cpu.idle", std::to_string(*c.idle), kField + ".idle");
}

void stats(const std::string& dir, Json& out) {
    auto st = read_keyed(dir, "cpu.stat");
    out["cpu"]["throttling"] = {{"periods", st["nr_periods"]},
                                {"throttled_periods", st["nr_throttled"]},
                                {"throttled_time", st["throttled_time"]}};
}

}  // namespace

const Controller cpu{"cpu", "linux.resources.cpu", wants_cpu, apply, stats};

}  // namespace husk::cgroups::v1
