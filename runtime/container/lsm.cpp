#include "lsm.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "procfs.hpp"

namespace husk::lsm {
namespace {

constexpr long kSelinuxMagic = 0xf97cff8c;

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

std::vector<std::pair<UniqueFd, std::string>> exec_labels(const spec::Process& p) {
    std::vector<std::pair<UniqueFd, std::string>> out;
    bool apparmor = !p.apparmor_profile.empty() && apparmor_enabled();
    if (!apparmor && p.selinux_label.empty()) return out;
    UniqueFd proc = procfs::root();
    if (apparmor) {
        std::string name = fs::exists("/proc/thread-self/attr/apparmor/exec") ? "attr/apparmor/exec" : "attr/exec";
        out.emplace_back(procfs::open(proc.get(), "thread-self/" + name, O_WRONLY), "exec " + p.apparmor_profile);
    }
    if (!p.selinux_label.empty())
        out.emplace_back(procfs::open(proc.get(), "thread-self/attr/exec", O_WRONLY), p.selinux_label);
    return out;
}

}  // namespace husk::lsm
