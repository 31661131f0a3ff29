// container::validate(): the whole config checked before create makes anything. A pure
// function of the config (and the host's /proc/self/ns): these run without root and leave
// nothing behind.
#include <doctest/doctest.h>

#include <string>

#include "common/error.hpp"
#include "runtime/container/validate.hpp"
#include "spec/config.hpp"

using namespace husk;

namespace {

spec::Config config(const std::string& extra) {
    return spec::parse_config(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/"})" +
                              extra + "}");
}

}  // namespace

TEST_CASE("validate: a plain config passes") {
    CHECK_NOTHROW(container::validate(config(R"(,"linux":{"namespaces":[{"type":"mount"}]})")));
}

TEST_CASE("validate: invalid cgroup values are rejected before any cgroup exists") {
    auto c = config(R"(,"linux":{"resources":{"memory":{"limit":-5}}})");
    CHECK_THROWS_WITH_AS(container::validate(c),
                         doctest::Contains("memory.limit: must be -1 (unlimited), 0 (unset) or positive, got -5"),
                         Error);
}

TEST_CASE("validate: sysctls outside the container's namespaces are rejected") {
    CHECK_THROWS_WITH_AS(container::validate(config(R"(,"linux":{"sysctl":{"kernel.hostname":"x"}})")),
                         "linux.sysctl: \"kernel.hostname\" is not allowed: it conflicts with the hostname field",
                         Error);
    CHECK_THROWS_WITH_AS(container::validate(config(R"(,"linux":{"sysctl":{"net.ipv4.ip_forward":"1"}})")),
                         doctest::Contains("is not in a namespace of the container's own"), Error);
}

TEST_CASE("validate: only a procfs goes at /proc, and little over it") {
    CHECK_THROWS_WITH_AS(
        container::validate(config(R"(,"mounts":[{"destination":"/proc","type":"tmpfs","source":"tmpfs"}])")),
        "mount /proc: only a proc filesystem may be mounted at /proc, not \"tmpfs\"", Error);
    CHECK_THROWS_WITH_AS(
        container::validate(config(R"(,"mounts":[{"destination":"/proc/kcore","type":"bind","source":"/dev/null","options":["bind"]}])")),
        doctest::Contains("mount /proc/kcore: mounting over /proc is not allowed"), Error);
    CHECK_NOTHROW(container::validate(
        config(R"(,"mounts":[{"destination":"/proc/cpuinfo","type":"bind","source":"/x","options":["bind"]}])")));
}

TEST_CASE("validate: a process with no args is rejected") {
    auto c = config("");
    c.process->args.clear();  // the parser refuses it too; create may be handed a config built in code
    CHECK_THROWS_WITH_AS(container::validate(c), "process.args: is required and must not be empty", Error);
}
