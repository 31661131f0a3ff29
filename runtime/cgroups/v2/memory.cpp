// cgroup v2 memory: memory.max, memory.swap.max (swap alone, converted from v1's memory+swap),
// memory.low; usage, peak and OOM counts for stats.
#include "runtime/cgroups/convert.hpp"
#include "controllers.hpp"
#include "common/error.hpp"
#include "common/log.hpp"

namespace husk::cgroups::v2 {
namespace {

const std::string kField = "linux.resources.memory";

bool wanted(const spec::Resources& r) { return r.memory.has_value(); }

std::string max_or(int64_t v) { return v == -1 ? "max" : std::to_string(v); }

void apply(const spec::Resources& r, const std::string& dir) {
    const auto& m = *r.memory;
    int64_t limit = m.limit.value_or(0), swap = m.swap.value_or(0);
    // An update that sets only swap converts against the limit already in force.
    int64_t base = limit;
    if (base == 0 && swap > 0) {
        uint64_t cur = read_u64(dir, "memory.max");
        base = cur == UINT64_MAX ? -1 : static_cast<int64_t>(cur);
    }
    int64_t swap_v2 = swap_to_v2(swap, base);
    // Swap first: memory.swap.max must never be left at "" (0) while the limit changes.
    if (swap_v2 != 0) set(dir, "memory.swap.max", max_or(swap_v2), kField + ".swap");
    if (limit != 0) set(dir, "memory.max", max_or(limit), kField + ".limit");
    if (m.reservation && *m.reservation != 0)
        set(dir, "memory.low", max_or(*m.reservation), kField + ".reservation");
    if (m.swappiness)
        throw Error(kField + ".swappiness: cgroup v2 has no per-cgroup swappiness");
    if (m.disable_oom_killer && *m.disable_oom_killer)
        throw Error(kField + ".disableOOMKiller: cgroup v2 cannot disable the OOM killer");
    if ((m.kernel && *m.kernel) || (m.kernel_tcp && *m.kernel_tcp))
        log::warn(kField + ".kernel/kernelTCP: cgroup v2 accounts kernel memory in memory.max; ignored");
}

void stats(const std::string& dir, Json& out) {
    auto raw = read_keyed(dir, "memory.stat");
    auto events = read_keyed(dir, "memory.events");
    auto limit = [](uint64_t v) { return v; };
    Json& m = out["memory"];
    m["cache"] = raw["file"];
    m["usage"] = {{"usage", read_u64(dir, "memory.current")},
                  {"max", read_u64(dir, "memory.peak")},
                  {"failcnt", events["max"]},
                  {"limit", limit(read_u64(dir, "memory.max"))}};
    m["swap"] = {{"usage", read_u64(dir, "memory.swap.current")},
                 {"max", read_u64(dir, "memory.swap.peak")},
                 {"failcnt", events["max"]},
                 {"limit", limit(read_u64(dir, "memory.swap.max"))}};
    m["raw"] = raw;
}

}  // namespace

const Controller memory{"memory", "linux.resources.memory", wanted, apply, stats};

}  // namespace husk::cgroups::v2
