// Checks done before create (capabilities, scheduling, memory policy, LSM, intelRdt) and the
// list parsers behind execCPUAffinity and memoryPolicy.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/statfs.h>

#include <algorithm>
#include <linux/magic.h>

#include "spec/config.hpp"
#include "common/error.hpp"
#include "runtime/container/lsm.hpp"
#include "runtime/container/procfs.hpp"
#include "runtime/container/scheduling.hpp"
#include "runtime/container/security.hpp"

using namespace husk;

namespace {

std::string validate_error(const std::string& process_extra, const std::string& linux = "{}") {
    try {
        auto c = spec::parse_config(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/")" +
                                    process_extra + "},\"linux\":" + linux + "}");
        security::validate(c);
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("capability names") {
    CHECK(validate_error(R"(,"capabilities":{"bounding":["CAP_KILL","CAP_CHOWN"],"ambient":["CAP_KILL"]})") == "");
    CHECK(validate_error(R"(,"capabilities":{"permitted":["CAP_KILL","KILL"]})") ==
          "process.capabilities.permitted[1]: \"KILL\" is not a capability");
    CHECK(validate_error(R"(,"capabilities":{"bounding":["CAP_NOT_REAL"]})").find("bounding[0]") != std::string::npos);
    auto caps = security::known_capabilities();
    CHECK(caps.front() == "CAP_CHOWN");
    CHECK(std::find(caps.begin(), caps.end(), "CAP_SYS_ADMIN") != caps.end());
}

TEST_CASE("cpu lists") {
    cpu_set_t s = scheduling::parse_cpu_list("0-2,5", "f");
    CHECK(CPU_COUNT(&s) == 4);
    CHECK(CPU_ISSET(5, &s));
    CHECK_FALSE(CPU_ISSET(3, &s));
    CHECK_THROWS_WITH_AS(scheduling::parse_cpu_list("3-1", "process.execCPUAffinity.final"),
                         "process.execCPUAffinity.final: invalid list \"3-1\" (expected e.g. 0-3,7)", Error);
    CHECK_THROWS_AS(scheduling::parse_cpu_list("1,,2", "f"), Error);
    CHECK_THROWS_AS(scheduling::parse_cpu_list("99999", "f"), Error);
}

TEST_CASE("node masks") {
    auto m = scheduling::parse_node_mask("0,2-3,64", "f");
    CHECK(m[0] == 0b1101UL);
    CHECK(m[1] == 1UL);
    CHECK_THROWS_AS(scheduling::parse_node_mask("a", "f"), Error);
}

TEST_CASE("scheduling and memory policy checks name the field") {
    CHECK(validate_error(R"(,"scheduler":{"policy":"SCHED_BATCH","nice":30})") ==
          "process.scheduler.nice: must be between -20 and 19");
    CHECK(validate_error(R"(,"scheduler":{"policy":"SCHED_OTHER","flags":["SCHED_FLAG_SOMETIMES"]})")
              .find("process.scheduler.flags[0]") == 0);
    CHECK(validate_error("", R"({"memoryPolicy":{"mode":"MPOL_BIND"}})") ==
          "linux.memoryPolicy.nodes: is required for MPOL_BIND");
    CHECK(validate_error("", R"({"memoryPolicy":{"mode":"MPOL_LOCAL","nodes":"0"}})") ==
          "linux.memoryPolicy.nodes: must be empty for MPOL_LOCAL");
    CHECK(validate_error("", R"({"memoryPolicy":{"mode":"MPOL_BIND","nodes":"0","flags":["MPOL_F_X"]}})")
              .find("linux.memoryPolicy.flags[0]") == 0);
    CHECK(validate_error("", R"({"memoryPolicy":{"mode":"MPOL_INTERLEAVE","nodes":"0-1","flags":["MPOL_F_STATIC_NODES"]}})") == "");
}

TEST_CASE("net devices need a new network namespace") {
    CHECK(validate_error("", R"({"netDevices":{"lo":{"name":"lo2"}}})").find("linux.netDevices") == 0);
    CHECK(validate_error("", R"({"namespaces":[{"type":"network"}],"netDevices":{"lo":{"name":"a/b"}}})") ==
          "linux.netDevices.lo.name: invalid interface name \"a/b\"");
}

TEST_CASE("LSM settings on a host without them") {
    if (!lsm::selinux_enabled())
        CHECK(validate_error(R"(,"selinuxLabel":"system_u:system_r:container_t:s0")").find("process.selinuxLabel") == 0);
    if (!lsm::apparmor_enabled()) CHECK(validate_error(R"(,"apparmorProfile":"x")") == "");
}

TEST_CASE("files under /proc are opened on a procfs, never outside it") {
    UniqueFd proc = procfs::root();
    REQUIRE(proc);
    UniqueFd fd = procfs::open(proc.get(), "thread-self/attr/current", O_RDONLY);
    REQUIRE(fd);
    struct statfs sfs;
    REQUIRE(::fstatfs(fd.get(), &sfs) == 0);
    CHECK(sfs.f_type == PROC_SUPER_MAGIC);
    CHECK_THROWS_AS(procfs::open(proc.get(), "../../../etc/passwd", O_RDONLY), Error);
    CHECK_THROWS_AS(procfs::open(proc.get(), "/etc/passwd", O_RDONLY), Error);
    // A magic link out of procfs is not followed.
    CHECK_THROWS_AS(procfs::open(proc.get(), "self/cwd/x", O_RDONLY), Error);
}
