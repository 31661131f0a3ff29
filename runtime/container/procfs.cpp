#include "procfs.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace husk::procfs {
namespace {

void require_procfs(int fd, const std::string& what) {
    struct statfs sfs;
    if (::fstatfs(fd, &sfs) != 0) throw_errno("fstatfs " + what);
    if (sfs.f_type != PROC_SUPER_MAGIC) throw Error(what + " is not on procfs: refusing to write there");
}

}  // namespace

UniqueFd root() {
    // Ours alone: no mount of anyone's can be on it, and no bind of another file over one of
    // its files. Refused where the caller may not mount proc (a rootless husk, say).
    UniqueFd fs(::fsopen("proc", FSOPEN_CLOEXEC));
    if (fs && ::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) == 0) {
        UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV));
        if (mnt) return mnt;
    }
    UniqueFd proc(::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!proc) throw_errno("open /proc");
    require_procfs(proc.get(), "/proc");
    return proc;
}

UniqueFd open(int root, const std::string& rel, int flags) {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS;
    UniqueFd fd(fs::openat2(root, rel.c_str(), how));
    if (!fd) throw_errno("open /proc/" + rel);
    require_procfs(fd.get(), "/proc/" + rel);
    return fd;
}

std::string read(int root, const std::string& rel) {
    UniqueFd fd = open(root, rel, O_RDONLY);
    std::string out;
    char buf[8192];
    ssize_t n;
    while ((n = ::read(fd.get(), buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("read /proc/" + rel);
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

void write(int root, const std::string& rel, const std::string& value, const std::string& field) {
    UniqueFd fd = open(root, rel, O_WRONLY);
    if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
        throw_errno(field + ": write /proc/" + rel);
}

}  // namespace husk::procfs
