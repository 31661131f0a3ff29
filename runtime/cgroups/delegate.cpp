// Delegation of a cgroup v2 directory to the root of a container's user namespace (as runc
// does): the directory and the files the kernel lists in /sys/kernel/cgroup/delegate.
#include <fcntl.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/unique_fd.hpp"
#include "controller.hpp"
#include "manager.hpp"
#include "tree.hpp"

namespace husk::cgroups {

void Manager::delegate_to(uid_t uid, gid_t gid) const {
    const Hierarchy* h = layout_ == Layout::V2 ? find("") : nullptr;
    if (!h) return;
    std::string listed;
    std::vector<std::string> files = {"cgroup.procs", "cgroup.threads", "cgroup.subtree_control"};
    if (fs::try_read_file("/sys/kernel/cgroup/delegate", listed)) files = split(trim(listed), '\n');
    UniqueFd dir(::open(h->dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) throw_errno("delegate cgroup " + h->dir);
    if (::fchownat(dir.get(), "", uid, gid, AT_EMPTY_PATH) != 0) throw_errno("chown " + h->dir);
    for (const auto& f : files) {
        if (f.empty()) continue;
        // A file this kernel's controllers do not give the directory (memory.reclaim ...).
        if (::fchownat(dir.get(), f.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0 && errno != ENOENT)
            throw_errno("chown " + h->dir + "/" + f);
    }
}

}  // namespace husk::cgroups
