#include "manager.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "controller.hpp"
#include "tree.hpp"

namespace husk::cgroups {

std::vector<pid_t> Manager::pids() const {
    std::vector<pid_t> out;
    const Hierarchy* h = layout_ == Layout::V2 ? find("") : find("pids");
    if (!h && !hierarchies_.empty()) h = &hierarchies_.front();
    if (!h) return out;
    read_pids(h->dir, out);
    // And those of cgroups the container made inside its own (runc counts them too).
    std::vector<std::string> below;
    subdirs_deepest_first(h->dir, below);
    for (const auto& d : below) read_pids(d, out);
    return out;
}

void Manager::signal_all(int sig) const {
    if (sig == SIGKILL && layout_ == Layout::V2) {
        const Hierarchy* h = find("");
        if (h && has(h->dir, "cgroup.kill")) {
            // The cgroup may be removed meanwhile (systemd removes an emptied scope's): open or
            // write then fail with ENOENT, and there is nothing left to kill.
            std::string path = h->dir + "/cgroup.kill";
            UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
            if (fd && ::write(fd.get(), "1", 1) == 1) return;
            if (errno == ENOENT) return;
            throw_errno("kill --all: write \"1\" to " + path);
        }
    }
    for (pid_t p : pids()) ::kill(p, sig);
}

}  // namespace husk::cgroups
