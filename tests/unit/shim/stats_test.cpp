// Stats: cgroup files of a fake v1 and v2 tree turned into containerd's Metrics messages, every
// field the runc shim fills (containerd's CRI takes the working set as usage minus
// (total_)inactive_file, so a field left at 0 is a wrong number in kubelet, not a missing one).
#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "../cgroups_fake_tree.hpp"
#include "cgroups_v1.pb.h"
#include "cgroups_v2.pb.h"
#include "shim/stats.hpp"

using namespace husk::shim;
namespace v1 = io::containerd::cgroups::v1;
namespace v2 = io::containerd::cgroups::v2;

namespace {

constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();

// A memory.stat whose every key has its own value (1000 + its index) and the values by key.
template <class Stat>
std::string distinct_values(const std::vector<std::pair<std::string, std::function<uint64_t(const Stat&)>>>& keys) {
    std::string text;
    for (size_t i = 0; i < keys.size(); ++i) text += keys[i].first + " " + std::to_string(1000 + i) + "\n";
    return text;
}

template <class Stat>
void check_each(const Stat& s, const std::vector<std::pair<std::string, std::function<uint64_t(const Stat&)>>>& keys) {
    for (size_t i = 0; i < keys.size(); ++i) {
        INFO("memory.stat key " << keys[i].first);
        CHECK(keys[i].second(s) == 1000 + i);
    }
}

#define FIELD(Stat, key, getter) {key, [](const Stat& s) { return s.getter(); }}

const std::vector<std::pair<std::string, std::function<uint64_t(const v1::MemoryStat&)>>> kV1Keys = {
    FIELD(v1::MemoryStat, "cache", cache),
    FIELD(v1::MemoryStat, "rss", rss),
    FIELD(v1::MemoryStat, "rss_huge", rss_huge),
    FIELD(v1::MemoryStat, "mapped_file", mapped_file),
    FIELD(v1::MemoryStat, "dirty", dirty),
    FIELD(v1::MemoryStat, "writeback", writeback),
    FIELD(v1::MemoryStat, "pgpgin", pg_pg_in),
    FIELD(v1::MemoryStat, "pgpgout", pg_pg_out),
    FIELD(v1::MemoryStat, "pgfault", pg_fault),
    FIELD(v1::MemoryStat, "pgmajfault", pg_maj_fault),
    FIELD(v1::MemoryStat, "inactive_anon", inactive_anon),
    FIELD(v1::MemoryStat, "active_anon", active_anon),
    FIELD(v1::MemoryStat, "inactive_file", inactive_file),
    FIELD(v1::MemoryStat, "active_file", active_file),
    FIELD(v1::MemoryStat, "unevictable", unevictable),
    FIELD(v1::MemoryStat, "hierarchical_memory_limit", hierarchical_memory_limit),
    FIELD(v1::MemoryStat, "hierarchical_memsw_limit", hierarchical_swap_limit),
    FIELD(v1::MemoryStat, "total_cache", total_cache),
    FIELD(v1::MemoryStat, "total_rss", total_rss),
    FIELD(v1::MemoryStat, "total_rss_huge", total_rss_huge),
    FIELD(v1::MemoryStat, "total_mapped_file", total_mapped_file),
    FIELD(v1::MemoryStat, "total_dirty", total_dirty),
    FIELD(v1::MemoryStat, "total_writeback", total_writeback),
    FIELD(v1::MemoryStat, "total_pgpgin", total_pg_pg_in),
    FIELD(v1::MemoryStat, "total_pgpgout", total_pg_pg_out),
    FIELD(v1::MemoryStat, "total_pgfault", total_pg_fault),
    FIELD(v1::MemoryStat, "total_pgmajfault", total_pg_maj_fault),
    FIELD(v1::MemoryStat, "total_inactive_anon", total_inactive_anon),
    FIELD(v1::MemoryStat, "total_active_anon", total_active_anon),
    FIELD(v1::MemoryStat, "total_inactive_file", total_inactive_file),
    FIELD(v1::MemoryStat, "total_active_file", total_active_file),
    FIELD(v1::MemoryStat, "total_unevictable", total_unevictable),
};

const std::vector<std::pair<std::string, std::function<uint64_t(const v2::MemoryStat&)>>> kV2Keys = {
    FIELD(v2::MemoryStat, "anon", anon),
    FIELD(v2::MemoryStat, "file", file),
    FIELD(v2::MemoryStat, "kernel_stack", kernel_stack),
    FIELD(v2::MemoryStat, "slab", slab),
    FIELD(v2::MemoryStat, "sock", sock),
    FIELD(v2::MemoryStat, "shmem", shmem),
    FIELD(v2::MemoryStat, "file_mapped", file_mapped),
    FIELD(v2::MemoryStat, "file_dirty", file_dirty),
    FIELD(v2::MemoryStat, "file_writeback", file_writeback),
    FIELD(v2::MemoryStat, "anon_thp", anon_thp),
    FIELD(v2::MemoryStat, "inactive_anon", inactive_anon),
    FIELD(v2::MemoryStat, "active_anon", active_anon),
    FIELD(v2::MemoryStat, "inactive_file", inactive_file),
    FIELD(v2::MemoryStat, "active_file", active_file),
    FIELD(v2::MemoryStat, "unevictable", unevictable),
    FIELD(v2::MemoryStat, "slab_reclaimable", slab_reclaimable),
    FIELD(v2::MemoryStat, "slab_unreclaimable", slab_unreclaimable),
    FIELD(v2::MemoryStat, "pgfault", pgfault),
    FIELD(v2::MemoryStat, "pgmajfault", pgmajfault),
    FIELD(v2::MemoryStat, "workingset_refault", workingset_refault),
    FIELD(v2::MemoryStat, "workingset_activate", workingset_activate),
    FIELD(v2::MemoryStat, "workingset_nodereclaim", workingset_nodereclaim),
    FIELD(v2::MemoryStat, "pgrefill", pgrefill),
    FIELD(v2::MemoryStat, "pgscan", pgscan),
    FIELD(v2::MemoryStat, "pgsteal", pgsteal),
    FIELD(v2::MemoryStat, "pgactivate", pgactivate),
    FIELD(v2::MemoryStat, "pgdeactivate", pgdeactivate),
    FIELD(v2::MemoryStat, "pglazyfree", pglazyfree),
    FIELD(v2::MemoryStat, "pglazyfreed", pglazyfreed),
    FIELD(v2::MemoryStat, "thp_fault_alloc", thp_fault_alloc),
    FIELD(v2::MemoryStat, "thp_collapse_alloc", thp_collapse_alloc),
    FIELD(v2::MemoryStat, "workingset_refault_anon", workingset_refault_anon),
    FIELD(v2::MemoryStat, "workingset_refault_file", workingset_refault_file),
    FIELD(v2::MemoryStat, "workingset_activate_anon", workingset_activate_anon),
    FIELD(v2::MemoryStat, "workingset_activate_file", workingset_activate_file),
};

#undef FIELD

v1::Metrics v1_metrics(const FakeCgroup& fake, const std::string& proc_cgroup) {
    EncodedMetrics e = collect_metrics(proc_cgroup, fake.dir(), fake.dir() + "/proc");
    REQUIRE(e.type_url == "io.containerd.cgroups.v1.Metrics");
    v1::Metrics m;
    REQUIRE(m.ParseFromString(e.value));
    return m;
}

v2::Metrics v2_metrics(const FakeCgroup& fake, const std::string& proc_cgroup) {
    EncodedMetrics e = collect_metrics(proc_cgroup, fake.dir());
    REQUIRE(e.type_url == "io.containerd.cgroups.v2.Metrics");
    v2::Metrics m;
    REQUIRE(m.ParseFromString(e.value));
    return m;
}

const char kPartitions[] = "major minor  #blocks  name\n\n   8        0  1048576 sda\n 254        0   268435 vda\n";

}  // namespace

TEST_CASE("v1 metrics come from the memory, cpuacct and pids hierarchies of the process") {
    FakeCgroup fake;
    fake.file("memory/ns/c1/memory.usage_in_bytes", "4096\n")
        .file("memory/ns/c1/memory.limit_in_bytes", "1048576\n")
        .file("memory/ns/c1/memory.stat", "cache 100\nrss 200\ntotal_rss 300\n")
        .file("cpu,cpuacct/ns/c1/cpuacct.usage", "123456\n")
        .file("cpu,cpuacct/ns/c1/cpuacct.usage_percpu", "100 200 \n")
        .file("cpu,cpuacct/ns/c1/cpu.stat", "nr_periods 3\nnr_throttled 1\nthrottled_time 9\n")
        .file("pids/ns/c1/pids.current", "2\n")
        .file("pids/ns/c1/pids.max", "max\n");
    v1::Metrics m = v1_metrics(fake, "12:pids:/ns/c1\n5:cpu,cpuacct:/ns/c1\n4:memory:/ns/c1\n0::/\n");
    CHECK(m.memory().usage().usage() == 4096);
    CHECK(m.memory().usage().limit() == 1048576);
    CHECK(m.memory().cache() == 100);
    CHECK(m.memory().rss() == 200);
    CHECK(m.memory().total_rss() == 300);
    CHECK(m.cpu().usage().total() == 123456);
    REQUIRE(m.cpu().usage().per_cpu_size() == 2);
    CHECK(m.cpu().usage().per_cpu(1) == 200);
    CHECK(m.cpu().throttling().throttled_time() == 9);
    CHECK(m.pids().current() == 2);
    CHECK(m.pids().limit() == 0);  // containerd reports v1's "max" as 0
}

TEST_CASE("v1 memory: every memory.stat key, the four counters and memory.oom_control") {
    FakeCgroup fake;
    fake.file("memory/c/memory.stat", distinct_values(kV1Keys));
    const char* prefixes[] = {"memory.", "memory.memsw.", "memory.kmem.", "memory.kmem.tcp."};
    for (size_t i = 0; i < 4; ++i) {
        std::string p = std::string("memory/c/") + prefixes[i], base = std::to_string(10 * (i + 1));
        fake.file(p + "usage_in_bytes", base + "1\n")
            .file(p + "limit_in_bytes", base + "2\n")
            .file(p + "max_usage_in_bytes", base + "3\n")
            .file(p + "failcnt", base + "4\n");
    }
    fake.file("memory/c/memory.oom_control", "oom_kill_disable 1\nunder_oom 0\noom_kill 3\n");
    v1::Metrics m = v1_metrics(fake, "4:memory:/c\n");
    check_each(m.memory(), kV1Keys);
    const v1::MemoryEntry* entries[] = {&m.memory().usage(), &m.memory().swap(), &m.memory().kernel(),
                                        &m.memory().kernel_tcp()};
    for (size_t i = 0; i < 4; ++i) {
        INFO(prefixes[i]);
        uint64_t base = 100 * (i + 1);
        CHECK(entries[i]->usage() == base + 1);
        CHECK(entries[i]->limit() == base + 2);
        CHECK(entries[i]->max() == base + 3);
        CHECK(entries[i]->failcnt() == base + 4);
    }
    REQUIRE(m.has_memory_oom_control());
    CHECK(m.memory_oom_control().oom_kill_disable() == 1);
    CHECK(m.memory_oom_control().under_oom() == 0);
    CHECK(m.memory_oom_control().oom_kill() == 3);
}

TEST_CASE("v1 blkio: the throttle files, with device names from /proc/partitions") {
    FakeCgroup fake;
    fake.file("proc/partitions", kPartitions)
        .file("blkio/c/blkio.throttle.io_service_bytes", "254:0 Read 4096\n254:0 Write 8192\n254:0 Total 12288\nTotal 12288\n")
        .file("blkio/c/blkio.throttle.io_serviced", "254:0 Read 1\n254:0 Write 2\n7:3 Read 5\nTotal 8\n");
    v1::Metrics m = v1_metrics(fake, "7:blkio:/c\n4:memory:/c\n");
    const auto& bytes = m.blkio().io_service_bytes_recursive();
    REQUIRE(bytes.size() == 3);
    CHECK(bytes[1].device() == "/dev/vda");
    CHECK(bytes[1].major() == 254);
    CHECK(bytes[1].minor() == 0);
    CHECK(bytes[1].op() == "Write");
    CHECK(bytes[1].value() == 8192);
    CHECK(bytes[2].op() == "Total");
    const auto& ios = m.blkio().io_serviced_recursive();
    REQUIRE(ios.size() == 3);
    CHECK(ios[2].device() == "");  // 7:3 is no partition
    CHECK(ios[2].value() == 5);
    CHECK(m.blkio().sectors_recursive_size() == 0);
}

TEST_CASE("v1 blkio: the CFQ files where they list a device, sectors and time without an op") {
    FakeCgroup fake;
    fake.file("proc/partitions", kPartitions)
        .file("blkio/c/blkio.io_serviced_recursive", "8:0 Read 3\n8:0 Write 4\nTotal 7\n")
        .file("blkio/c/blkio.io_service_bytes_recursive", "8:0 Read 300\nTotal 300\n")
        .file("blkio/c/blkio.sectors_recursive", "8:0 64\n")
        .file("blkio/c/blkio.time_recursive", "8:0 12\n")
        .file("blkio/c/blkio.io_queued_recursive", "8:0 Read 0\n")
        .file("blkio/c/blkio.io_service_time_recursive", "8:0 Read 5\n")
        .file("blkio/c/blkio.io_wait_time_recursive", "8:0 Read 6\n")
        .file("blkio/c/blkio.io_merged_recursive", "8:0 Read 7\n")
        .file("blkio/c/blkio.throttle.io_serviced", "8:0 Read 99\n");
    v1::Metrics m = v1_metrics(fake, "7:blkio:/c\n");
    const auto& b = m.blkio();
    REQUIRE(b.io_serviced_recursive_size() == 2);  // not the throttle file's line
    CHECK(b.io_serviced_recursive(1).value() == 4);
    CHECK(b.io_serviced_recursive(1).device() == "/dev/sda");
    REQUIRE(b.sectors_recursive_size() == 1);
    CHECK(b.sectors_recursive(0).op() == "");
    CHECK(b.sectors_recursive(0).value() == 64);
    REQUIRE(b.io_time_recursive_size() == 1);
    CHECK(b.io_time_recursive(0).value() == 12);
    CHECK(b.io_service_bytes_recursive(0).value() == 300);
    CHECK(b.io_queued_recursive_size() == 1);
    CHECK(b.io_service_time_recursive(0).value() == 5);
    CHECK(b.io_wait_time_recursive(0).value() == 6);
    CHECK(b.io_merged_recursive(0).value() == 7);
}

TEST_CASE("v1 hugetlb and rdma") {
    FakeCgroup fake;
    fake.file("hugetlb/c/hugetlb.2MB.usage_in_bytes", "2097152\n")
        .file("hugetlb/c/hugetlb.2MB.max_usage_in_bytes", "4194304\n")
        .file("hugetlb/c/hugetlb.2MB.failcnt", "1\n")
        .file("hugetlb/c/hugetlb.2MB.limit_in_bytes", "9223372036854771712\n")
        .file("hugetlb/c/hugetlb.2MB.rsvd.usage_in_bytes", "77\n")
        .file("hugetlb/c/hugetlb.1GB.usage_in_bytes", "0\n")
        .file("rdma/c/rdma.current", "mlx4_0 hca_handle=2 hca_object=2000\n")
        .file("rdma/c/rdma.max", "mlx4_0 hca_handle=max hca_object=4000\n");
    v1::Metrics m = v1_metrics(fake, "11:hugetlb:/c\n10:rdma:/c\n");
    REQUIRE(m.hugetlb_size() == 2);
    CHECK(m.hugetlb(0).pagesize() == "1GB");
    CHECK(m.hugetlb(1).pagesize() == "2MB");
    CHECK(m.hugetlb(1).usage() == 2097152);
    CHECK(m.hugetlb(1).max() == 4194304);
    CHECK(m.hugetlb(1).failcnt() == 1);
    REQUIRE(m.rdma().current_size() == 1);
    CHECK(m.rdma().current(0).device() == "mlx4_0");
    CHECK(m.rdma().current(0).hca_handles() == 2);
    CHECK(m.rdma().current(0).hca_objects() == 2000);
    REQUIRE(m.rdma().limit_size() == 1);
    CHECK(m.rdma().limit(0).hca_handles() == std::numeric_limits<uint32_t>::max());
    CHECK(m.rdma().limit(0).hca_objects() == 4000);
}

TEST_CASE("v2 metrics come from the unified directory") {
    FakeCgroup fake;
    fake.file("ns/c1/memory.current", "8192\n")
        .file("ns/c1/memory.max", "max\n")
        .file("ns/c1/memory.stat", "anon 10\nfile 20\n")
        .file("ns/c1/cpu.stat", "usage_usec 77\nuser_usec 50\nsystem_usec 27\n")
        .file("ns/c1/pids.current", "1\n");
    v2::Metrics m = v2_metrics(fake, "0::/ns/c1\n");
    CHECK(m.memory().usage() == 8192);
    CHECK(m.memory().usage_limit() == kMax64);  // containerd reports v2's "max" as 2^64-1
    CHECK(m.memory().anon() == 10);
    CHECK(m.cpu().usage_usec() == 77);
    CHECK(m.pids().current() == 1);
}

TEST_CASE("v2: every memory.stat key, limits, peaks, memory.events, cpu bursts") {
    FakeCgroup fake;
    fake.file("c/memory.stat", distinct_values(kV2Keys))
        .file("c/memory.current", "5\n")
        .file("c/memory.max", "1073741824\n")
        .file("c/memory.swap.current", "6\n")
        .file("c/memory.swap.max", "max\n")
        .file("c/memory.peak", "7\n")
        .file("c/memory.swap.peak", "8\n")
        .file("c/memory.events", "low 1\nhigh 2\nmax 3\noom 4\noom_kill 5\noom_group_kill 6\n")
        .file("c/pids.current", "3\n")
        .file("c/pids.max", "max\n")
        .file("c/cpu.stat", "usage_usec 1\nuser_usec 2\nsystem_usec 3\nnr_periods 4\nnr_throttled 5\n"
                            "throttled_usec 6\nnr_bursts 7\nburst_usec 8\n");
    v2::Metrics m = v2_metrics(fake, "0::/c\n");
    check_each(m.memory(), kV2Keys);
    CHECK(m.memory().usage() == 5);
    CHECK(m.memory().usage_limit() == 1073741824);
    CHECK(m.memory().swap_usage() == 6);
    CHECK(m.memory().swap_limit() == kMax64);
    CHECK(m.memory().max_usage() == 7);
    CHECK(m.memory().swap_max_usage() == 8);
    const auto& e = m.memory_events();
    CHECK(std::vector<uint64_t>{e.low(), e.high(), e.max(), e.oom(), e.oom_kill(), e.oom_group_kill()} ==
          std::vector<uint64_t>{1, 2, 3, 4, 5, 6});
    CHECK(m.pids().current() == 3);
    CHECK(m.pids().limit() == kMax64);
    const auto& c = m.cpu();
    CHECK(std::vector<uint64_t>{c.usage_usec(), c.user_usec(), c.system_usec(), c.nr_periods(), c.nr_throttled(),
                                c.throttled_usec(), c.nr_bursts(), c.burst_usec()} ==
          std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8});
}

TEST_CASE("v2 io.stat, hugetlb and rdma") {
    FakeCgroup fake;
    fake.file("c/io.stat", "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6\n254:16 rbytes=10 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n")
        .file("c/hugetlb.2MB.current", "2097152\n")
        .file("c/hugetlb.2MB.max", "max\n")
        .file("c/hugetlb.2MB.events", "max 2\n")
        .file("c/hugetlb.2MB.rsvd.current", "0\n")
        .file("c/hugetlb.2MB.rsvd.max", "max\n")
        .file("c/hugetlb.1GB.current", "0\n")
        .file("c/hugetlb.1GB.max", "1073741824\n")
        .file("c/rdma.current", "mlx5_1 hca_handle=1 hca_object=10\n")
        .file("c/rdma.max", "mlx5_1 hca_handle=max hca_object=max\n");
    v2::Metrics m = v2_metrics(fake, "0::/c\n");
    REQUIRE(m.io().usage_size() == 2);
    const auto& a = m.io().usage(0);
    CHECK(std::vector<uint64_t>{a.major(), a.minor(), a.rbytes(), a.wbytes(), a.rios(), a.wios()} ==
          std::vector<uint64_t>{8, 0, 1, 2, 3, 4});
    CHECK(m.io().usage(1).major() == 254);
    CHECK(m.io().usage(1).minor() == 16);
    CHECK(m.io().usage(1).rbytes() == 10);
    REQUIRE(m.hugetlb_size() == 2);
    CHECK(m.hugetlb(0).pagesize() == "1GB");
    CHECK(m.hugetlb(0).max() == 1073741824);
    CHECK(m.hugetlb(1).pagesize() == "2MB");
    CHECK(m.hugetlb(1).current() == 2097152);
    CHECK(m.hugetlb(1).max() == kMax64);
    CHECK(m.hugetlb(1).failcnt() == 2);
    REQUIRE(m.rdma().current_size() == 1);
    CHECK(m.rdma().current(0).device() == "mlx5_1");
    CHECK(m.rdma().current(0).hca_objects() == 10);
    CHECK(m.rdma().limit(0).hca_handles() == std::numeric_limits<uint32_t>::max());
}

TEST_CASE("a process without a readable cgroup is an error, not empty metrics") {
    FakeCgroup fake;
    CHECK_THROWS(collect_metrics("4:memory:/gone\n", fake.dir()));
    CHECK_THROWS(collect_metrics("0::/gone\n", fake.dir()));
}
