// The order of the steps that decide what a container process can reach, recorded through the
// sys::Syscalls seam without root: the root switch (rootfs::enter), then the user switch,
// capabilities, no_new_privs, seccomp and the exec (process::launch, init's and exec's tail).
#include <doctest/doctest.h>

#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/container/process.hpp"
#include "runtime/container/rootfs.hpp"
#include "runtime/container/syscalls.hpp"

using namespace husk;

namespace {

// Does nothing and says so: every call succeeds and is written down as one line.
struct Recorder : sys::Syscalls {
    std::vector<std::string> calls;
    int add(std::string s) {
        calls.push_back(std::move(s));
        return 0;
    }
    int mount(const char* source, const char* target, const char*, unsigned long flags, const void*) override {
        std::string what = flags & MS_MOVE ? "move" : flags & MS_PRIVATE ? "private" : flags & MS_SLAVE ? "slave" : "other";
        return add(std::string("mount ") + what + " " + (source ? source : "-") + " " + target);
    }
    int umount2(const char* target, int flags) override {
        return add(std::string("umount ") + target + (flags & MNT_DETACH ? " detach" : ""));
    }
    int pivot_root(const char* n, const char* o) override { return add(std::string("pivot_root ") + n + " " + o); }
    int chroot(const char* path) override { return add(std::string("chroot ") + path); }
    int chdir(const char* path) override { return add(std::string("chdir ") + path); }
    int fchdir(int) override { return add("fchdir"); }
    int setgroups(const std::vector<gid_t>& g) override { return add("setgroups " + std::to_string(g.size())); }
    int setresgid(gid_t gid) override { return add("setgid " + std::to_string(gid)); }
    int setresuid(uid_t uid) override { return add("setuid " + std::to_string(uid)); }
    int prctl(int option, unsigned long arg2, unsigned long) override {
        switch (option) {
            case PR_SET_KEEPCAPS: return add("keepcaps " + std::to_string(arg2));
            case PR_CAPBSET_DROP: return add("bounding drop");
            case PR_CAP_AMBIENT: return add("ambient");
            case PR_SET_NO_NEW_PRIVS: return add("no_new_privs");
        }
        return add("prctl " + std::to_string(option));
    }
    int capset(uint64_t effective, uint64_t permitted, uint64_t) override {
        return add("capset " + std::to_string(effective) + " " + std::to_string(permitted));
    }
    int close_range_cloexec(unsigned) override { return add("cloexec"); }
    UniqueFd load_seccomp(const spec::Seccomp&) override {
        add("seccomp");
        return UniqueFd();
    }
    int exec(const exec_stub::Stub&, const std::string& path, const std::vector<std::string>&,
             const std::vector<std::string>&, const exec_stub::Handoff&) override {
        add("exec " + path);
        return ENOEXEC;  // launch returns only on failure: report one
    }
    // Where the first call that starts with `prefix` stands, or calls.size() when none does.
    size_t at(const std::string& prefix) const {
        for (size_t i = 0; i < calls.size(); ++i)
            if (calls[i].rfind(prefix, 0) == 0) return i;
        return calls.size();
    }
    bool has(const std::string& prefix) const { return at(prefix) < calls.size(); }
};

spec::Process user_process(bool no_new_privs) {
    spec::Process p;
    p.args = {"/bin/sh"};
    p.cwd = "/";
    p.user.uid = 1000;
    p.user.gid = 1000;
    p.no_new_privileges = no_new_privs;
    spec::Capabilities caps;
    caps.bounding = caps.effective = caps.permitted = {"CAP_NET_BIND_SERVICE"};
    p.capabilities = caps;
    return p;
}

// Runs launch against the recorder; it ends with the (recorded, failed) exec.
std::vector<std::string> launch_calls(Recorder& rec, const spec::Process& p, const spec::Linux* linux,
                                      bool* before_exec_ran = nullptr) {
    sys::Override use(rec);
    exec_stub::Stub stub;
    process::Launch l;
    l.linux = linux;
    l.stub = &stub;
    l.before_exec = [&] {
        rec.add("before_exec");
        if (before_exec_ran) *before_exec_ran = true;
    };
    CHECK_THROWS_AS(process::launch(p, l), Error);
    return rec.calls;
}

}  // namespace

TEST_CASE("pivot_root: into the rootfs, the old root detached through its own fd, then /") {
    Recorder rec;
    {
        sys::Override use(rec);
        rootfs::enter(-1, rootfs::Entry::PivotRoot, "/unused");
    }
    CHECK(rec.calls == std::vector<std::string>{"fchdir", "pivot_root . .", "fchdir", "mount slave - .",
                                                "umount . detach", "chdir /"});
    CHECK_FALSE(rec.has("chroot"));
}

TEST_CASE("without pivot_root: / made private before the rootfs moves onto it, then chroot") {
    Recorder rec;
    {
        sys::Override use(rec);
        rootfs::enter(-1, rootfs::Entry::Chroot, "/unused");
    }
    CHECK(rec.calls == std::vector<std::string>{"fchdir", "chroot .", "chdir /"});
    // MoveRoot also hides the host's procfs and sysfs (real mounts): its order is checked by
    // the integration tests (--no-pivot); here only that nothing else precedes the switch.
}

TEST_CASE("launch: bounding set before the user switch, capabilities after it, the exec last") {
    Recorder rec;
    spec::Process p = user_process(false);
    bool ran = false;
    auto calls = launch_calls(rec, p, nullptr, &ran);
    CHECK(ran);
    REQUIRE(rec.has("setuid 1000"));
    CHECK(rec.at("keepcaps 1") < rec.at("setuid 1000"));
    CHECK(rec.at("bounding drop") < rec.at("setuid 1000"));
    CHECK(rec.at("setgroups") < rec.at("setgid 1000"));
    CHECK(rec.at("setgid 1000") < rec.at("setuid 1000"));
    CHECK(rec.at("setuid 1000") < rec.at("capset"));
    CHECK(rec.at("capset") < rec.at("keepcaps 0"));
    // Only CAP_NET_BIND_SERVICE (10) is kept in the effective and permitted sets.
    CHECK(calls[rec.at("capset")] == "capset 1024 1024");
    // fds are marked close-on-exec before the cwd is entered (CVE-2024-21626).
    CHECK(rec.at("cloexec") < rec.at("chdir /"));
    CHECK(rec.at("before_exec") < rec.at("exec /bin/sh"));
    CHECK(calls.back() == "exec /bin/sh");
    CHECK_FALSE(rec.has("no_new_privs"));
    CHECK_FALSE(rec.has("seccomp"));
}

TEST_CASE("launch with noNewPrivileges: no_new_privs, then seccomp, after the user switch, before the wait") {
    Recorder rec;
    spec::Process p = user_process(true);
    spec::Linux linux;
    linux.seccomp = spec::Seccomp{};
    linux.seccomp->default_action = "SCMP_ACT_ALLOW";
    launch_calls(rec, p, &linux);
    CHECK(rec.at("capset") < rec.at("no_new_privs"));
    CHECK(rec.at("no_new_privs") < rec.at("seccomp"));
    // The filter is loaded before init waits for `start` (before_exec) and before the exec.
    CHECK(rec.at("seccomp") < rec.at("before_exec"));
    CHECK(rec.at("before_exec") < rec.at("exec /bin/sh"));
}

TEST_CASE("launch without noNewPrivileges: seccomp goes in while husk still holds CAP_SYS_ADMIN") {
    Recorder rec;
    spec::Process p = user_process(false);
    spec::Linux linux;
    linux.seccomp = spec::Seccomp{};
    linux.seccomp->default_action = "SCMP_ACT_ALLOW";
    launch_calls(rec, p, &linux);
    REQUIRE(rec.has("seccomp"));
    CHECK(rec.at("seccomp") < rec.at("setuid 1000"));
    CHECK(rec.at("seccomp") < rec.at("capset"));
    CHECK_FALSE(rec.has("no_new_privs"));
}
