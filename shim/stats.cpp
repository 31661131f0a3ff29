#include "stats.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "cgroups_v1.pb.h"
#include "cgroups_v2.pb.h"
#include "error.hpp"

namespace husk::shim {
namespace {

bool read_text(const std::string& path, std::string& out) {
    std::ifstream f(path);
    if (!f) return false;
    std::stringstream ss;
    ss << f.rdbuf();
    out = ss.str();
    return true;
}

// A single-number file; "max" and missing files read as 0 (no limit / not available).
uint64_t read_u64(const std::string& path) {
    std::string s;
    if (!read_text(path, s)) return 0;
    return std::strtoull(s.c_str(), nullptr, 10);
}

// "key value" lines (memory.stat, cpu.stat, cpuacct.stat).
std::map<std::string, uint64_t> read_keyed(const std::string& path) {
    std::map<std::string, uint64_t> m;
    std::string s;
    if (!read_text(path, s)) return m;
    std::istringstream in(s);
    std::string k;
    uint64_t v;
    while (in >> k >> v) m[k] = v;
    return m;
}

struct Line {
    std::vector<std::string> controllers;
    std::string controllers_text, path;
};

std::vector<Line> parse_proc_cgroup(const std::string& text) {
    std::vector<Line> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        auto a = line.find(':'), b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        Line l;
        l.controllers_text = line.substr(a + 1, b - a - 1);
        l.path = line.substr(b + 1);
        std::istringstream cs(l.controllers_text);
        for (std::string c; std::getline(cs, c, ',');)
            if (!c.empty()) l.controllers.push_back(c);
        out.push_back(l);
    }
    return out;
}

// The directory of `controller` for this process: the hierarchy is mounted under the joined
// controller list (cpu,cpuacct) or the controller's own name.
std::string v1_dir(const std::vector<Line>& lines, const std::string& root, const std::string& controller) {
    for (const auto& l : lines)
        for (const auto& c : l.controllers)
            if (c == controller) {
                for (const std::string& name : {l.controllers_text, controller})
                    if (::access((root + "/" + name + l.path).c_str(), F_OK) == 0) return root + "/" + name + l.path;
            }
    return {};
}

EncodedMetrics collect_v1(const std::vector<Line>& lines, const std::string& root) {
    io::containerd::cgroups::v1::Metrics m;
    if (auto d = v1_dir(lines, root, "pids"); !d.empty()) {
        m.mutable_pids()->set_current(read_u64(d + "/pids.current"));
        m.mutable_pids()->set_limit(read_u64(d + "/pids.max"));
    }
    if (auto d = v1_dir(lines, root, "cpuacct"); !d.empty()) {
        auto* u = m.mutable_cpu()->mutable_usage();
        u->set_total(read_u64(d + "/cpuacct.usage"));
        std::string per;
        if (read_text(d + "/cpuacct.usage_percpu", per)) {
            std::istringstream in(per);
            for (uint64_t v; in >> v;) u->add_per_cpu(v);
        }
        // cpuacct.stat counts USER_HZ ticks; Metrics wants nanoseconds.
        auto st = read_keyed(d + "/cpuacct.stat");
        uint64_t ns_per_tick = 1000000000ull / uint64_t(::sysconf(_SC_CLK_TCK));
        u->set_user(st["user"] * ns_per_tick);
        u->set_kernel(st["system"] * ns_per_tick);
    }
    if (auto d = v1_dir(lines, root, "cpu"); !d.empty()) {
        auto st = read_keyed(d + "/cpu.stat");
        auto* t = m.mutable_cpu()->mutable_throttling();
        t->set_periods(st["nr_periods"]);
        t->set_throttled_periods(st["nr_throttled"]);
        t->set_throttled_time(st["throttled_time"]);
    }
    if (auto d = v1_dir(lines, root, "memory"); !d.empty()) {
        auto* mem = m.mutable_memory();
        auto st = read_keyed(d + "/memory.stat");
        mem->set_cache(st["cache"]);
        mem->set_rss(st["rss"]);
        mem->set_rss_huge(st["rss_huge"]);
        mem->set_mapped_file(st["mapped_file"]);
        mem->set_dirty(st["dirty"]);
        mem->set_writeback(st["writeback"]);
        mem->set_pg_pg_in(st["pgpgin"]);
        mem->set_pg_pg_out(st["pgpgout"]);
        mem->set_pg_fault(st["pgfault"]);
        mem->set_pg_maj_fault(st["pgmajfault"]);
        mem->set_inactive_anon(st["inactive_anon"]);
        mem->set_active_anon(st["active_anon"]);
        mem->set_inactive_file(st["inactive_file"]);
        mem->set_active_file(st["active_file"]);
        mem->set_unevictable(st["unevictable"]);
        mem->set_hierarchical_memory_limit(st["hierarchical_memory_limit"]);
        mem->set_hierarchical_swap_limit(st["hierarchical_memsw_limit"]);
        mem->set_total_cache(st["total_cache"]);
        mem->set_total_rss(st["total_rss"]);
        auto entry = [&](io::containerd::cgroups::v1::MemoryEntry* e, const std::string& prefix) {
            e->set_usage(read_u64(d + "/" + prefix + "usage_in_bytes"));
            e->set_limit(read_u64(d + "/" + prefix + "limit_in_bytes"));
            e->set_max(read_u64(d + "/" + prefix + "max_usage_in_bytes"));
            e->set_failcnt(read_u64(d + "/" + prefix + "failcnt"));
        };
        entry(mem->mutable_usage(), "memory.");
        entry(mem->mutable_swap(), "memory.memsw.");
        entry(mem->mutable_kernel(), "memory.kmem.");
    }
    if (!m.has_pids() && !m.has_cpu() && !m.has_memory()) throw Error("no cgroup v1 controller of the task is readable");
    return {"io.containerd.cgroups.v1.Metrics", m.SerializeAsString()};
}

EncodedMetrics collect_v2(const std::string& dir) {
    if (::access(dir.c_str(), F_OK) != 0) throw Error(dir + ": cgroup of the task not found");
    io::containerd::cgroups::v2::Metrics m;
    m.mutable_pids()->set_current(read_u64(dir + "/pids.current"));
    m.mutable_pids()->set_limit(read_u64(dir + "/pids.max"));
    auto cpu = read_keyed(dir + "/cpu.stat");
    auto* c = m.mutable_cpu();
    c->set_usage_usec(cpu["usage_usec"]);
    c->set_user_usec(cpu["user_usec"]);
    c->set_system_usec(cpu["system_usec"]);
    c->set_nr_periods(cpu["nr_periods"]);
    c->set_nr_throttled(cpu["nr_throttled"]);
    c->set_throttled_usec(cpu["throttled_usec"]);
    auto st = read_keyed(dir + "/memory.stat");
    auto* mem = m.mutable_memory();
    mem->set_anon(st["anon"]);
    mem->set_file(st["file"]);
    mem->set_kernel_stack(st["kernel_stack"]);
    mem->set_slab(st["slab"]);
    mem->set_sock(st["sock"]);
    mem->set_shmem(st["shmem"]);
    mem->set_file_mapped(st["file_mapped"]);
    mem->set_file_dirty(st["file_dirty"]);
    mem->set_file_writeback(st["file_writeback"]);
    mem->set_pgfault(st["pgfault"]);
    mem->set_pgmajfault(st["pgmajfault"]);
    mem->set_usage(read_u64(dir + "/memory.current"));
    mem->set_usage_limit(read_u64(dir + "/memory.max"));
    mem->set_swap_usage(read_u64(dir + "/memory.swap.current"));
    mem->set_swap_limit(read_u64(dir + "/memory.swap.max"));
    mem->set_max_usage(read_u64(dir + "/memory.peak"));
    return {"io.containerd.cgroups.v2.Metrics", m.SerializeAsString()};
}

}  // namespace

EncodedMetrics collect_metrics(const std::string& proc_cgroup, const std::string& root) {
    auto lines = parse_proc_cgroup(proc_cgroup);
    bool v1 = false;
    for (const auto& l : lines)
        for (const auto& c : l.controllers)
            if (c == "memory" || c == "cpuacct" || c == "pids") v1 = true;
    if (v1) return collect_v1(lines, root);
    for (const auto& l : lines)
        if (l.controllers_text.empty()) return collect_v2(root + l.path);
    throw Error("the task's process has no cgroup");
}

}  // namespace husk::shim
