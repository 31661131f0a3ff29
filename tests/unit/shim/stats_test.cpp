// Stats: cgroup files of a fake v1 and v2 tree turned into containerd's Metrics messages.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "cgroups_v1.pb.h"
#include "cgroups_v2.pb.h"
#include "stats.hpp"

namespace fs = std::filesystem;
using namespace husk::shim;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/shim-stats-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
    void write(const std::string& rel, const std::string& text) {
        fs::create_directories((path / rel).parent_path());
        std::ofstream(path / rel) << text;
    }
};

}  // namespace

TEST_CASE("v1 metrics come from the memory, cpuacct and pids hierarchies of the process") {
    TempDir t;
    t.write("memory/ns/c1/memory.usage_in_bytes", "4096\n");
    t.write("memory/ns/c1/memory.limit_in_bytes", "1048576\n");
    t.write("memory/ns/c1/memory.stat", "cache 100\nrss 200\ntotal_rss 300\n");
    t.write("cpu,cpuacct/ns/c1/cpuacct.usage", "123456\n");
    t.write("cpu,cpuacct/ns/c1/cpuacct.usage_percpu", "100 200 \n");
    t.write("cpu,cpuacct/ns/c1/cpu.stat", "nr_periods 3\nnr_throttled 1\nthrottled_time 9\n");
    t.write("pids/ns/c1/pids.current", "2\n");
    t.write("pids/ns/c1/pids.max", "max\n");
    std::string proc = "12:pids:/ns/c1\n5:cpu,cpuacct:/ns/c1\n4:memory:/ns/c1\n0::/\n";
    EncodedMetrics e = collect_metrics(proc, t.path.string());
    CHECK(e.type_url == "io.containerd.cgroups.v1.Metrics");
    io::containerd::cgroups::v1::Metrics m;
    REQUIRE(m.ParseFromString(e.value));
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
    CHECK(m.pids().limit() == 0);
}

TEST_CASE("v2 metrics come from the unified directory") {
    TempDir t;
    t.write("ns/c1/memory.current", "8192\n");
    t.write("ns/c1/memory.max", "max\n");
    t.write("ns/c1/memory.stat", "anon 10\nfile 20\n");
    t.write("ns/c1/cpu.stat", "usage_usec 77\nuser_usec 50\nsystem_usec 27\n");
    t.write("ns/c1/pids.current", "1\n");
    EncodedMetrics e = collect_metrics("0::/ns/c1\n", t.path.string());
    CHECK(e.type_url == "io.containerd.cgroups.v2.Metrics");
    io::containerd::cgroups::v2::Metrics m;
    REQUIRE(m.ParseFromString(e.value));
    CHECK(m.memory().usage() == 8192);
    CHECK(m.memory().anon() == 10);
    CHECK(m.cpu().usage_usec() == 77);
    CHECK(m.pids().current() == 1);
}

TEST_CASE("a process without a readable cgroup is an error, not empty metrics") {
    TempDir t;
    CHECK_THROWS(collect_metrics("4:memory:/gone\n", t.path.string()));
    CHECK_THROWS(collect_metrics("0::/gone\n", t.path.string()));
}
