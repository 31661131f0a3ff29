// cgroup v1 memory: limit, memsw (memory + swap), soft limit, swappiness, OOM killer, kmem.
#include <cerrno>

#include "controllers.hpp"
#include "common/error.hpp"
#include "common/log.hpp"

namespace husk::cgroups::v1 {
namespace {

const std::string kField = "linux.resources.memory";

bool wanted(const spec::Resources& r) { return r.memory.has_value(); }

// kmem limits are deprecated and refused (EOPNOTSUPP) by kernels since 5.16, as runc tolerates.
void set_kmem(const std::string& dir, const std::string& file, int64_t v, const std::string& field) {
    if (!has(dir, file)) {
        log::warn(field + ": " + file + " does not exist on this kernel; ignored");
        return;
    }
    try {
        set(dir, file, std::to_string(v), field);
    } catch (const Error& e) {
        if (errno != EOPNOTSUPP && errno != 524 /* ENOTSUPP */) throw;
        log::warn(std::string(e.what()) + "; ignored");
    }
}

void apply(const spec::Resources& r, const std::string& dir) {
    const auto& m = *r.memory;
    int64_t limit = m.limit.value_or(0), swap = m.swap.value_or(0);
    // No memory limit and no word on swap: no memory+swap limit either (as runc), or the old
    // one would still bound the container (and the kernel refuses a limit above it).
    if (limit == -1 && swap == 0 && has(dir, "memory.memsw.limit_in_bytes")) swap = -1;
    auto set_limit = [&] { set(dir, "memory.limit_in_bytes", std::to_string(limit), kField + ".limit"); };
    auto set_swap = [&] { set(dir, "memory.memsw.limit_in_bytes", std::to_string(swap), kField + ".swap"); };
    // The kernel keeps memory <= memsw at every step, so the order depends on the current limit.
    if (limit != 0 && swap != 0) {
        uint64_t current = read_u64(dir, "memory.limit_in_bytes");
        if (swap == -1 || current < static_cast<uint64_t>(swap)) {
            set_swap();
            set_limit();
        } else {
            set_limit();
            set_swap();
        }
    } else {
        if (limit != 0) set_limit();
        if (swap != 0) set_swap();
    }
    if (m.reservation && *m.reservation != 0)
        set(dir, "memory.soft_limit_in_bytes", std::to_string(*m.reservation), kField + ".reservation");
    if (m.kernel && *m.kernel != 0) set_kmem(dir, "memory.kmem.limit_in_bytes", *m.kernel, kField + ".kernel");
    if (m.kernel_tcp && *m.kernel_tcp != 0)
        set_kmem(dir, "memory.kmem.tcp.limit_in_bytes", *m.kernel_tcp, kField + ".kernelTCP");
    if (m.swappiness) set(dir, "memory.swappiness", std::to_string(*m.swappiness), kField + ".swappiness");
    if (m.disable_oom_killer)
        set(dir, "memory.oom_control", *m.disable_oom_killer ? "1" : "0", kField + ".disableOOMKiller");
}

Json entry(const std::string& dir, const std::string& prefix) {
    return {{"usage", read_u64(dir, prefix + "usage_in_bytes")},
            {"max", read_u64(dir, prefix + "max_usage_in_bytes")},
            {"failcnt", read_u64(dir, prefix + "failcnt")},
            {"limit", read_u64(dir, prefix + "limit_in_bytes")}};
}

void stats(const std::string& dir, Json& out) {
    auto raw = read_keyed(dir, "memory.stat");
    Json& m = out["memory"];
    m["cache"] = raw["cache"];
    m["usage"] = entry(dir, "memory.");
    m["swap"] = entry(dir, "memory.memsw.");
    m["kernel"] = entry(dir, "memory.kmem.");
    m["kernelTCP"] = entry(dir, "memory.kmem.tcp.");
    m["raw"] = raw;
}

}  // namespace

const Controller memory{"memory", "linux.resources.memory", wanted, apply, stats};

}  // namespace husk::cgroups::v1
