// Resolution inside the container rootfs (fs::open_in_root) and under /proc (procfs::open).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "runtime/container/procfs.hpp"

using namespace husk;

namespace {

// A scratch directory, removed with everything in it at the end of the test.
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/husk-fs-test-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() { (void)!::system(("rm -rf '" + path + "'").c_str()); }
};

// Renames a file back and forth until stopped: every rename on the machine makes the kernel's
// scoped lookups (RESOLVE_IN_ROOT, RESOLVE_BENEATH) that step over ".." answer EAGAIN.
struct Renamer {
    std::atomic<bool> stop{false};
    std::thread thread;
    explicit Renamer(const std::string& dir) {
        std::string a = dir + "/ping", b = dir + "/pong";
        int fd = ::open(a.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        REQUIRE(fd >= 0);
        ::close(fd);
        thread = std::thread([this, a, b] {
            while (!stop.load(std::memory_order_relaxed)) {
                (void)::rename(a.c_str(), b.c_str());
                (void)::rename(b.c_str(), a.c_str());
            }
        });
    }
    ~Renamer() {
        stop = true;
        thread.join();
    }
};

}  // namespace

TEST_CASE("open_in_root resolves through a '..' symlink while files are renamed elsewhere") {
    TempDir t;
    std::string root = t.path + "/rootfs";
    REQUIRE(::mkdir(root.c_str(), 0755) == 0);
    REQUIRE(::mkdir((root + "/etc").c_str(), 0755) == 0);
    REQUIRE(::mkdir((root + "/a").c_str(), 0755) == 0);
    REQUIRE(::mkdir((root + "/a/b").c_str(), 0755) == 0);
    int fd = ::open((root + "/etc/hosts").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    ::close(fd);
    // Each step back up is a ".." the kernel checks against concurrent renames.
    REQUIRE(::symlink("../../../../etc/hosts", (root + "/a/b/hosts").c_str()) == 0);
    UniqueFd rootfd = fs::open_dir(root);

    Renamer renamer(t.path);
    int failures = 0;
    std::string first_error;
    for (int i = 0; i < 20000; ++i) {
        try {
            UniqueFd f = fs::open_in_root(rootfd.get(), "/a/b/hosts", O_PATH, false);
        } catch (const Error& e) {
            if (failures++ == 0) first_error = e.what();
        }
    }
    INFO("first error: " << first_error);
    CHECK(failures == 0);
}

TEST_CASE("procfs::open resolves under /proc while files are renamed elsewhere") {
    TempDir t;
    UniqueFd proc = procfs::root();
    Renamer renamer(t.path);
    int failures = 0;
    std::string first_error;
    for (int i = 0; i < 20000; ++i) {
        try {
            UniqueFd f = procfs::open(proc.get(), "self/../self/status", O_RDONLY);
        } catch (const Error& e) {
            if (failures++ == 0) first_error = e.what();
        }
    }
    INFO("first error: " << first_error);
    CHECK(failures == 0);
}
