#include "stats.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "cgroups_v1.pb.h"
#include "cgroups_v2.pb.h"
#include "common/cgroupfs.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"

namespace husk::shim {
namespace {

namespace v1 = io::containerd::cgroups::v1;
namespace v2 = io::containerd::cgroups::v2;

bool read_text(const std::string& path, std::string& out) { return fs::try_read_file(path, out); }

// A single-number file (common/cgroupfs); containerd reports v1's "max" (no limit) as 0, v2's
// as 2^64-1.
uint64_t read_u64(const std::string& path, uint64_t max = 0) { return cgroupfs::read_u64(path, max); }

uint64_t read_limit_v2(const std::string& path) { return cgroupfs::read_u64(path); }

using cgroupfs::read_keyed;

std::vector<std::string> lines_of(const std::string& path) {
    std::vector<std::string> out;
    std::string s;
    if (!read_text(path, s)) return out;
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(line);
    return out;
}

std::vector<std::string> sorted_names(const std::string& dir) {
    std::vector<std::string> names;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
        ::closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
}

// The page sizes of the hugetlb files in dir ("2MB", "1GB"), from names "hugetlb.<size>.<suffix>";
// the rsvd.* files of newer kernels name no other size.
std::vector<std::string> hugepage_sizes(const std::string& dir, const std::string& suffix) {
    std::vector<std::string> sizes;
    const std::string prefix = "hugetlb.", tail = "." + suffix;
    for (const auto& n : sorted_names(dir)) {
        if (n.size() <= prefix.size() + tail.size() || n.rfind(prefix, 0) != 0 ||
            n.compare(n.size() - tail.size(), tail.size(), tail) != 0)
            continue;
        std::string size = n.substr(prefix.size(), n.size() - prefix.size() - tail.size());
        if (size.find('.') == std::string::npos) sizes.push_back(size);
    }
    return sizes;
}

// rdma.current / rdma.max: "mlx4_0 hca_handle=2 hca_object=2000", "max" as 2^32-1.
template <class Entries>
void read_rdma(const std::string& path, Entries* out) {
    for (const auto& line : lines_of(path)) {
        std::istringstream in(line);
        std::string device, a, b;
        if (!(in >> device >> a >> b)) continue;
        auto* e = out->Add();
        e->set_device(device);
        for (const std::string& kv : {a, b}) {
            size_t eq = kv.find('=');
            if (eq == std::string::npos) continue;
            std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
            uint32_t n = value == "max" ? std::numeric_limits<uint32_t>::max()
                                        : static_cast<uint32_t>(std::strtoul(value.c_str(), nullptr, 10));
            if (key == "hca_handle") e->set_hca_handles(n);
            if (key == "hca_object") e->set_hca_objects(n);
        }
    }
}

// ---- cgroup v1: one hierarchy per controller (or joined, as cpu,cpuacct).

using Line = cgroupfs::Membership;
using cgroupfs::parse_proc_cgroup;

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

// memory.stat keys and the MemoryStat fields they fill, as containerd names them.
const std::pair<const char*, void (v1::MemoryStat::*)(uint64_t)> kV1MemoryStat[] = {
    {"cache", &v1::MemoryStat::set_cache},
    {"rss", &v1::MemoryStat::set_rss},
    {"rss_huge", &v1::MemoryStat::set_rss_huge},
    {"mapped_file", &v1::MemoryStat::set_mapped_file},
    {"dirty", &v1::MemoryStat::set_dirty},
    {"writeback", &v1::MemoryStat::set_writeback},
    {"pgpgin", &v1::MemoryStat::set_pg_pg_in},
    {"pgpgout", &v1::MemoryStat::set_pg_pg_out},
    {"pgfault", &v1::MemoryStat::set_pg_fault},
    {"pgmajfault", &v1::MemoryStat::set_pg_maj_fault},
    {"inactive_anon", &v1::MemoryStat::set_inactive_anon},
    {"active_anon", &v1::MemoryStat::set_active_anon},
    {"inactive_file", &v1::MemoryStat::set_inactive_file},
    {"active_file", &v1::MemoryStat::set_active_file},
    {"unevictable", &v1::MemoryStat::set_unevictable},
    {"hierarchical_memory_limit", &v1::MemoryStat::set_hierarchical_memory_limit},
    {"hierarchical_memsw_limit", &v1::MemoryStat::set_hierarchical_swap_limit},
    {"total_cache", &v1::MemoryStat::set_total_cache},
    {"total_rss", &v1::MemoryStat::set_total_rss},
    {"total_rss_huge", &v1::MemoryStat::set_total_rss_huge},
    {"total_mapped_file", &v1::MemoryStat::set_total_mapped_file},
    {"total_dirty", &v1::MemoryStat::set_total_dirty},
    {"total_writeback", &v1::MemoryStat::set_total_writeback},
    {"total_pgpgin", &v1::MemoryStat::set_total_pg_pg_in},
    {"total_pgpgout", &v1::MemoryStat::set_total_pg_pg_out},
    {"total_pgfault", &v1::MemoryStat::set_total_pg_fault},
    {"total_pgmajfault", &v1::MemoryStat::set_total_pg_maj_fault},
    {"total_inactive_anon", &v1::MemoryStat::set_total_inactive_anon},
    {"total_active_anon", &v1::MemoryStat::set_total_active_anon},
    {"total_inactive_file", &v1::MemoryStat::set_total_inactive_file},
    {"total_active_file", &v1::MemoryStat::set_total_active_file},
    {"total_unevictable", &v1::MemoryStat::set_total_unevictable},
};

void v1_memory(const std::string& d, v1::Metrics& m) {
    auto* mem = m.mutable_memory();
    auto st = read_keyed(d + "/memory.stat");
    for (const auto& [key, set] : kV1MemoryStat) (mem->*set)(st[key]);
    auto entry = [&](v1::MemoryEntry* e, const std::string& prefix) {
        e->set_usage(read_u64(d + "/" + prefix + "usage_in_bytes"));
        e->set_limit(read_u64(d + "/" + prefix + "limit_in_bytes"));
        e->set_max(read_u64(d + "/" + prefix + "max_usage_in_bytes"));
        e->set_failcnt(read_u64(d + "/" + prefix + "failcnt"));
    };
    entry(mem->mutable_usage(), "memory.");
    entry(mem->mutable_swap(), "memory.memsw.");
    entry(mem->mutable_kernel(), "memory.kmem.");
    entry(mem->mutable_kernel_tcp(), "memory.kmem.tcp.");
    auto oom = read_keyed(d + "/memory.oom_control");
    auto* o = m.mutable_memory_oom_control();
    o->set_oom_kill_disable(oom["oom_kill_disable"]);
    o->set_under_oom(oom["under_oom"]);
    o->set_oom_kill(oom["oom_kill"]);
}

using Devices = std::map<std::pair<uint64_t, uint64_t>, std::string>;

// /proc/partitions ("major minor #blocks name" after a header): device names by number.
Devices block_devices(const std::string& proc) {
    Devices out;
    for (const auto& line : lines_of(proc + "/partitions")) {
        std::istringstream in(line);
        uint64_t major, minor, blocks;
        std::string name;
        if (in >> major >> minor >> blocks >> name) out.emplace(std::make_pair(major, minor), "/dev/" + name);
    }
    return out;
}

using BlkIOEntries = google::protobuf::RepeatedPtrField<v1::BlkIOEntry>;

// "8:0 Read 4096" (or "8:0 4096" in sectors and time files); "Total" lines are left out.
void read_blkio(const std::string& path, const Devices& devices, BlkIOEntries* out) {
    for (const auto& line : lines_of(path)) {
        std::istringstream in(line);
        std::string devno, op, value;
        if (!(in >> devno >> op)) continue;
        if (!(in >> value)) value = std::exchange(op, "");
        size_t colon = devno.find(':');
        if (colon == std::string::npos) continue;
        auto* e = out->Add();
        e->set_major(std::strtoull(devno.c_str(), nullptr, 10));
        e->set_minor(std::strtoull(devno.c_str() + colon + 1, nullptr, 10));
        e->set_op(op);
        e->set_value(std::strtoull(value.c_str(), nullptr, 10));
        if (auto it = devices.find({e->major(), e->minor()}); it != devices.end()) e->set_device(it->second);
    }
}

const std::pair<const char*, BlkIOEntries* (v1::BlkIOStat::*)()> kCfqFiles[] = {
    {"sectors_recursive", &v1::BlkIOStat::mutable_sectors_recursive},
    {"io_service_bytes_recursive", &v1::BlkIOStat::mutable_io_service_bytes_recursive},
    {"io_serviced_recursive", &v1::BlkIOStat::mutable_io_serviced_recursive},
    {"io_queued_recursive", &v1::BlkIOStat::mutable_io_queued_recursive},
    {"io_service_time_recursive", &v1::BlkIOStat::mutable_io_service_time_recursive},
    {"io_wait_time_recursive", &v1::BlkIOStat::mutable_io_wait_time_recursive},
    {"io_merged_recursive", &v1::BlkIOStat::mutable_io_merged_recursive},
    {"time_recursive", &v1::BlkIOStat::mutable_io_time_recursive},
};

// The CFQ files where the kernel has them and they list any device; otherwise the throttle
// files, as containerd reads them.
void v1_blkio(const std::string& d, const std::string& proc, v1::Metrics& m) {
    auto* b = m.mutable_blkio();
    Devices devices = block_devices(proc);
    if (::access((d + "/blkio.io_serviced_recursive").c_str(), F_OK) == 0) {
        int listed = 0;
        for (const auto& [name, field] : kCfqFiles) {
            BlkIOEntries* entries = (b->*field)();
            read_blkio(d + "/blkio." + name, devices, entries);
            listed += entries->size();
        }
        if (listed > 0) return;
    }
    read_blkio(d + "/blkio.throttle.io_serviced", devices, b->mutable_io_serviced_recursive());
    read_blkio(d + "/blkio.throttle.io_service_bytes", devices, b->mutable_io_service_bytes_recursive());
}

EncodedMetrics collect_v1(const std::vector<Line>& lines, const std::string& root, const std::string& proc) {
    v1::Metrics m;
    bool any = false;
    if (auto d = v1_dir(lines, root, "hugetlb"); !d.empty()) {
        any = true;
        for (const auto& size : hugepage_sizes(d, "usage_in_bytes")) {
            auto* h = m.add_hugetlb();
            h->set_pagesize(size);
            h->set_usage(read_u64(d + "/hugetlb." + size + ".usage_in_bytes"));
            h->set_max(read_u64(d + "/hugetlb." + size + ".max_usage_in_bytes"));
            h->set_failcnt(read_u64(d + "/hugetlb." + size + ".failcnt"));
        }
    }
    if (auto d = v1_dir(lines, root, "pids"); !d.empty()) {
        any = true;
        m.mutable_pids()->set_current(read_u64(d + "/pids.current"));
        m.mutable_pids()->set_limit(read_u64(d + "/pids.max"));
    }
    if (auto d = v1_dir(lines, root, "cpuacct"); !d.empty()) {
        any = true;
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
        any = true;
        auto st = read_keyed(d + "/cpu.stat");
        auto* t = m.mutable_cpu()->mutable_throttling();
        t->set_periods(st["nr_periods"]);
        t->set_throttled_periods(st["nr_throttled"]);
        t->set_throttled_time(st["throttled_time"]);
    }
    if (auto d = v1_dir(lines, root, "memory"); !d.empty()) {
        any = true;
        v1_memory(d, m);
    }
    if (auto d = v1_dir(lines, root, "blkio"); !d.empty()) {
        any = true;
        v1_blkio(d, proc, m);
    }
    if (auto d = v1_dir(lines, root, "rdma"); !d.empty()) {
        any = true;
        read_rdma(d + "/rdma.current", m.mutable_rdma()->mutable_current());
        read_rdma(d + "/rdma.max", m.mutable_rdma()->mutable_limit());
    }
    if (!any) throw Error("no cgroup v1 controller of the task is readable");
    return {"io.containerd.cgroups.v1.Metrics", m.SerializeAsString()};
}

// ---- cgroup v2: one directory.

const std::pair<const char*, void (v2::MemoryStat::*)(uint64_t)> kV2MemoryStat[] = {
    {"anon", &v2::MemoryStat::set_anon},
    {"file", &v2::MemoryStat::set_file},
    {"kernel_stack", &v2::MemoryStat::set_kernel_stack},
    {"slab", &v2::MemoryStat::set_slab},
    {"sock", &v2::MemoryStat::set_sock},
    {"shmem", &v2::MemoryStat::set_shmem},
    {"file_mapped", &v2::MemoryStat::set_file_mapped},
    {"file_dirty", &v2::MemoryStat::set_file_dirty},
    {"file_writeback", &v2::MemoryStat::set_file_writeback},
    {"anon_thp", &v2::MemoryStat::set_anon_thp},
    {"inactive_anon", &v2::MemoryStat::set_inactive_anon},
    {"active_anon", &v2::MemoryStat::set_active_anon},
    {"inactive_file", &v2::MemoryStat::set_inactive_file},
    {"active_file", &v2::MemoryStat::set_active_file},
    {"unevictable", &v2::MemoryStat::set_unevictable},
    {"slab_reclaimable", &v2::MemoryStat::set_slab_reclaimable},
    {"slab_unreclaimable", &v2::MemoryStat::set_slab_unreclaimable},
    {"pgfault", &v2::MemoryStat::set_pgfault},
    {"pgmajfault", &v2::MemoryStat::set_pgmajfault},
    {"workingset_refault", &v2::MemoryStat::set_workingset_refault},
    {"workingset_activate", &v2::MemoryStat::set_workingset_activate},
    {"workingset_nodereclaim", &v2::MemoryStat::set_workingset_nodereclaim},
    {"pgrefill", &v2::MemoryStat::set_pgrefill},
    {"pgscan", &v2::MemoryStat::set_pgscan},
    {"pgsteal", &v2::MemoryStat::set_pgsteal},
    {"pgactivate", &v2::MemoryStat::set_pgactivate},
    {"pgdeactivate", &v2::MemoryStat::set_pgdeactivate},
    {"pglazyfree", &v2::MemoryStat::set_pglazyfree},
    {"pglazyfreed", &v2::MemoryStat::set_pglazyfreed},
    {"thp_fault_alloc", &v2::MemoryStat::set_thp_fault_alloc},
    {"thp_collapse_alloc", &v2::MemoryStat::set_thp_collapse_alloc},
    {"workingset_refault_anon", &v2::MemoryStat::set_workingset_refault_anon},
    {"workingset_refault_file", &v2::MemoryStat::set_workingset_refault_file},
    {"workingset_activate_anon", &v2::MemoryStat::set_workingset_activate_anon},
    {"workingset_activate_file", &v2::MemoryStat::set_workingset_activate_file},
};

// io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device.
void v2_io(const std::string& dir, v2::Metrics& m) {
    auto* io = m.mutable_io();
    for (const auto& line : lines_of(dir + "/io.stat")) {
        std::istringstream in(line);
        std::string devno;
        in >> devno;
        size_t colon = devno.find(':');
        if (colon == std::string::npos) continue;
        auto* e = io->add_usage();
        e->set_major(std::strtoull(devno.c_str(), nullptr, 10));
        e->set_minor(std::strtoull(devno.c_str() + colon + 1, nullptr, 10));
        for (std::string kv; in >> kv;) {
            size_t eq = kv.find('=');
            if (eq == std::string::npos) continue;
            std::string key = kv.substr(0, eq);
            uint64_t v = std::strtoull(kv.c_str() + eq + 1, nullptr, 10);
            if (key == "rbytes") e->set_rbytes(v);
            if (key == "wbytes") e->set_wbytes(v);
            if (key == "rios") e->set_rios(v);
            if (key == "wios") e->set_wios(v);
        }
    }
}

EncodedMetrics collect_v2(const std::string& dir) {
    if (::access(dir.c_str(), F_OK) != 0) throw Error(dir + ": cgroup of the task not found");
    v2::Metrics m;
    m.mutable_pids()->set_current(read_u64(dir + "/pids.current"));
    m.mutable_pids()->set_limit(read_limit_v2(dir + "/pids.max"));
    auto cpu = read_keyed(dir + "/cpu.stat");
    auto* c = m.mutable_cpu();
    c->set_usage_usec(cpu["usage_usec"]);
    c->set_user_usec(cpu["user_usec"]);
    c->set_system_usec(cpu["system_usec"]);
    c->set_nr_periods(cpu["nr_periods"]);
    c->set_nr_throttled(cpu["nr_throttled"]);
    c->set_throttled_usec(cpu["throttled_usec"]);
    c->set_nr_bursts(cpu["nr_bursts"]);
    c->set_burst_usec(cpu["burst_usec"]);
    auto st = read_keyed(dir + "/memory.stat");
    auto* mem = m.mutable_memory();
    for (const auto& [key, set] : kV2MemoryStat) (mem->*set)(st[key]);
    mem->set_usage(read_u64(dir + "/memory.current"));
    mem->set_usage_limit(read_limit_v2(dir + "/memory.max"));
    mem->set_swap_usage(read_u64(dir + "/memory.swap.current"));
    mem->set_swap_limit(read_limit_v2(dir + "/memory.swap.max"));
    mem->set_max_usage(read_u64(dir + "/memory.peak"));
    mem->set_swap_max_usage(read_u64(dir + "/memory.swap.peak"));
    if (auto ev = read_keyed(dir + "/memory.events"); !ev.empty()) {
        auto* e = m.mutable_memory_events();
        e->set_low(ev["low"]);
        e->set_high(ev["high"]);
        e->set_max(ev["max"]);
        e->set_oom(ev["oom"]);
        e->set_oom_kill(ev["oom_kill"]);
        e->set_oom_group_kill(ev["oom_group_kill"]);
    }
    v2_io(dir, m);
    read_rdma(dir + "/rdma.current", m.mutable_rdma()->mutable_current());
    read_rdma(dir + "/rdma.max", m.mutable_rdma()->mutable_limit());
    for (const auto& size : hugepage_sizes(dir, "current")) {
        auto* h = m.add_hugetlb();
        h->set_pagesize(size);
        h->set_current(read_u64(dir + "/hugetlb." + size + ".current"));
        h->set_max(read_limit_v2(dir + "/hugetlb." + size + ".max"));
        h->set_failcnt(read_keyed(dir + "/hugetlb." + size + ".events")["max"]);
    }
    return {"io.containerd.cgroups.v2.Metrics", m.SerializeAsString()};
}

}  // namespace

EncodedMetrics collect_metrics(const std::string& proc_cgroup, const std::string& root, const std::string& proc) {
    auto lines = parse_proc_cgroup(proc_cgroup);
    // A v1 controller hierarchy (named ones such as name=systemd hold none) makes a v1 host,
    // hybrid ones too: their controllers are all on the v1 side.
    bool v1 = false;
    for (const auto& l : lines)
        for (const auto& c : l.controllers)
            if (c.rfind("name=", 0) != 0) v1 = true;
    if (v1) return collect_v1(lines, root, proc);
    for (const auto& l : lines)
        if (l.controllers_text.empty()) return collect_v2(root + l.path);
    throw Error("the task's process has no cgroup");
}

}  // namespace husk::shim
