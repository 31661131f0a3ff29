// cgroup v1 controllers against a fake hierarchy per controller: what apply() writes, the
// error for a missing controller or file, device rule order, and stats from the files.
#include <doctest/doctest.h>

#include "runtime/cgroups/manager.hpp"
#include "runtime/cgroups/v1/controllers.hpp"
#include "cgroups_fake_tree.hpp"
#include "spec/config.hpp"

using namespace husk::cgroups;
using husk::spec::parse_resources;

namespace {

// A v1 manager whose hierarchies are fake/<controller>/c.
Manager v1_manager(FakeCgroup& fake, std::vector<std::string> controllers) {
    nlohmann::json h = nlohmann::json::array();
    for (auto& c : controllers)
        h.push_back({{"controllers", c}, {"mountpoint", fake.dir() + "/" + c}, {"dir", fake.sub(c + "/c")}});
    return Manager::restore({{"layout", "v1"}, {"path", "/c"}, {"hierarchies", h}});
}

}  // namespace

TEST_CASE("v1 memory: limit, swap, reservation, swappiness, OOM killer") {
    FakeCgroup fake;
    fake.file("memory/c/memory.limit_in_bytes", "9223372036854771712")
        .file("memory/c/memory.memsw.limit_in_bytes")
        .file("memory/c/memory.soft_limit_in_bytes")
        .file("memory/c/memory.swappiness")
        .file("memory/c/memory.oom_control");
    Manager m = v1_manager(fake, {"memory"});
    m.apply(parse_resources(
                R"({"memory":{"limit":1048576,"swap":2097152,"reservation":524288,"swappiness":0,"disableOOMKiller":true}})"),
            false);
    CHECK(fake.read("memory/c/memory.limit_in_bytes") == "1048576");
    CHECK(fake.read("memory/c/memory.memsw.limit_in_bytes") == "2097152");
    CHECK(fake.read("memory/c/memory.soft_limit_in_bytes") == "524288");
    CHECK(fake.read("memory/c/memory.swappiness") == "0");
    CHECK(fake.read("memory/c/memory.oom_control") == "1");
}

TEST_CASE("v1 memory: no memory limit and no word on swap lifts the memory+swap limit too (as runc)") {
    FakeCgroup fake;
    fake.file("memory/c/memory.limit_in_bytes", "33554432").file("memory/c/memory.memsw.limit_in_bytes", "96468992");
    Manager m = v1_manager(fake, {"memory"});
    m.apply(parse_resources(R"({"memory":{"limit":-1}})"), false);
    CHECK(fake.read("memory/c/memory.limit_in_bytes") == "-1");
    CHECK(fake.read("memory/c/memory.memsw.limit_in_bytes") == "-1");
    // Without swap accounting there is no memsw file to write.
    FakeCgroup bare;
    bare.file("memory/c/memory.limit_in_bytes", "33554432");
    Manager b = v1_manager(bare, {"memory"});
    b.apply(parse_resources(R"({"memory":{"limit":-1}})"), false);
    CHECK(bare.read("memory/c/memory.limit_in_bytes") == "-1");
}

TEST_CASE("v1: a missing controller or file is an error naming the field") {
    FakeCgroup fake;
    fake.file("memory/c/memory.limit_in_bytes");
    Manager m = v1_manager(fake, {"memory"});
    CHECK(error_of([&] { m.apply(parse_resources(R"({"hugepageLimits":[{"pageSize":"2MB","limit":1}]})"), false); }) ==
          "linux.resources.hugepageLimits: the hugetlb controller is not available on this host");
    CHECK(error_of([&] { m.apply(parse_resources(R"({"pids":{"limit":5}})"), false); }) ==
          "linux.resources.pids: the pids controller is not available on this host");
    std::string e = error_of([&] { m.apply(parse_resources(R"({"memory":{"limit":4096,"swap":8192}})"), false); });
    CHECK(e.rfind("linux.resources.memory.swap: memory.memsw.limit_in_bytes is not available on this host", 0) == 0);
    CHECK(error_of([&] { m.apply(parse_resources(R"({"unified":{"memory.max":"1"}})"), false); })
              .rfind("invalid configuration: linux.resources.unified: needs cgroup v2", 0) == 0);
}

TEST_CASE("v1 cpu, cpuset, pids, blkio, network") {
    FakeCgroup fake;
    for (auto f : {"cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.cfs_burst_us", "cpu.rt_period_us",
                   "cpu.rt_runtime_us", "cpu.idle"})
        fake.file(std::string("cpu/c/") + f);
    fake.file("cpuset/c/cpuset.cpus").file("cpuset/c/cpuset.mems").file("pids/c/pids.max");
    fake.file("blkio/c/blkio.bfq.weight").file("blkio/c/blkio.throttle.read_bps_device");
    fake.file("net_cls/c/net_cls.classid").file("net_prio/c/net_prio.ifpriomap");
    Manager m = v1_manager(fake, {"cpu", "cpuset", "pids", "blkio", "net_cls", "net_prio"});
    m.apply(parse_resources(R"({
        "cpu":{"shares":512,"quota":20000,"period":50000,"burst":1000,"realtimeRuntime":900,"realtimePeriod":1000,
               "cpus":"0-1","mems":"0","idle":1},
        "pids":{"limit":-1},
        "blockIO":{"weight":300,"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}]},
        "network":{"classID":1048577,"priorities":[{"name":"eth0","priority":5}]}})"),
            false);
    CHECK(fake.read("cpu/c/cpu.shares") == "512");
    CHECK(fake.read("cpu/c/cpu.cfs_quota_us") == "20000");
    CHECK(fake.read("cpu/c/cpu.cfs_period_us") == "50000");
    CHECK(fake.read("cpu/c/cpu.cfs_burst_us") == "1000");
    CHECK(fake.read("cpu/c/cpu.rt_period_us") == "1000");
    CHECK(fake.read("cpu/c/cpu.rt_runtime_us") == "900");
    CHECK(fake.read("cpu/c/cpu.idle") == "1");
    CHECK(fake.read("cpuset/c/cpuset.cpus") == "0-1");
    CHECK(fake.read("cpuset/c/cpuset.mems") == "0");
    CHECK(fake.read("pids/c/pids.max") == "max");
    CHECK(fake.read("blkio/c/blkio.bfq.weight") == "300");
    CHECK(fake.read("blkio/c/blkio.throttle.read_bps_device") == "8:0 1048576");
    CHECK(fake.read("net_cls/c/net_cls.classid") == "1048577");
    CHECK(fake.read("net_prio/c/net_prio.ifpriomap") == "eth0 5");
}

TEST_CASE("v1 device rules: deny all, the spec's rules in order, then runc's defaults") {
    auto r = parse_resources(R"({"devices":[{"allow":false,"access":"rwm"},
        {"allow":true,"type":"c","major":10,"minor":229,"access":"rw"},{"allow":false,"type":"b","major":8,"access":"m"}]})");
    auto w = v1::device_writes(r.devices);
    REQUIRE(w.size() == 4 + 11);
    CHECK(w[0] == std::pair<std::string, std::string>{"devices.deny", "a"});
    CHECK(w[1] == std::pair<std::string, std::string>{"devices.deny", "a"});
    CHECK(w[2] == std::pair<std::string, std::string>{"devices.allow", "c 10:229 rw"});
    CHECK(w[3] == std::pair<std::string, std::string>{"devices.deny", "b 8:* m"});
    CHECK(w[4] == std::pair<std::string, std::string>{"devices.allow", "c *:* m"});
    CHECK(w.back() == std::pair<std::string, std::string>{"devices.allow", "c 10:200 rwm"});
    bool null_allowed = false;
    for (auto& [f, l] : w) null_allowed |= f == "devices.allow" && l == "c 1:3 rwm";
    CHECK(null_allowed);
}

TEST_CASE("v1 devices are set on create, not on update") {
    FakeCgroup fake;
    fake.file("devices/c/devices.allow").file("devices/c/devices.deny");
    Manager m = v1_manager(fake, {"devices"});
    m.apply(parse_resources(R"({})"), false);
    CHECK(fake.read("devices/c/devices.allow").empty());
    m.apply(parse_resources(R"({})"), true);
    // One write(2) per rule on one open file: a plain file holds them end to end.
    std::string allow = fake.read("devices/c/devices.allow");
    CHECK(allow.rfind("c *:* m", 0) == 0);
    CHECK(allow.size() > 12);
    CHECK(allow.substr(allow.size() - 12) == "c 10:200 rwm");  // the last default written
    CHECK(fake.read("devices/c/devices.deny") == "a");
}

TEST_CASE("v1 stats read the controllers' files in runc's shape") {
    FakeCgroup fake;
    fake.file("memory/c/memory.usage_in_bytes", "4096\n")
        .file("memory/c/memory.max_usage_in_bytes", "8192\n")
        .file("memory/c/memory.failcnt", "3\n")
        .file("memory/c/memory.limit_in_bytes", "1048576\n")
        .file("memory/c/memory.stat", "cache 100\nrss 200\n")
        .file("pids/c/pids.current", "2\n")
        .file("pids/c/pids.max", "max\n")
        .file("cpuacct/c/cpuacct.usage", "5000\n")
        .file("cpuacct/c/cpuacct.usage_percpu", "3000 2000 \n")
        .file("cpu/c/cpu.stat", "nr_periods 7\nnr_throttled 2\nthrottled_time 99\n")
        .file("blkio/c/blkio.throttle.io_service_bytes_recursive", "8:0 Read 10\n8:0 Write 20\nTotal 30\n");
    Manager m = v1_manager(fake, {"memory", "pids", "cpuacct", "cpu", "blkio"});
    auto s = m.stats();
    CHECK(s["memory"]["usage"]["usage"] == 4096);
    CHECK(s["memory"]["usage"]["max"] == 8192);
    CHECK(s["memory"]["usage"]["failcnt"] == 3);
    CHECK(s["memory"]["usage"]["limit"] == 1048576);
    CHECK(s["memory"]["cache"] == 100);
    CHECK(s["memory"]["raw"]["rss"] == 200);
    CHECK(s["pids"]["current"] == 2);
    CHECK(s["pids"]["limit"] == 0);
    CHECK(s["cpu"]["usage"]["total"] == 5000);
    CHECK(s["cpu"]["usage"]["percpu"] == nlohmann::json({3000, 2000}));
    CHECK(s["cpu"]["throttling"]["throttled_periods"] == 2);
    REQUIRE(s["blkio"]["ioServiceBytesRecursive"].size() == 2);
    CHECK(s["blkio"]["ioServiceBytesRecursive"][1] == nlohmann::json({{"major", 8}, {"minor", 0}, {"op", "Write"}, {"value", 20}}));
}

TEST_CASE("create refuses a cgroup with processes and removes what it made when a mkdir fails") {
    FakeCgroup fake;
    fake.file("pids/c/cgroup.procs", "4242\n");
    nlohmann::json busy = nlohmann::json::array(
        {{{"controllers", "memory"}, {"mountpoint", fake.dir() + "/memory"}, {"dir", fake.dir() + "/memory/c"}},
         {{"controllers", "pids"}, {"mountpoint", fake.dir() + "/pids"}, {"dir", fake.dir() + "/pids/c"}}});
    Manager m = Manager::restore({{"layout", "v1"}, {"path", "/c"}, {"hierarchies", busy}});
    std::string busy_error =
        "container's cgroup is not empty: " + fake.dir() + "/pids/c or a cgroup below it has processes";
    CHECK_THROWS_WITH(m.create(), doctest::Contains(busy_error.c_str()));
    CHECK_FALSE(std::filesystem::exists(fake.dir() + "/memory/c"));  // checked before any mkdir

    // Processes only in a cgroup below (a systemd slice's are in its services' cgroups).
    FakeCgroup slice;
    slice.file("pids/c/cgroup.procs", "").file("pids/c/svc.service/cgroup.procs", "77\n");
    nlohmann::json below = nlohmann::json::array(
        {{{"controllers", "pids"}, {"mountpoint", slice.dir() + "/pids"}, {"dir", slice.dir() + "/pids/c"}}});
    Manager b = Manager::restore({{"layout", "v1"}, {"path", "/c"}, {"hierarchies", below}});
    CHECK_THROWS_WITH(b.create(), doctest::Contains("is not empty"));

    // The second hierarchy's mountpoint is a file: its mkdir fails after the first one's worked.
    fake.file("blocked", "");
    nlohmann::json half = nlohmann::json::array(
        {{{"controllers", "cpu"}, {"mountpoint", fake.dir() + "/cpu"}, {"dir", fake.dir() + "/cpu/c"}},
         {{"controllers", "freezer"}, {"mountpoint", fake.dir() + "/blocked"}, {"dir", fake.dir() + "/blocked/c"}}});
    std::filesystem::create_directories(fake.dir() + "/cpu");
    Manager h = Manager::restore({{"layout", "v1"}, {"path", "/c"}, {"hierarchies", half}});
    std::string expected = "create cgroup " + fake.dir() + "/blocked/c";
    CHECK_THROWS_WITH(h.create(), doctest::Contains(expected.c_str()));
    CHECK_FALSE(std::filesystem::exists(fake.dir() + "/cpu/c"));
}
