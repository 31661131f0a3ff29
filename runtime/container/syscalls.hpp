// The system calls that decide what a container process can reach, behind one interface: the
// root switch (mount, pivot_root, chroot, chdir), the user and capability changes, no_new_privs,
// the seccomp filter and the exec. Init and exec make them through current(), which is the
// kernel unless a unit test put a recording fake in its place (tests/unit/init_order_test.cpp),
// so the order of these steps is tested without root. Other calls go to the kernel directly.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"
#include "exec_stub.hpp"
#include "spec/config.hpp"

namespace husk::sys {

class Syscalls {
public:
    virtual ~Syscalls() = default;
    // Each returns what the system call returns (-1 with errno set on failure).
    virtual int mount(const char* source, const char* target, const char* type, unsigned long flags, const void* data);
    virtual int umount2(const char* target, int flags);
    virtual int pivot_root(const char* new_root, const char* put_old);
    virtual int chroot(const char* path);
    virtual int chdir(const char* path);
    virtual int fchdir(int fd);
    virtual int setgroups(const std::vector<gid_t>& groups);
    virtual int setresgid(gid_t gid);
    virtual int setresuid(uid_t uid);
    virtual int prctl(int option, unsigned long arg2, unsigned long arg3);
    virtual int capset(uint64_t effective, uint64_t permitted, uint64_t inheritable);
    virtual int close_range_cloexec(unsigned first);
    // seccomp::load: the listener fd for a profile with NOTIFY rules; throws on failure.
    virtual UniqueFd load_seccomp(const spec::Seccomp& profile);
    // exec_stub::exec: returns only on failure, with the errno.
    virtual int exec(const exec_stub::Stub& stub, const std::string& path, const std::vector<std::string>& argv,
                     const std::vector<std::string>& env, const exec_stub::Handoff& handoff);
};

Syscalls& current();

// Routes current() to `fake` while it lives (tests only).
class Override {
public:
    explicit Override(Syscalls& fake);
    ~Override();
    Override(const Override&) = delete;
    Override& operator=(const Override&) = delete;

private:
    Syscalls* previous_;
};

}  // namespace husk::sys
