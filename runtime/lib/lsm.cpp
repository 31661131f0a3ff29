#include "lsm.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.hpp"
#include "fs.hpp"
#include "log.hpp"

namespace husk::lsm {
namespace {

constexpr long kSelinuxMagic = 0xf97cff8c;

void require_procfs(int fd, const std::string& what) {
    struct statfs sfs;
    if (::fstatfs(fd, &sfs) != 0) throw_errno("fstatfs " + what);
    if (sfs.f_type != PROC_SUPER_MAGIC) throw Error(what + " is not on procfs: refusing to write a security label");
}

}  // namespace

bool apparmor_enabled() {
    std::string v;
    return fs::try_read_file("/sys/module/apparmor/parameters/enabled", v) && !v.empty() && v[0] == 'Y';
}

bool selinux_enabled() {
    struct statfs sfs;
    return ::statfs("/sys/fs/selinux", &sfs) == 0 && sfs.f_type == kSelinuxMagic;
}

void validate(const spec::Config& c) {
    if (!c.process) return;
    if (!c.process->selinux_label.empty() && !selinux_enabled())
        throw Error("process.selinuxLabel: is set but SELinux is not enabled on this host");
    if (!c.process->apparmor_profile.empty() && !apparmor_enabled())
        log::debug("process.apparmorProfile: AppArmor is not enabled on this host, profile \"" +
                   c.process->apparmor_profile + "\" ignored");
    // linux.mountLabel only ever adds a context= mount option, meaningless without SELinux.
}

UniqueFd open_proc_attr(const std::string& name) {
    UniqueFd proc(::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!proc) throw_errno("open /proc");
    require_procfs(proc.get(), "/proc");
    open_how how{};
    how.flags = O_WRONLY | O_CLOEXEC | O_NOFOLLOW;
    // thread-self is a plain symlink inside procfs; NO_XDEV refuses any mount on the way.
    how.resolve = RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS;
    std::string path = "thread-self/" + name;
    UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, proc.get(), path.c_str(), &how, sizeof how)));
    if (!fd) throw_errno("open /proc/" + path);
    require_procfs(fd.get(), "/proc/" + path);
    return fd;
}

std::vector<std::pair<UniqueFd, std::string>> exec_labels(const spec::Process& p) {
    std::vector<std::pair<UniqueFd, std::string>> out;
    if (!p.apparmor_profile.empty() && apparmor_enabled()) {
        std::string name = fs::exists("/proc/thread-self/attr/apparmor/exec") ? "attr/apparmor/exec" : "attr/exec";
        out.emplace_back(open_proc_attr(name), "exec " + p.apparmor_profile);
    }
    if (!p.selinux_label.empty()) out.emplace_back(open_proc_attr("attr/exec"), p.selinux_label);
    return out;
}

}  // namespace husk::lsm
