// cgroups conversions and validation: runc's v1 -> v2 formulas, list and size syntax, and the
// errors for values no cgroup version could take.
#include <doctest/doctest.h>

#include "runtime/cgroups/convert.hpp"
#include "cgroups_fake_tree.hpp"
#include "spec/config.hpp"

using namespace husk::cgroups;
using husk::spec::parse_resources;

TEST_CASE("cpu.shares converts to cpu.weight with runc's formula") {
    CHECK(shares_to_weight(0) == 0);
    CHECK(shares_to_weight(2) == 1);
    CHECK(shares_to_weight(1024) == 39);
    CHECK(shares_to_weight(262144) == 10000);
    CHECK(shares_to_weight(512) == 1 + (510 * 9999) / 262142);
}

TEST_CASE("blkio weight converts to io.weight") {
    CHECK(blkio_to_io_weight(0) == 0);
    CHECK(blkio_to_io_weight(10) == 1);
    CHECK(blkio_to_io_weight(1000) == 10000);
    CHECK(blkio_to_io_weight(500) == 1 + 490 * 9999 / 990);
}

TEST_CASE("memory+swap converts to v2 swap alone") {
    CHECK(swap_to_v2(200, 100) == 100);
    CHECK(swap_to_v2(100, 100) == 0);
    CHECK(swap_to_v2(-1, 100) == -1);
    CHECK(swap_to_v2(0, 100) == 0);
    CHECK(swap_to_v2(0, -1) == -1);
    CHECK(error_of([] { swap_to_v2(50, 100); }).find("below the memory limit") != std::string::npos);
    CHECK(error_of([] { swap_to_v2(50, 0); }).find("without a memory limit") != std::string::npos);
}

TEST_CASE("cpu and memory node lists") {
    for (const char* ok : {"0", "0-3", "0,2,4-7", "12"}) CHECK_MESSAGE(valid_id_list(ok), ok);
    for (const char* bad : {"", "a", "0-", "-1", "3-1", "0,,1", "0,", "1 2", "0-3-4"}) CHECK_MESSAGE(!valid_id_list(bad), bad);
}

TEST_CASE("huge page sizes") {
    CHECK(valid_page_size("2MB"));
    CHECK(valid_page_size("1GB"));
    CHECK_FALSE(valid_page_size("2M"));
    CHECK_FALSE(valid_page_size("MB"));
    CHECK_FALSE(valid_page_size("2mb"));
}

TEST_CASE("validation names the field of a bad value") {
    auto err = [](const char* json) { return error_of([&] { validate(parse_resources(json)); }); };
    CHECK(err(R"({"memory":{"limit":-2}})").rfind("linux.resources.memory.limit:", 0) == 0);
    CHECK(err(R"({"memory":{"limit":-1,"swap":-1}})") == "");
    CHECK(err(R"({"memory":{"limit":200,"swap":100}})").rfind("linux.resources.memory.swap:", 0) == 0);
    CHECK(err(R"({"cpu":{"cpus":"0-x"}})").rfind("linux.resources.cpu.cpus:", 0) == 0);
    CHECK(err(R"({"cpu":{"mems":"1,"}})").rfind("linux.resources.cpu.mems:", 0) == 0);
    CHECK(err(R"({"cpu":{"shares":1}})").rfind("linux.resources.cpu.shares:", 0) == 0);
    CHECK(err(R"({"cpu":{"quota":-5}})").rfind("linux.resources.cpu.quota:", 0) == 0);
    CHECK(err(R"({"cpu":{"period":10}})").rfind("linux.resources.cpu.period:", 0) == 0);
    CHECK(err(R"({"cpu":{"idle":3}})").rfind("linux.resources.cpu.idle:", 0) == 0);
    CHECK(err(R"({"pids":{"limit":-7}})").rfind("linux.resources.pids.limit:", 0) == 0);
    CHECK(err(R"({"blockIO":{"weight":5}})").rfind("linux.resources.blockIO.weight:", 0) == 0);
    CHECK(err(R"({"hugepageLimits":[{"pageSize":"2M","limit":1}]})").rfind("linux.resources.hugepageLimits[0].pageSize:", 0) == 0);
    CHECK(err(R"({"unified":{"../memory.max":"1"}})").rfind("linux.resources.unified.../memory.max:", 0) == 0);
    CHECK(err(R"({"unified":{"cgroup.procs":"1"}})").rfind("linux.resources.unified.cgroup.procs:", 0) == 0);
    CHECK(err(R"({"devices":[{"allow":true,"type":"c","major":-3,"access":"r"}]})").rfind("linux.resources.devices[0]:", 0) == 0);
}

TEST_CASE("bad device rule type or access is refused when parsed") {
    CHECK(error_of([] { parse_resources(R"({"devices":[{"allow":true,"type":"x"}]})"); }).find("devices[0].type") !=
          std::string::npos);
    CHECK(error_of([] { parse_resources(R"({"devices":[{"allow":true,"type":"c","access":"x"}]})"); })
              .find("devices[0].access") != std::string::npos);
}

TEST_CASE("device rule text") {
    auto rules = parse_resources(R"({"devices":[{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"},
        {"allow":true,"type":"c","major":1,"access":"rw"},{"allow":true,"type":"c","major":-1,"minor":-1,"access":"m"},
        {"allow":false,"type":"a","access":"rwm"}]})")
                     .devices;
    CHECK(device_rule_text(rules[0]) == "c 1:3 rw");
    CHECK(device_rule_text(rules[1]) == "c 1:* rw");
    CHECK(device_rule_text(rules[2]) == "c *:* m");
    CHECK(device_rule_text(rules[3]) == "a");
}
