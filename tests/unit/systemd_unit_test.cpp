// The systemd driver's pure parts: linux.cgroupsPath as slice:prefix:name (unit, slice, cgroup),
// linux.resources and annotations as unit properties, device rules as DeviceAllow.
#include <doctest/doctest.h>

#include <limits>

#include "runtime/cgroups/systemd/properties.hpp"
#include "runtime/cgroups/systemd/unit_name.hpp"
#include "spec/config.hpp"

using namespace husk::cgroups::systemd;
using husk::dbus::Value;
using husk::spec::parse_resources;

namespace {

constexpr uint64_t kInf = std::numeric_limits<uint64_t>::max();

const Value* find(const Properties& p, const std::string& name) {
    const Value* found = nullptr;
    for (const auto& [n, v] : p)
        if (n == name) found = &v;
    return found;
}

uint64_t u(const Properties& p, const std::string& name) {
    const Value* v = find(p, name);
    REQUIRE_MESSAGE(v, name);
    return v->as_uint();
}

std::vector<std::pair<std::string, std::string>> allow_list(const Properties& p) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& e : find(p, "DeviceAllow")->items()) out.emplace_back(e.items()[0].str(), e.items()[1].str());
    return out;
}

const char* kProcDevices =
    "Character devices:\n  1 mem\n  4 tty\n  5 /dev/tty\n136 pts\n226 drm\n\nBlock devices:\n  8 sd\n259 blkext\n";

}  // namespace

TEST_CASE("systemd: slice names expand by their dashes") {
    CHECK(expand_slice("system.slice", "f") == "/system.slice");
    CHECK(expand_slice("a-b.slice", "f") == "/a.slice/a-b.slice");
    CHECK(expand_slice("a-b-c.slice", "f") == "/a.slice/a-b.slice/a-b-c.slice");
    CHECK(expand_slice("-.slice", "f") == "/");
    CHECK_THROWS_WITH(expand_slice("a/b.slice", "linux.cgroupsPath"),
                      "linux.cgroupsPath: slice \"a/b.slice\" must not contain \"/\"");
    CHECK_THROWS_WITH(expand_slice("foo", "f"), doctest::Contains("must end in \".slice\""));
    for (const char* bad : {"a--b.slice", "-a.slice", "a-.slice", ".slice"})
        CHECK_THROWS_WITH(expand_slice(bad, "f"), doctest::Contains("is not a valid slice name"));
}

TEST_CASE("systemd: cgroupsPath slice:prefix:name") {
    UnitName n = parse_cgroups_path("system.slice:docker:abc", "id", false);
    CHECK(n.slice == "system.slice");
    CHECK(n.unit == "docker-abc.scope");
    CHECK(n.cgroup == "/system.slice/docker-abc.scope");
    CHECK_FALSE(n.is_slice());

    // Kubernetes' pod slices.
    n = parse_cgroups_path("kubepods-besteffort-pod12.slice:cri-containerd:c1", "c1", false);
    CHECK(n.unit == "cri-containerd-c1.scope");
    CHECK(n.cgroup == "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/cri-containerd-c1.scope");

    // Empty: ":husk:<id>" in system.slice, user.slice when rootless.
    n = parse_cgroups_path("", "ctr1", false);
    CHECK(n.unit == "husk-ctr1.scope");
    CHECK(n.cgroup == "/system.slice/husk-ctr1.scope");
    CHECK(parse_cgroups_path("", "ctr1", true).cgroup == "/user.slice/husk-ctr1.scope");
    CHECK(parse_cgroups_path(":p:n", "x", false).slice == "system.slice");

    // "-" is the root slice; no prefix is no dash.
    n = parse_cgroups_path("-::n", "x", false);
    CHECK(n.slice == "-.slice");
    CHECK(n.unit == "n.scope");
    CHECK(n.cgroup == "/n.scope");

    // A name that is a slice makes a slice unit, placed by its own name.
    n = parse_cgroups_path("a.slice::a-b.slice", "x", false);
    CHECK(n.is_slice());
    CHECK(n.unit == "a-b.slice");
    CHECK(n.cgroup == "/a.slice/a-b.slice");
    CHECK(parse_cgroups_path(":x:top.slice", "x", false).cgroup == "/top.slice");
    CHECK(parse_cgroups_path(":x:top.slice", "x", false).slice == "-.slice");
    CHECK_THROWS_WITH(parse_cgroups_path("b.slice::a-b.slice", "x", false),
                      "linux.cgroupsPath: slice \"a-b.slice\" belongs to \"a.slice\", not \"b.slice\"");
}

TEST_CASE("systemd: malformed cgroupsPath is an error naming the field") {
    for (const char* bad : {"/a/b", "a:b", "a:b:c:d", "system.slice"})
        CHECK_THROWS_WITH(parse_cgroups_path(bad, "x", false),
                          doctest::Contains("is not \"slice:prefix:name\", as the systemd cgroup driver needs"));
    CHECK_THROWS_WITH(parse_cgroups_path("system.slice:p:", "x", false), doctest::Contains("has an empty name"));
    CHECK_THROWS_WITH(parse_cgroups_path("a/b.slice:p:n", "x", false),
                      "linux.cgroupsPath: slice \"a/b.slice\" must not contain \"/\"");
    CHECK_THROWS_WITH(parse_cgroups_path("a:p:n", "x", false),
                      "linux.cgroupsPath: slice \"a\" must end in \".slice\"");
    CHECK_THROWS_WITH(parse_cgroups_path("system.slice:p:a/b", "x", false), doctest::Contains("must not contain \"/\""));
    CHECK_THROWS_WITH(parse_cgroups_path("system.slice:p:a b", "x", false),
                      doctest::Contains("unit \"p-a b.scope\" has a character systemd does not allow"));
    CHECK_THROWS_WITH(parse_cgroups_path("system.slice:p:" + std::string(300, 'n'), "x", false),
                      doctest::Contains("longer than 255"));
}

TEST_CASE("systemd: v2 resource properties") {
    Host host{true, 252, kProcDevices};
    auto p = resource_properties(parse_resources(R"({
        "memory":{"limit":1048576,"reservation":524288,"swap":3145728},
        "cpu":{"shares":1024,"quota":50000,"period":100000,"cpus":"0-2,9","mems":"0"},
        "pids":{"limit":10},"blockIO":{"weight":500}})"),
                                 host, false);
    CHECK(u(p, "MemoryMax") == 1048576);
    CHECK(u(p, "MemoryLow") == 524288);
    CHECK(u(p, "MemorySwapMax") == 2097152);  // memory+swap minus memory
    CHECK(u(p, "CPUWeight") == 39);
    CHECK(u(p, "CPUQuotaPerSecUSec") == 500000);
    CHECK(u(p, "CPUQuotaPeriodUSec") == 100000);
    CHECK(u(p, "TasksMax") == 10);
    const Value* cpus = find(p, "AllowedCPUs");
    REQUIRE(cpus);
    CHECK(cpus->signature() == "ay");
    REQUIRE(cpus->items().size() == 2);
    CHECK(cpus->items()[0].as_uint() == 0x07);
    CHECK(cpus->items()[1].as_uint() == 0x02);
    CHECK(find(p, "AllowedMemoryNodes")->items()[0].as_uint() == 1);
    // v1 names are not used on v2, and no device rules on an update.
    CHECK_FALSE(find(p, "MemoryLimit"));
    CHECK_FALSE(find(p, "CPUShares"));
    CHECK_FALSE(find(p, "BlockIOWeight"));
    CHECK_FALSE(find(p, "DevicePolicy"));
}

TEST_CASE("systemd: v1 resource properties") {
    Host host{false, 252, kProcDevices};
    auto p = resource_properties(
        parse_resources(R"({"memory":{"limit":-1},"cpu":{"shares":512},"pids":{"limit":-1},"blockIO":{"weight":300}})"),
        host, false);
    CHECK(u(p, "MemoryLimit") == kInf);
    CHECK(u(p, "CPUShares") == 512);
    CHECK(u(p, "BlockIOWeight") == 300);
    CHECK(u(p, "TasksMax") == kInf);
    CHECK_FALSE(find(p, "MemoryMax"));
    CHECK_FALSE(find(p, "CPUWeight"));
}

TEST_CASE("systemd: cpu quota rounds up to 10 ms per second; period needs systemd 242") {
    auto quota = [](const char* json, unsigned version = 252) {
        return resource_properties(parse_resources(json), Host{true, version, ""}, false);
    };
    CHECK(u(quota(R"({"cpu":{"quota":5000,"period":100000}})"), "CPUQuotaPerSecUSec") == 50000);
    CHECK(u(quota(R"({"cpu":{"quota":1234,"period":100000}})"), "CPUQuotaPerSecUSec") == 20000);  // 12340 up
    CHECK(u(quota(R"({"cpu":{"quota":10000}})"), "CPUQuotaPerSecUSec") == 100000);  // default period 100 ms
    CHECK(u(quota(R"({"cpu":{"quota":-1}})"), "CPUQuotaPerSecUSec") == kInf);
    auto period_only = quota(R"({"cpu":{"period":50000}})");
    CHECK(u(period_only, "CPUQuotaPeriodUSec") == 50000);
    CHECK(u(period_only, "CPUQuotaPerSecUSec") == kInf);
    CHECK_FALSE(find(quota(R"({"cpu":{"period":50000}})", 239), "CPUQuotaPeriodUSec"));
    CHECK_FALSE(find(quota(R"({"cpu":{"cpus":"1"}})", 243), "AllowedCPUs"));
    CHECK_FALSE(find(quota(R"({"cpu":{"shares":0}})"), "CPUWeight"));
    CHECK(needs_version(parse_resources(R"({"cpu":{"period":1000}})")));
    CHECK(needs_version(parse_resources(R"({"cpu":{"cpus":"0"}})")));
    CHECK_FALSE(needs_version(parse_resources(R"({"cpu":{"quota":1000},"memory":{"limit":100}})")));
}

TEST_CASE("systemd: TasksMax 0 is 1; unified keys systemd knows") {
    auto p = resource_properties(parse_resources(R"({"pids":{"limit":0}})"), Host{true, 252, ""}, false);
    CHECK(u(p, "TasksMax") == 1);
    p = resource_properties(parse_resources(R"({"unified":{"memory.high":"5000000","memory.max":"max",
        "pids.max":"7","cpu.max":"25000 50000","io.weight":"50","memory.min":"junk"}})"),
                            Host{true, 252, ""}, false);
    CHECK(u(p, "MemoryHigh") == 5000000);
    CHECK(u(p, "MemoryMax") == kInf);
    CHECK(u(p, "TasksMax") == 7);
    CHECK(u(p, "CPUQuotaPerSecUSec") == 500000);
    CHECK(u(p, "CPUQuotaPeriodUSec") == 50000);
    CHECK_FALSE(find(p, "MemoryMin"));  // not a number: the cgroupfs step reports it
    // On v1 hosts there are no unified keys to map.
    CHECK(resource_properties(parse_resources(R"({"unified":{"memory.high":"1"}})"), Host{false, 252, ""}, false).empty());
}

TEST_CASE("systemd: device rules as DevicePolicy and DeviceAllow") {
    // A config's usual rules: deny all, then a few; runc's defaults come after them.
    auto p = resource_properties(parse_resources(R"({"devices":[{"allow":false,"access":"rwm"},
        {"allow":true,"type":"c","major":226,"access":"rw"},{"allow":true,"type":"b","major":8,"minor":0,"access":"r"}]})"),
                                 Host{true, 252, kProcDevices}, true);
    CHECK(find(p, "DevicePolicy")->str() == "strict");
    auto list = allow_list(p);
    using E = std::pair<std::string, std::string>;
    CHECK(list == std::vector<E>{{"char-drm", "rw"},
                                 {"/dev/block/8:0", "r"},
                                 {"char-*", "m"},
                                 {"block-*", "m"},
                                 {"/dev/char/1:3", "rwm"},
                                 {"/dev/char/1:8", "rwm"},
                                 {"/dev/char/1:7", "rwm"},
                                 {"/dev/char/5:0", "rwm"},
                                 {"/dev/char/1:5", "rwm"},
                                 {"/dev/char/1:9", "rwm"},
                                 {"char-pts", "rwm"},
                                 {"/dev/char/5:2", "rwm"},
                                 {"/dev/char/10:200", "rwm"}});

    // A later deny takes access off an earlier allow of the same device.
    p = device_properties(parse_resources(R"({"devices":[{"allow":true,"type":"c","major":4,"minor":1,"access":"rwm"},
        {"allow":false,"type":"c","major":4,"minor":1,"access":"w"}]})").devices,
                          kProcDevices);
    CHECK(allow_list(p)[0] == E{"/dev/char/4:1", "rm"});

    // Allow-all: systemd allows every char and block device.
    p = device_properties(parse_resources(R"({"devices":[{"allow":true,"access":"rwm"}]})").devices, kProcDevices);
    CHECK(find(p, "DevicePolicy")->str() == "auto");
    CHECK(allow_list(p) == std::vector<E>{{"char-*", "rwm"}, {"block-*", "rwm"}});

    // Allow-all then a deny: no deny list in systemd; it denies all, husk's cgroup rules apply.
    // (A deny of a device the defaults allow again is no deny at all.)
    p = device_properties(
        parse_resources(R"({"devices":[{"allow":true,"access":"rwm"},{"allow":false,"type":"c","major":1,"minor":3,"access":"rwm"}]})")
            .devices,
        kProcDevices);
    CHECK(find(p, "DevicePolicy")->str() == "auto");
    p = device_properties(
        parse_resources(R"({"devices":[{"allow":true,"access":"rwm"},{"allow":false,"type":"c","major":4,"minor":1,"access":"rwm"}]})")
            .devices,
        kProcDevices);
    CHECK(find(p, "DevicePolicy")->str() == "strict");
    CHECK(allow_list(p).empty());

    // A major /proc/devices does not know is left to the cgroupfs rules.
    p = device_properties(parse_resources(R"({"devices":[{"allow":true,"type":"c","major":999,"access":"r"}]})").devices,
                          kProcDevices);
    for (const auto& e : allow_list(p)) CHECK(e.first.find("999") == std::string::npos);
}

TEST_CASE("systemd: org.systemd.property annotations") {
    auto p = annotation_properties({{"org.systemd.property.TimeoutStopUSec", "uint64 123456789"},
                                    {"org.systemd.property.CollectMode", "'inactive-or-failed'"},
                                    {"org.systemd.property.RuntimeMaxSec", "5"},
                                    {"org.systemd.property.After", "['a.service', \"b.service\"]"},
                                    {"org.systemd.property.CPUQuotaPerSecUSec", "@t 20000"},
                                    {"com.example.other", "x"}});
    CHECK(p.size() == 5);
    CHECK(u(p, "TimeoutStopUSec") == 123456789);
    CHECK(find(p, "CollectMode")->str() == "inactive-or-failed");
    CHECK(u(p, "RuntimeMaxUSec") == 5000000);  // ...Sec in seconds becomes ...USec
    CHECK_FALSE(find(p, "RuntimeMaxSec"));
    CHECK(find(p, "After")->signature() == "as");
    CHECK(find(p, "After")->items()[1].str() == "b.service");
    CHECK(u(p, "CPUQuotaPerSecUSec") == 20000);

    CHECK_THROWS_WITH(annotation_properties({{"org.systemd.property.bad-name", "1"}}),
                      doctest::Contains("annotations.org.systemd.property.bad-name: \"bad-name\" is not a systemd property name"));
    CHECK_THROWS_WITH(annotation_properties({{"org.systemd.property.X", "'unterminated"}}),
                      doctest::Contains("annotations.org.systemd.property.X: cannot parse"));
    CHECK_THROWS_WITH(annotation_properties({{"org.systemd.property.TimeoutSec", "'x'"}}),
                      doctest::Contains("takes a number of seconds"));
}

TEST_CASE("systemd: GVariant text values") {
    CHECK(parse_gvariant("true", "f") == Value::boolean(true));
    CHECK(parse_gvariant("42", "f") == Value::int32(42));
    CHECK(parse_gvariant("-7", "f") == Value::int32(-7));
    CHECK(parse_gvariant("1.5", "f") == Value::dbl(1.5));
    CHECK(parse_gvariant("uint32 7", "f") == Value::uint32(7));
    CHECK(parse_gvariant("int64 -9", "f") == Value::int64(-9));
    CHECK(parse_gvariant("byte 0x10", "f") == Value::byte(16));
    CHECK(parse_gvariant("\"s p\"", "f") == Value::string("s p"));
    CHECK(parse_gvariant("objectpath '/a'", "f") == Value::object_path("/a"));
    CHECK(parse_gvariant("@as []", "f") == Value::array("s"));
    CHECK(parse_gvariant("[uint64 1, 2]", "f") == Value::array("t", {Value::uint64(1), Value::uint64(2)}));
    CHECK_THROWS(parse_gvariant("[]", "f"));
    CHECK_THROWS(parse_gvariant("uint64 -1", "f"));
    CHECK_THROWS(parse_gvariant("byte 300", "f"));
    CHECK_THROWS(parse_gvariant("[1, 'a']", "f"));
    CHECK_THROWS(parse_gvariant("true false", "f"));
    CHECK_THROWS(parse_gvariant("nonsense", "f"));
}

TEST_CASE("systemd: cpu and node lists as masks") {
    CHECK(id_list_mask("0", "f") == std::vector<uint8_t>{1});
    CHECK(id_list_mask("1,3-4,8", "f") == std::vector<uint8_t>{0x1a, 0x01});
    CHECK_THROWS_WITH(id_list_mask("1-", "linux.resources.cpu.cpus"), "linux.resources.cpu.cpus: invalid list \"1-\"");
}

TEST_CASE("systemd: properties as a(sv)") {
    Value v = to_dbus({{"Delegate", Value::boolean(true)}, {"PIDs", Value::array("u", {Value::uint32(5)})}});
    CHECK(v.signature() == "a(sv)");
    CHECK(v.items()[1].items()[0].str() == "PIDs");
    CHECK(v.items()[1].items()[1].items()[0].signature() == "au");
}
