#include "namespaces.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "procfs.hpp"

namespace husk::ns {

int clone_flag(const std::string& type) {
    if (type == "pid") return CLONE_NEWPID;
    if (type == "network") return CLONE_NEWNET;
    if (type == "mount") return CLONE_NEWNS;
    if (type == "ipc") return CLONE_NEWIPC;
    if (type == "uts") return CLONE_NEWUTS;
    if (type == "user") return CLONE_NEWUSER;
    if (type == "cgroup") return CLONE_NEWCGROUP;
    if (type == "time") return CLONE_NEWTIME;
    throw Error("unknown namespace \"" + type + "\"");
}

const char* proc_name(const std::string& type) {
    if (type == "network") return "net";
    if (type == "mount") return "mnt";
    if (type == "pid") return "pid";
    if (type == "ipc") return "ipc";
    if (type == "uts") return "uts";
    if (type == "user") return "user";
    if (type == "cgroup") return "cgroup";
    if (type == "time") return "time";
    return "?";
}

bool Plan::new_user() const { return new_flags & CLONE_NEWUSER; }

bool Plan::joined(int flag) const {
    for (auto& j : joins)
        if (j.flag == flag) return true;
    return false;
}

Plan plan(const spec::Linux* linux) {
    Plan p;
    if (!linux) return p;
    for (size_t i = 0; i < linux->namespaces.size(); ++i) {
        const auto& n = linux->namespaces[i];
        int flag = clone_flag(n.type);
        if (n.path.empty()) {
            p.new_flags |= flag;
            continue;
        }
        int fd = ::open(n.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            throw_errno("linux.namespaces[" + std::to_string(i) + "].path: open " + n.path);
        Join j{n.type, flag, UniqueFd(fd)};
        int actual = ::ioctl(fd, NS_GET_NSTYPE);
        if (actual != flag)
            throw Error("linux.namespaces[" + std::to_string(i) + "].path: " + n.path + " is not a " + n.type +
                        " namespace");
        p.joins.push_back(std::move(j));
    }
    return p;
}

std::string format_id_map(const std::vector<spec::IdMapping>& maps) {
    std::string s;
    for (auto& m : maps)
        s += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " + std::to_string(m.size) + "\n";
    return s;
}

void write_id_maps(pid_t pid, const std::vector<spec::IdMapping>& uids, const std::vector<spec::IdMapping>& gids) {
    // Through a procfs of our own, like every write under /proc (CVE-2025-52881).
    UniqueFd proc = procfs::root();
    std::string base = std::to_string(pid) + "/";
    // Without privilege the kernel takes one line mapping our own ids, and a gid_map only once
    // setgroups is denied in the namespace.
    bool privileged = ::geteuid() == 0;
    auto write = [&](const char* file, const std::string& text, const char* field) {
        try {
            procfs::write(proc.get(), base + file, text, field);
        } catch (const Error& e) {
            if (privileged) throw;
            throw Error(std::string(field) + ": without root, husk can map only its own id (" +
                        std::to_string(std::string(file) == "uid_map" ? ::geteuid() : ::getegid()) +
                        ", size 1): " + e.what());
        }
    };
    if (!uids.empty()) write("uid_map", format_id_map(uids), "linux.uidMappings");
    if (!privileged && !gids.empty()) procfs::write(proc.get(), base + "setgroups", "deny", "linux.gidMappings");
    if (!gids.empty()) write("gid_map", format_id_map(gids), "linux.gidMappings");
}

void join(const Plan& plan, bool user_only) {
    // The user namespace first: the others are owned by it, and joining it gives the rights to.
    for (auto& j : plan.joins)
        if (j.flag == CLONE_NEWUSER && user_only && ::setns(j.fd.get(), CLONE_NEWUSER) != 0)
            throw_errno("join user namespace");
    if (user_only) return;
    // Mount last: after it the host paths that other steps need are gone.
    for (int pass = 0; pass < 2; ++pass) {
        for (auto& j : plan.joins) {
            if (j.flag == CLONE_NEWUSER || j.flag == CLONE_NEWPID || j.flag == CLONE_NEWTIME) continue;
            if ((j.flag == CLONE_NEWNS) != (pass == 1)) continue;
            if (::setns(j.fd.get(), j.flag) != 0) throw_errno(std::string("join ") + j.type + " namespace");
        }
    }
}

void enter_new_time_ns(const std::map<std::string, spec::TimeOffset>& offsets) {
    if (::unshare(CLONE_NEWTIME) != 0) throw_errno("create time namespace");
    std::string text;
    for (auto& [clock, off] : offsets)
        text += clock + " " + std::to_string(off.secs) + " " + std::to_string(off.nanosecs) + "\n";
    if (!text.empty()) {
        UniqueFd proc = procfs::root();
        procfs::write(proc.get(), "self/timens_offsets", text, "linux.timeOffsets");
    }
    UniqueFd fd(::open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC));
    if (!fd || ::setns(fd.get(), CLONE_NEWTIME) != 0) throw_errno("enter time namespace");
}

}  // namespace husk::ns
