// cgroup v2 controllers against a fake unified directory: conversions written where v2 wants
// them, controllers not enabled, refused v1-only values, device rules, stats.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "runtime/cgroups/manager.hpp"
#include "runtime/cgroups/v2/controllers.hpp"
#include "cgroups_fake_tree.hpp"
#include "spec/config.hpp"

using namespace husk::cgroups;
using husk::spec::parse_resources;

namespace {

Manager v2_manager(FakeCgroup& fake, const std::string& controllers) {
    fake.file("c/cgroup.controllers", controllers + "\n");
    nlohmann::json h = nlohmann::json::array();
    h.push_back({{"controllers", ""}, {"mountpoint", fake.dir()}, {"dir", fake.dir() + "/c"}});
    return Manager::restore({{"layout", "v2"}, {"path", "/c"}, {"hierarchies", h}});
}

}  // namespace

TEST_CASE("v2 memory, cpu, pids, io, hugetlb, unified") {
    FakeCgroup fake;
    for (auto f : {"memory.max", "memory.swap.max", "memory.low", "cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle",
                   "cpuset.cpus", "pids.max", "io.weight", "io.max", "hugetlb.2MB.max", "memory.high"})
        fake.file(std::string("c/") + f);
    Manager m = v2_manager(fake, "cpuset cpu io memory hugetlb pids");
    m.apply(parse_resources(R"({
        "memory":{"limit":1048576,"swap":3145728,"reservation":524288},
        "cpu":{"shares":1024,"quota":50000,"period":100000,"burst":1000,"idle":0,"cpus":"0"},
        "pids":{"limit":42},
        "blockIO":{"weight":500,"throttleWriteIOPSDevice":[{"major":8,"minor":0,"rate":100}]},
        "hugepageLimits":[{"pageSize":"2MB","limit":4194304}],
        "unified":{"memory.high":"2000000"}})"));
    CHECK(fake.read("c/memory.max") == "1048576");
    CHECK(fake.read("c/memory.swap.max") == "2097152");
    CHECK(fake.read("c/memory.low") == "524288");
    CHECK(fake.read("c/cpu.weight") == "39");
    CHECK(fake.read("c/cpu.max") == "50000 100000");
    CHECK(fake.read("c/cpu.max.burst") == "1000");
    CHECK(fake.read("c/cpu.idle") == "0");
    CHECK(fake.read("c/cpuset.cpus") == "0");
    CHECK(fake.read("c/pids.max") == "42");
    CHECK(fake.read("c/io.weight") == std::to_string(1 + 490 * 9999 / 990));
    CHECK(fake.read("c/io.max") == "8:0 wiops=100");
    CHECK(fake.read("c/hugetlb.2MB.max") == "4194304");
    CHECK(fake.read("c/memory.high") == "2000000");
}

TEST_CASE("v2 unlimited values and period-only updates") {
    FakeCgroup fake;
    fake.file("c/memory.max").file("c/memory.swap.max").file("c/cpu.max", "20000 100000\n").file("c/pids.max");
    Manager m = v2_manager(fake, "cpu memory pids");
    m.apply(parse_resources(R"({"memory":{"limit":-1},"pids":{"limit":-1},"cpu":{"period":50000}})"), false);
    CHECK(fake.read("c/memory.max") == "max");
    CHECK(fake.read("c/memory.swap.max") == "max");
    CHECK(fake.read("c/pids.max") == "max");
    CHECK(fake.read("c/cpu.max") == "20000 50000");
    m.apply(parse_resources(R"({"cpu":{"quota":-1}})"), false);
    CHECK(fake.read("c/cpu.max") == "max");
}

TEST_CASE("v2: controllers not enabled, and values v2 cannot take, are errors naming the field") {
    FakeCgroup fake;
    fake.file("c/memory.max").file("c/cpu.max");
    Manager m = v2_manager(fake, "memory");
    CHECK(error_of([&] { m.apply(parse_resources(R"({"cpu":{"quota":20000}})"), false); }) ==
          "linux.resources.cpu: the cpu controller is not available on this host");
    CHECK(error_of([&] { m.apply(parse_resources(R"({"memory":{"swappiness":10}})"), false); })
              .rfind("linux.resources.memory.swappiness:", 0) == 0);
    CHECK(error_of([&] { m.apply(parse_resources(R"({"network":{"classID":1}})"), false); })
              .rfind("linux.resources.network:", 0) == 0);
    CHECK(error_of([&] { m.apply(parse_resources(R"({"unified":{"io.max":"8:0 rbps=1"}})"), false); })
              .rfind("linux.resources.unified.io.max: io.max is not available on this host", 0) == 0);
}

TEST_CASE("v2 device rules: without a cgroup to attach to, only deny-all/allow-all get by") {
    FakeCgroup fake;
    Manager m = v2_manager(fake, "");
    // A fake directory takes no BPF program: a warning for the rules a missing filter honours...
    CHECK(error_of([&] { m.apply(parse_resources(R"({"devices":[{"allow":false,"access":"rwm"}]})")); }) == "");
    // ...an error naming the field for any other (without root the program does not even load).
    std::string err = error_of([&] {
        m.apply(parse_resources(R"({"devices":[{"allow":false,"type":"c","major":1,"minor":9,"access":"r"}]})"));
    });
    CHECK((err.rfind("linux.resources.devices: attach the eBPF device filter", 0) == 0 ||
           err.rfind("linux.resources.devices: load the eBPF device filter", 0) == 0));
    // An update does not touch device rules.
    CHECK(error_of([&] {
              m.apply(parse_resources(R"({"devices":[{"allow":false,"type":"c","major":1,"minor":9,"access":"r"}]})"),
                      false);
          }) == "");
}

TEST_CASE("v2 device program: the last matching rule decides, every jump stays inside") {
    auto rules = parse_resources(R"({"devices":[{"allow":false,"access":"rwm"},
        {"allow":true,"type":"c","major":1,"minor":3,"access":"rw"},{"allow":false,"type":"c","major":1,"access":"w"}]})")
                     .devices;
    auto p = v2::device_program(rules);
    // prologue 6, "a" rule 5, c 1:3 rule 8, c 1:* rule 7, default deny 2.
    CHECK(p.size() == 6 + 5 + 8 + 7 + 2);
    for (size_t i = 0; i < p.size(); ++i)
        if (BPF_CLASS(p[i].code) == BPF_JMP && BPF_OP(p[i].code) != BPF_EXIT)
            CHECK(i + 1 + static_cast<size_t>(p[i].off) < p.size());
    CHECK(p.back().code == (BPF_JMP | BPF_EXIT));
    // The c 1:* deny, last in the list, is tested first.
    CHECK(p[6].imm == BPF_DEVCG_DEV_CHAR);
    CHECK(p[7].imm == 1);
    CHECK(p[8].code == (BPF_ALU64 | BPF_MOV | BPF_X));
}

namespace {

// Runs a child in cgroup2 directory `dir` that opens each path; returns which opened (bit i).
int opens_in(const std::string& dir, const std::vector<std::pair<const char*, int>>& paths) {
    pid_t pid = ::fork();
    if (pid == 0) {
        FILE* f = std::fopen((dir + "/cgroup.procs").c_str(), "w");
        if (!f || std::fprintf(f, "%d", ::getpid()) < 0 || std::fclose(f) != 0) ::_exit(255);
        int mask = 0;
        for (size_t i = 0; i < paths.size(); ++i) {
            int fd = ::open(paths[i].first, paths[i].second | O_CLOEXEC);
            if (fd >= 0) mask |= 1 << i;
            else if (errno != EPERM) ::_exit(254);
        }
        ::_exit(mask);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("v2 device filter in a real cgroup2 directory denies what the rules do not allow") {
    std::string mount = detect_layout() == Layout::V2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
    if (::geteuid() != 0 || detect_layout() == Layout::V1 || ::access("/dev/kmsg", F_OK) != 0) {
        MESSAGE("skipped: needs root, a cgroup2 mount and /dev/kmsg");
        return;
    }
    std::string dir = mount + "/husk-unit-" + std::to_string(::getpid());
    REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
    struct RemoveDir {
        std::string d;
        ~RemoveDir() { ::rmdir(d.c_str()); }
    } remove_dir{dir};
    std::vector<std::pair<const char*, int>> paths = {{"/dev/null", O_RDWR}, {"/dev/kmsg", O_RDONLY}};
    // runc's defaults allow /dev/null; /dev/kmsg (c 1:11) is not among them.
    std::string e = error_of([&] { v2::apply_devices({}, dir); });
    CHECK(e == "");
    CHECK(opens_in(dir, paths) == 0b01);
    ::rmdir(dir.c_str());
    REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
    v2::apply_devices(parse_resources(R"({"devices":[{"allow":true,"type":"c","major":1,"minor":11,"access":"r"}]})").devices,
                      dir);
    CHECK(opens_in(dir, paths) == 0b11);
    ::rmdir(dir.c_str());
}

TEST_CASE("v2 stats") {
    FakeCgroup fake;
    fake.file("c/memory.current", "4096\n")
        .file("c/memory.max", "max\n")
        .file("c/memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n")
        .file("c/memory.stat", "anon 100\nfile 300\n")
        .file("c/cpu.stat", "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 3\nnr_throttled 1\nthrottled_usec 2\n")
        .file("c/pids.current", "3\n")
        .file("c/pids.max", "10\n")
        .file("c/io.stat", "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n");
    Manager m = v2_manager(fake, "cpu memory pids io");
    auto s = m.stats();
    CHECK(s["memory"]["usage"]["usage"] == 4096);
    CHECK(s["memory"]["usage"]["failcnt"] == 4);
    CHECK(s["memory"]["cache"] == 300);
    CHECK(s["cpu"]["usage"]["total"] == 10000);
    CHECK(s["cpu"]["usage"]["user"] == 6000);
    CHECK(s["cpu"]["throttling"]["throttled_time"] == 2000);
    CHECK(s["pids"] == nlohmann::json({{"current", 3}, {"limit", 10}}));
    CHECK(s["blkio"]["ioServiceBytesRecursive"][0] ==
          nlohmann::json({{"major", 8}, {"minor", 0}, {"op", "Read"}, {"value", 1}}));
    CHECK(s["blkio"]["ioServicedRecursive"][1]["value"] == 4);
}
