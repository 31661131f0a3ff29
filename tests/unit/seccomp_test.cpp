// linux.seccomp checks before create, the listener message, and what `features` reports.
#include <doctest/doctest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "spec/config.hpp"
#include "common/error.hpp"
#include "runtime/container/seccomp.hpp"

using namespace husk;

namespace {

spec::Seccomp profile(const std::string& json) {
    auto c = spec::parse_config(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/"},
        "linux":{"seccomp":)" + json + "}}");
    return *c.linux->seccomp;
}

std::string validate_error(const std::string& json) {
    try {
        seccomp::validate(profile(json));
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST_CASE("a profile with every action, operator and repeated argument indexes validates") {
    CHECK(validate_error(R"({"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,
        "architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"flags":["SECCOMP_FILTER_FLAG_LOG"],
        "syscalls":[
          {"names":["read","write"],"action":"SCMP_ACT_ALLOW"},
          {"names":["kill"],"action":"SCMP_ACT_ALLOW","args":[
             {"index":1,"value":0,"op":"SCMP_CMP_EQ"},{"index":1,"value":15,"op":"SCMP_CMP_EQ"}]},
          {"names":["personality"],"action":"SCMP_ACT_LOG","args":[{"index":0,"value":255,"valueTwo":8,"op":"SCMP_CMP_MASKED_EQ"}]},
          {"names":["mkdir"],"action":"SCMP_ACT_TRAP"},
          {"names":["rmdir"],"action":"SCMP_ACT_KILL_PROCESS"},
          {"names":["unlink"],"action":"SCMP_ACT_TRACE","errnoRet":1},
          {"names":["getpid"],"action":"SCMP_ACT_ERRNO"},
          {"names":["not_a_syscall_at_all"],"action":"SCMP_ACT_ALLOW"}]})") == "");
}

TEST_CASE("bad profiles name the field") {
    CHECK(validate_error(R"({"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_VAX"]})")
              .find("linux.seccomp.architectures[0]: unknown architecture") == 0);
    CHECK(validate_error(R"({"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_TSYNC","NOPE"]})")
              .find("linux.seccomp.flags[1]: unknown seccomp flag") == 0);
    CHECK(validate_error(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kill"],"action":"SCMP_ACT_NOTIFY"}],
        "listenerPath":"/nonexistent/agent.sock"})")
              .find("linux.seccomp.listenerPath: failed to connect with seccomp agent specified in the seccomp "
                    "profile: /nonexistent/agent.sock") == 0);
    CHECK(validate_error(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read","write"],"action":"SCMP_ACT_NOTIFY"}],
        "listenerPath":"/nonexistent/agent.sock"})") ==
          "linux.seccomp.syscalls[0]: SCMP_ACT_NOTIFY cannot be used for the write syscall");
    CHECK(validate_error(R"({"defaultAction":"SCMP_ACT_NOTIFY","listenerPath":"/nonexistent/agent.sock"})") ==
          "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be used as the default action");
    CHECK(validate_error(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kill"],"action":"SCMP_ACT_NOTIFY"}],
        "listenerPath":"/proc/self/status"})")
              .find("is not a socket") != std::string::npos);
}

TEST_CASE("an errno for an action that returns none is refused") {
    CHECK(validate_error(R"({"defaultAction":"SCMP_ACT_ALLOW","defaultErrnoRet":1})") ==
          "linux.seccomp.defaultErrnoRet: SCMP_ACT_ALLOW returns no errno");
    CHECK(validate_error(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kill"],"action":"SCMP_ACT_KILL","errnoRet":3}]})") ==
          "linux.seccomp.syscalls[0].errnoRet: SCMP_ACT_KILL returns no errno");
}

TEST_CASE("flags this libseccomp cannot set are refused, not dropped") {
    auto supported = seccomp::supported_flags();
    if (!contains(supported, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")) {
        CHECK(validate_error(R"({"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]})")
                  .find("linux.seccomp.flags[0]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported") == 0);
    }
}

TEST_CASE("the listener gets the runtime-spec ContainerProcessState") {
    auto s = profile(R"({"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/a.sock","listenerMetadata":"meta",
        "syscalls":[{"names":["kill"],"action":"SCMP_ACT_NOTIFY"}]})");
    auto m = nlohmann::json::parse(seccomp::process_state_message(s, 4242, R"({"ociVersion":"1.3.0","id":"x","status":"creating","pid":4242})"));
    CHECK(m["ociVersion"] == spec::kSpecVersion);
    CHECK(m["fds"] == nlohmann::json::array({"seccompFd"}));
    CHECK(m["pid"] == 4242);
    CHECK(m["metadata"] == "meta");
    CHECK(m["state"]["id"] == "x");
    CHECK(m["state"]["status"] == "creating");
}

TEST_CASE("features lists what this build knows") {
    CHECK(contains(seccomp::supported_operators(), "SCMP_CMP_MASKED_EQ"));
    CHECK(seccomp::supported_operators().size() == 7);
    CHECK(contains(seccomp::supported_architectures(), "SCMP_ARCH_X86_64"));
    CHECK(contains(seccomp::supported_actions(), "SCMP_ACT_ERRNO"));
    CHECK(contains(seccomp::supported_actions(), "SCMP_ACT_ALLOW"));
}
