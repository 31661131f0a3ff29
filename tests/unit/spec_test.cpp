// config.json parsing and validation: typed fields, defaults, and errors that name the path.
#include <doctest/doctest.h>

#include "spec/config.hpp"

using husk::spec::InvalidConfig;
using husk::spec::parse_config;

namespace {

std::string with_linux(const std::string& linux) {
    return R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/"},"linux":)" + linux +
           "}";
}

std::string error_of(const std::string& text) {
    try {
        parse_config(text);
    } catch (const InvalidConfig& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("a minimal config parses with defaults") {
    auto c = parse_config(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/"}})");
    CHECK(c.root.path == "rootfs");
    CHECK_FALSE(c.root.readonly);
    REQUIRE(c.process);
    CHECK(c.process->args == std::vector<std::string>{"sh"});
    CHECK(c.process->user.uid == 0);
    CHECK_FALSE(c.process->terminal);
    CHECK_FALSE(c.linux);
}

TEST_CASE("every process field is read") {
    auto c = parse_config(R"({"ociVersion":"1.0.2","root":{"path":"r","readonly":true},
      "process":{"terminal":true,"consoleSize":{"height":24,"width":80},"user":{"uid":1000,"gid":100,"umask":18,
      "additionalGids":[5,6]},"args":["a","b"],"env":["A=1"],"cwd":"/tmp","noNewPrivileges":true,"oomScoreAdj":-500,
      "rlimits":[{"type":"RLIMIT_NOFILE","soft":10,"hard":20}],
      "capabilities":{"bounding":["CAP_KILL"],"ambient":["CAP_CHOWN"]}}})");
    const auto& p = *c.process;
    CHECK(c.root.readonly);
    CHECK(p.terminal);
    CHECK(p.console_size->width == 80);
    CHECK(p.user.uid == 1000);
    CHECK(p.user.umask.value() == 18);
    CHECK(p.user.additional_gids == std::vector<uint32_t>{5, 6});
    CHECK(p.cwd == "/tmp");
    CHECK(p.no_new_privileges);
    CHECK(*p.oom_score_adj == -500);
    CHECK(p.rlimits.at(0).hard == 20);
    CHECK(p.capabilities->bounding == std::vector<std::string>{"CAP_KILL"});
    CHECK(p.capabilities->ambient == std::vector<std::string>{"CAP_CHOWN"});
}

TEST_CASE("unknown fields are ignored") {
    auto c = parse_config(
        R"({"ociVersion":"1.0.2","future":{"x":1},"root":{"path":"r","new":true},"process":{"args":["sh"],"cwd":"/","zz":1}})");
    CHECK(c.root.path == "r");
}

TEST_CASE("errors name the JSON path and the problem") {
    CHECK(error_of(with_linux(R"({"namespaces":[{"type":"pid"},{"type":"mount"},{"type":"foo"}]})")) ==
          "linux.namespaces[2].type: unknown namespace \"foo\"");
    CHECK(error_of(R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":"sh","cwd":"/"}})") ==
          "process.args: expected an array of strings, got a string");
    CHECK(error_of(R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["sh"],"cwd":"tmp"}})") ==
          "process.cwd: must be an absolute path, got \"tmp\"");
    CHECK(error_of(R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":[],"cwd":"/"}})") ==
          "process.args: is required and must not be empty");
    CHECK(error_of(R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["sh"],"cwd":"/","user":{"uid":-1}}})") ==
          "process.user.uid: must not be negative, got -1");
    CHECK(error_of(R"({"ociVersion":"1.0.2"})") == "root: is required");
    CHECK(error_of("{not json").rfind("config.json is not valid JSON", 0) == 0);
    CHECK(error_of(R"({"root":{"path":"r"}})") == "ociVersion: is required");
}

TEST_CASE("namespace rules") {
    CHECK(error_of(with_linux(R"({"namespaces":[{"type":"pid"},{"type":"pid"}]})")) ==
          "linux.namespaces[1].type: duplicate namespace \"pid\"");
    CHECK(error_of(with_linux(R"({"namespaces":[{"type":"user"}]})")) ==
          "linux.uidMappings: a new user namespace needs both uidMappings and gidMappings");
    CHECK(error_of(with_linux(R"({"uidMappings":[{"containerID":0,"hostID":1000,"size":1}]})")) ==
          "linux.uidMappings: mappings are set but there is no user namespace");
    auto c = parse_config(with_linux(
        R"({"namespaces":[{"type":"user"},{"type":"network","path":"/proc/1/ns/net"}],
           "uidMappings":[{"containerID":0,"hostID":1000,"size":10}],"gidMappings":[{"containerID":0,"hostID":1000,"size":10}]})"));
    CHECK(c.linux->find_namespace("network")->path == "/proc/1/ns/net");
    CHECK(c.linux->uid_mappings.at(0).size == 10);
    CHECK(c.linux->find_namespace("pid") == nullptr);
}

TEST_CASE("rlimits, devices, hooks and seccomp are checked") {
    CHECK(error_of(R"({"ociVersion":"1","root":{"path":"r"},"process":{"args":["a"],"cwd":"/","rlimits":[{"type":"RLIMIT_FOO","soft":1,"hard":1}]}})") ==
          "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"");
    CHECK(error_of(with_linux(R"({"devices":[{"type":"x","path":"/dev/a","major":1,"minor":1}]})")) ==
          "linux.devices[0].type: unknown device type \"x\"");
    CHECK(error_of(R"({"ociVersion":"1","root":{"path":"r"},"hooks":{"prestart":[{"path":"rel"}]}})") ==
          "hooks.prestart[0].path: must be an absolute path, got \"rel\"");
    CHECK(error_of(with_linux(R"({"seccomp":{"defaultAction":"SCMP_ACT_NOPE"}})")) ==
          "linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_NOPE\"");
    CHECK(error_of(with_linux(
              R"({"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}})")) ==
          "linux.seccomp.syscalls[0].args[0].index: must be between 0 and 5, got 6");
    CHECK(error_of(with_linux(R"({"resources":{"devices":[{"allow":true,"access":"xa"}]}})")) ==
          "linux.resources.devices[0].access: must be a combination of r, w and m, got \"xa\"");
}

TEST_CASE("hostname needs a uts namespace") {
    CHECK(error_of(R"({"ociVersion":"1","root":{"path":"r"},"hostname":"h","linux":{}})") ==
          "hostname: setting the hostname needs a new uts namespace");
}

TEST_CASE("numbers JSON cannot hold, device numbers the kernel cannot hold, names with NUL") {
    CHECK(error_of(R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["sh"],"cwd":"/",
        "rlimits":[{"type":"RLIMIT_NOFILE","soft":1e400,"hard":1}]}})") ==
          "process.rlimits[0].soft: number overflow parsing '1e400'");
    CHECK(error_of(with_linux(R"({"devices":[{"type":"c","path":"/dev/x","major":-1,"minor":0}]})")) ==
          "linux.devices[0].major: -1 is out of range (0 to 4095)");
    CHECK(error_of(with_linux(R"({"devices":[{"type":"c","path":"/dev/x","major":1,"minor":4294967296}]})")) ==
          "linux.devices[0].minor: 4294967296 is out of range (0 to 1048575)");
    std::string nul = R"({"ociVersion":"1.0.2","root":{"path":"r"},"hostname":"a\u0000b","process":{"args":["sh"],"cwd":"/"}})";
    CHECK(error_of(nul) == "hostname: must not contain a NUL character");
    std::string lng = R"({"ociVersion":"1.0.2","root":{"path":"r"},"domainname":")" + std::string(65, 'd') +
                      R"(","process":{"args":["sh"],"cwd":"/"}})";
    CHECK(error_of(lng) == "domainname: is longer than 64 bytes");
    CHECK(error_of("{\"ociVersion\": ") .rfind("config.json is not valid JSON", 0) == 0);
}

TEST_CASE("keys in another case are read as runc's Go decoder reads them") {
    auto c = husk::spec::parse_config(
        R"({"ociVersion":"1","root":{"path":"r"},"linux":{"resources":{"CPU":{"Cpus":"0","mems":"0"},)"
        R"("Pids":{"LIMIT":5}}}})");
    REQUIRE((c.linux && c.linux->resources && c.linux->resources->cpu));
    CHECK(c.linux->resources->cpu->cpus == "0");
    CHECK(c.linux->resources->cpu->mems == "0");
    CHECK(c.linux->resources->pids_limit == 5);
    // Both spellings: Go fills the field from each in document order, merging objects; husk
    // takes the spec's spelling first, then the other (as `jq '.linux.resources.CPU |= ...'`
    // leaves it).
    auto d = husk::spec::parse_config(R"({"ociVersion":"1","root":{"path":"r"},"hostname":"a","HOSTNAME":"b",)"
                                      R"("linux":{"namespaces":[{"type":"uts"}],"resources":{)"
                                      R"("cpu":{"shares":100,"cpus":"1"},"CPU":{"Cpus":"0"}}}})");
    CHECK(d.hostname == "b");
    REQUIRE((d.linux && d.linux->resources && d.linux->resources->cpu));
    CHECK(d.linux->resources->cpu->cpus == "0");
    CHECK(d.linux->resources->cpu->shares == 100u);
    // Maps keep keys that differ only in case apart.
    auto a = husk::spec::parse_config(R"({"ociVersion":"1","root":{"path":"r"},"annotations":{"A":"1","a":"2"}})");
    CHECK(a.annotations.size() == 2);
}

TEST_CASE("device access letters other than r, w and m are left out, as runc does") {
    auto c = husk::spec::parse_config(
        R"({"ociVersion":"1","root":{"path":"r"},"linux":{"resources":{"devices":[)"
        R"({"allow":false,"type":"c","major":1,"minor":11,"access":"rwa"}]}}})");
    REQUIRE((c.linux && c.linux->resources && c.linux->resources->devices.size() == 1));
    CHECK(c.linux->resources->devices[0].access == "rw");
    CHECK(c.linux->resources->devices[0].ignored_access == "a");
}
