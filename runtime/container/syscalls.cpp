#include "syscalls.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp.hpp"

namespace husk::sys {
namespace {

Syscalls kernel;
Syscalls* active = &kernel;

}  // namespace

int Syscalls::mount(const char* source, const char* target, const char* type, unsigned long flags, const void* data) {
    return ::mount(source, target, type, flags, data);
}
int Syscalls::umount2(const char* target, int flags) { return ::umount2(target, flags); }
int Syscalls::pivot_root(const char* new_root, const char* put_old) {
    return static_cast<int>(::syscall(SYS_pivot_root, new_root, put_old));
}
int Syscalls::chroot(const char* path) { return ::chroot(path); }
int Syscalls::chdir(const char* path) { return ::chdir(path); }
int Syscalls::fchdir(int fd) { return ::fchdir(fd); }
int Syscalls::setgroups(const std::vector<gid_t>& groups) { return ::setgroups(groups.size(), groups.data()); }
int Syscalls::setresgid(gid_t gid) { return ::setresgid(gid, gid, gid); }
int Syscalls::setresuid(uid_t uid) { return ::setresuid(uid, uid, uid); }
int Syscalls::prctl(int option, unsigned long arg2, unsigned long arg3) { return ::prctl(option, arg2, arg3, 0, 0); }

// capset with the 64-bit (version 3) layout. A direct syscall rather than libcap-ng's apply,
// which rereads /proc/self/status several times per container (~80 us in setup).
int Syscalls::capset(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct d[2];
    for (int i = 0; i < 2; ++i)
        d[i] = {static_cast<uint32_t>(effective >> (32 * i)), static_cast<uint32_t>(permitted >> (32 * i)),
                static_cast<uint32_t>(inheritable >> (32 * i))};
    return static_cast<int>(::syscall(SYS_capset, &hdr, d));
}

int Syscalls::close_range_cloexec(unsigned first) {
    return static_cast<int>(::syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC));
}

UniqueFd Syscalls::load_seccomp(const spec::Seccomp& profile) { return seccomp::load(profile); }

int Syscalls::exec(const exec_stub::Stub& stub, const std::string& path, const std::vector<std::string>& argv,
                   const std::vector<std::string>& env, const exec_stub::Handoff& handoff) {
    return exec_stub::exec(stub, path, argv, env, handoff);
}

Syscalls& current() { return *active; }

Override::Override(Syscalls& fake) : previous_(active) { active = &fake; }
Override::~Override() { active = previous_; }

}  // namespace husk::sys
