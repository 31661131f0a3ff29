// common/cgroupfs and common/oom: the readers runtime and shim share, against fake cgroup files.
#include <doctest/doctest.h>

#include <limits>

#include "cgroups_fake_tree.hpp"
#include "common/cgroupfs.hpp"
#include "common/oom.hpp"

using namespace husk;

TEST_CASE("cgroupfs: one number, with \"max\" as the caller's protocol says") {
    FakeCgroup fake;
    fake.file("c/memory.max", "max\n").file("c/pids.current", "7\n").file("c/empty", "");
    std::string d = fake.dir() + "/c";
    CHECK(cgroupfs::read_u64(d, "pids.current") == 7);
    CHECK(cgroupfs::read_u64(d, "memory.max") == std::numeric_limits<uint64_t>::max());
    CHECK(cgroupfs::read_u64(d + "/memory.max", 0) == 0);  // containerd's v1 stats say 0
    CHECK(cgroupfs::read_u64(d, "missing") == 0);
    CHECK(cgroupfs::read_u64(d, "empty") == 0);
    CHECK(cgroupfs::read(d, "pids.current") == "7");
    CHECK_FALSE(cgroupfs::read(d, "missing"));
}

TEST_CASE("cgroupfs: keyed files") {
    FakeCgroup fake;
    fake.file("c/memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\n");
    auto m = cgroupfs::read_keyed(fake.dir() + "/c", "memory.events");
    CHECK(m.size() == 5);
    CHECK(m["max"] == 4);
    CHECK(m["oom_kill"] == 1);
    CHECK(cgroupfs::read_keyed(fake.dir() + "/c", "missing").empty());
}

TEST_CASE("cgroupfs: /proc/<pid>/cgroup of v1, hybrid and v2 hosts") {
    auto hybrid = cgroupfs::parse_proc_cgroup("9:name=systemd:/a\n2:cpu,cpuacct:/b\n1:memory:/c\n0::/d\n");
    REQUIRE(hybrid.size() == 4);
    CHECK(hybrid[0].hierarchy == 9);
    CHECK(hybrid[0].controllers_text == "name=systemd");
    CHECK(hybrid[1].has("cpuacct"));
    CHECK_FALSE(hybrid[1].has("cpu,cpuacct"));
    CHECK(hybrid[1].path == "/b");
    CHECK(hybrid[3].controllers.empty());
    CHECK(hybrid[3].path == "/d");
    auto v2 = cgroupfs::parse_proc_cgroup("0::/system.slice/x.scope\n");
    REQUIRE(v2.size() == 1);
    CHECK(v2[0].path == "/system.slice/x.scope");
    // A path may hold a colon; a malformed line is passed over.
    auto odd = cgroupfs::parse_proc_cgroup("garbage\n0::/a:b\n");
    REQUIRE(odd.size() == 1);
    CHECK(odd[0].path == "/a:b");
    CHECK_FALSE(cgroupfs::cgroups_of(0).empty());
}

TEST_CASE("OomNotifier counts oom_kill on cgroup v2, as containerd and runc do") {
    FakeCgroup fake;
    fake.file("c/memory.events", "oom 1\noom_kill 1\n");
    OomNotifier n(fake.dir() + "/c", true);
    REQUIRE(n.fd() >= 0);
    CHECK_FALSE(n.consume());  // nothing new since it started
    fake.file("c/memory.events", "oom 3\noom_kill 1\n");
    CHECK_FALSE(n.consume());  // an OOM that killed nothing
    fake.file("c/memory.events", "oom 4\noom_kill 2\n");
    CHECK(n.consume());
    CHECK_FALSE(n.gone());
}
