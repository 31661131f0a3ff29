// The state store in a temporary directory: create, lock, save/load, list, remove.
#include <doctest/doctest.h>
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "common/error.hpp"
#include "runtime/container/state_store.hpp"

namespace {
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/husk-unit-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};
}  // namespace

TEST_CASE("a record survives save and load") {
    TempDir t;
    auto dir = husk::ContainerDir::create(t.path, "c1");
    husk::Record r{};
    r.id = "c1";
    r.pid = 1234;
    r.pid_start = 987654321;
    r.bundle = "/b";
    r.rootfs = "/b/rootfs";
    r.created = "2026-01-01T00:00:00.000000001Z";
    r.owner = "root";
    r.annotations = {{"k", "v"}};
    r.own_pid_ns = true;
    r.cgroup = {{"path", "/husk/c1"}};
    dir.save(r);
    husk::Record l = dir.load();
    CHECK(l.pid == 1234);
    CHECK(l.pid_start == 987654321);
    CHECK(l.annotations.at("k") == "v");
    CHECK(l.own_pid_ns);
    CHECK(l.cgroup["path"] == "/husk/c1");
}

TEST_CASE("duplicates, missing containers, listing and removal") {
    TempDir t;
    {
        auto a = husk::ContainerDir::create(t.path, "a");
        a.save({});
        CHECK_THROWS_WITH_AS(husk::ContainerDir::create(t.path, "a"), "container \"a\" already exists", husk::Error);
    }
    {
        auto b = husk::ContainerDir::create(t.path, "b");
        b.save({});
    }
    CHECK(husk::ContainerDir::list(t.path) == std::vector<std::string>{"a", "b"});
    CHECK_THROWS_WITH_AS(husk::ContainerDir::open(t.path, "zz"), "container \"zz\" does not exist", husk::Error);
    auto a = husk::ContainerDir::open(t.path, "a");
    a.remove();
    CHECK(husk::ContainerDir::list(t.path) == std::vector<std::string>{"b"});
    CHECK_FALSE(std::filesystem::exists(t.path + "/a"));
}

TEST_CASE("an open container is locked against other commands") {
    TempDir t;
    auto a = husk::ContainerDir::create(t.path, "a");
    a.save({});
    int fd = ::open((t.path + "/a").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(::flock(fd, LOCK_EX | LOCK_NB) != 0);
    ::close(fd);
}

TEST_CASE("a create that died leaves a stopped, incomplete container with what it recorded") {
    TempDir t;
    {
        auto d = husk::ContainerDir::create(t.path, "half");
        husk::Record r;
        r.id = "half";
        r.rootfs = "/b/rootfs";
        r.cgroup = {{"path", "/half"}};
        d.save_intent(r);
        // Killed here: the lock goes with the process (here: the object).
    }
    CHECK(husk::ContainerDir::list(t.path) == std::vector<std::string>{"half"});
    auto d = husk::ContainerDir::open(t.path, "half");
    CHECK_FALSE(d.complete());
    husk::Record l = d.load();
    CHECK_FALSE(l.complete);
    CHECK(l.pid == 0);
    CHECK(l.rootfs == "/b/rootfs");
    CHECK(l.cgroup["path"] == "/half");
    CHECK_FALSE(l.poststop_hooks);
    CHECK_THROWS_AS(husk::ContainerDir::create(t.path, "half"), husk::AlreadyExists);
}

TEST_CASE("state.json replaces creating.json; a held container is not waited for by try_open") {
    TempDir t;
    auto d = husk::ContainerDir::create(t.path, "c");
    d.save_intent({});
    CHECK(std::filesystem::exists(t.path + "/c/creating.json"));
    CHECK_FALSE(husk::ContainerDir::try_open(t.path, "c").has_value());
    d.save({});
    CHECK_FALSE(std::filesystem::exists(t.path + "/c/creating.json"));
    CHECK(std::filesystem::exists(t.path + "/c/state.json"));
}

TEST_CASE("a directory left between mkdir and rename is no container and is cleared") {
    TempDir t;
    std::filesystem::create_directory(t.path + "/x~12345");
    std::filesystem::create_directory(t.path + "/xy~1");
    CHECK(husk::ContainerDir::list(t.path).empty());
    husk::ContainerDir::remove_stale_temporaries(t.path, "x");
    CHECK_FALSE(std::filesystem::exists(t.path + "/x~12345"));
    CHECK(std::filesystem::exists(t.path + "/xy~1"));
}
