#include "exec.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "runtime/cgroups/controller.hpp"
#include "runtime/cgroups/manager.hpp"
#include "console.hpp"
#include "container.hpp"
#include "common/error.hpp"
#include "exec_stub.hpp"
#include "handle.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "namespaces.hpp"
#include "process.hpp"
#include "common/proc.hpp"
#include "scheduling.hpp"
#include "seccomp.hpp"
#include "security.hpp"
#include "state_store.hpp"
#include "sync.hpp"
#include "common/unix_socket.hpp"

namespace husk::exec {
namespace {

spec::Config saved_config(const ContainerDir& dir) {
    return spec::parse_config(fs::read_file(dir.file("config.json")));
}

constexpr const char* kSync = "sync with the exec process";

// The namespaces of the container's init that differ from ours (setns into our own user
// namespace is an error, and into any other of ours pointless).
int namespaces_to_join(pid_t pid) {
    int flags = 0;
    for (const char* type : {"user", "mount", "pid", "network", "ipc", "uts", "cgroup", "time"}) {
        std::string name = ns::proc_name(type);
        struct stat theirs, ours;
        if (::stat(("/proc/" + std::to_string(pid) + "/ns/" + name).c_str(), &theirs) != 0) continue;
        if (::stat(("/proc/self/ns/" + name).c_str(), &ours) != 0) continue;
        if (theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev) flags |= ns::clone_flag(type);
    }
    return flags;
}

// --cgroup, as runc's: "[ctrl[,ctrl]:]path", repeated; a path without controllers is for every
// hierarchy no other entry names. Checked before anything is made: only cgroups below the
// container's that exist, and controllers the container has.
std::vector<std::string> cgroup_dirs(const cgroups::Manager& cg, const std::vector<std::string>& subs) {
    std::string any;                          // the path for hierarchies not named
    std::map<std::string, std::string> named;  // controller -> path
    auto controllers_of = [](const std::string& list) { return cgroups::split(list, ','); };
    for (const auto& sub : subs) {
        std::string path = sub;
        std::vector<std::string> ctrls;
        if (size_t colon = sub.find(':'); colon != std::string::npos) {
            ctrls = controllers_of(sub.substr(0, colon));
            path = sub.substr(colon + 1);
        }
        // A ".." anywhere could climb out (the lexical clean below would resolve "a/../.." to
        // the container's parent).
        for (size_t pos = 0; pos <= path.size();) {
            size_t end = std::min(path.find('/', pos), path.size());
            if (path.compare(pos, end - pos, "..") == 0) throw Error("--cgroup: " + path + " is not a sub cgroup path");
            pos = end + 1;
        }
        if (ctrls.empty()) any = path;
        for (const auto& c : ctrls) {
            bool known = false;
            for (const auto& h : cg.hierarchies())
                for (const auto& hc : controllers_of(h.controllers)) known = known || hc == c;
            if (!known) throw Error("--cgroup: unknown controller \"" + c + "\"");
            named[c] = path;
        }
    }
    std::vector<std::string> dirs;
    for (const auto& h : cg.hierarchies()) {
        std::string path = any;
        for (const auto& hc : controllers_of(h.controllers))
            if (auto it = named.find(hc); it != named.end()) path = it->second;
        std::string d = path.empty() ? h.dir : fs::clean(h.dir + "/" + path);
        // In runc's words, which its tests (and callers reading them) look for.
        if (!path.empty() && !fs::exists(d))
            throw Error("--cgroup: adding pid to " + d + "/cgroup.procs: no such file or directory");
        dirs.push_back(d);
    }
    return dirs;
}

}  // namespace

spec::Process config_process(const std::string& root, const std::string& id) {
    ContainerDir dir = ContainerDir::open(root, id);
    auto cfg = saved_config(dir);
    if (!cfg.process) throw Error("container \"" + id + "\" has no process in its config");
    return *cfg.process;
}

Started start(const Options& opt) {
    container::Container c = container::Container::load(opt.root, opt.id);
    ContainerDir& dir = c.dir();
    const Record& rec = c.record();
    spec::Config cfg = saved_config(dir);
    container::Status status = c.status();
    if (!(status == container::Status::Paused && opt.ignore_paused)) c.require(container::Op::Exec);
    const spec::Process& p = opt.process;
    if (p.args.empty()) throw Error("process.args: is required and must not be empty");
    security::validate(p);

    UniqueFd init_pidfd(static_cast<int>(::syscall(SYS_pidfd_open, rec.pid, 0)));
    if (!init_pidfd || !proc::alive(rec.pid, rec.pid_start))
        throw Error("cannot exec in container \"" + opt.id + "\": its init is gone");
    int ns_flags = namespaces_to_join(rec.pid);
    UniqueFd chroot_fd;
    if (rec.host_mounts) {
        chroot_fd.reset(::open(("/proc/" + std::to_string(rec.pid) + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!chroot_fd) throw_errno("open the root of container " + opt.id);
    }
    cgroups::Manager cg = cgroups::Manager::restore(rec.cgroup);
    std::vector<std::string> cg_dirs = cgroup_dirs(cg, opt.cgroups);

    UniqueFd pidfd_sock = container::connect_pidfd_socket(opt.pidfd_socket);
    UniqueFd console_sock, console_peer;
    if (p.terminal) {
        auto cs = console::open_socket(opt.console_socket, opt.foreground);
        console_sock = std::move(cs.sock);
        console_peer = std::move(cs.peer);
    }

    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw_errno("socketpair");
    UniqueFd parent_sock(sv[0]), child_sock(sv[1]);

    pid_t helper = proc::clone3(0);
    if (helper < 0) throw_errno("clone3 exec helper");
    if (helper == 0) {
        // The helper: joins the cgroup and namespaces, then forks the process as a sibling so
        // that it is born inside the pid namespace and is still our caller's child.
        try {
            // husk's image until the exec: its /proc/<pid>/exe must stay out of the container's
            // reach (CVE-2019-5736); execve makes the new program dumpable again.
            if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) throw_errno("prctl(PR_SET_DUMPABLE)");
            ::close(dir.lock_fd());
            parent_sock.reset();
            // execCPUAffinity.initial: where we run until the container's cgroup (cpuset) takes over.
            scheduling::set_initial_affinity(p);
            for (const auto& d : cg_dirs) fs::write_file(d + "/cgroup.procs", "0", O_WRONLY);
            if (ns_flags && ::setns(init_pidfd.get(), ns_flags) != 0) throw_errno("join the container's namespaces");
            if (chroot_fd && (::fchdir(chroot_fd.get()) != 0 || ::chroot(".") != 0)) throw_errno("chroot into the container");
            // The three steps in the words of runc's --debug log, which its tests look for.
            log::debug("exec: nsexec container setup: joined the cgroup and namespaces of pid " + std::to_string(rec.pid));
            pid_t child = proc::clone3(CLONE_PARENT);
            if (child < 0) throw_errno("clone3 exec process");
            if (child == 0) {
                try {
                    log::debug("exec: child process in init(): pid " + std::to_string(::getpid()));
                    if (::setsid() < 0) throw_errno("setsid");
                    if (p.terminal) {
                        UniqueFd slave = console::create_and_send(console_sock.get(), p.console_size);
                        console::attach(slave.get(), p.user.uid);
                    }
                    const exec_stub::Stub stub =
                        exec_stub::make(cfg.linux && cfg.linux->seccomp ? &*cfg.linux->seccomp : nullptr);
                    process::Launch l;
                    l.stub = &stub;
                    l.report_fd = child_sock.get();
                    l.preserve_fds = opt.preserve_fds;
                    l.linux = cfg.linux ? &*cfg.linux : nullptr;
                    l.exec = true;
                    l.seccomp_notify = [&](UniqueFd fd) {
                        sync::send(child_sock.get(), sync::Msg::SeccompFd, {}, fd.get(), kSync);
                        if (sync::recv(child_sock.get(), kSync).type != sync::Msg::SeccompDone)
                            throw Error("linux.seccomp: the notify fd was not delivered");
                    };
                    log::debug("exec: setns_init: about to exec " + p.args[0] + " (after the user, capabilities and seccomp)");
                    process::launch(p, l);
                } catch (const std::exception& e) {
                    sync::send_quietly(child_sock.get(), sync::Msg::Error, e.what());
                }
                _exit(127);
            }
            sync::send_quietly(child_sock.get(), sync::Msg::Started, std::to_string(child));
            _exit(0);
        } catch (const std::exception& e) {
            sync::send_quietly(child_sock.get(), sync::Msg::Error, e.what());
            _exit(1);
        }
    }
    child_sock.reset();
    console_sock.reset();
    // Everything of the container this needs is read and the helper is on its way: others may
    // take the lock now. In a paused container (--ignore-paused) the helper and the process
    // freeze as they join its cgroup and go on only at `husk resume`, which needs the lock.
    dir.unlock();
    ::waitpid(helper, nullptr, 0);

    Started out;
    std::string error;
    for (;;) {
        sync::Message m;
        try {
            m = sync::recv(parent_sock.get(), kSync);
        } catch (const std::exception&) {
            break;
        }
        if (m.type == sync::Msg::Closed) break;  // every copy closed: the process has exec'd (or died)
        if (m.type == sync::Msg::Started) out.pid = std::atoi(m.text.c_str());
        if (m.type == sync::Msg::Error) error = m.text;
        if (m.type == sync::Msg::ExecFailed)
            if (int err = exec_stub::reported_errno(m.wire()))
                error = "process.args[0]: exec: \"" + p.args[0] + "\": " + process::exec_error_text(err);
        if (m.type == sync::Msg::SeccompFd) {
            try {
                if (!m.fd || !cfg.linux || !cfg.linux->seccomp) throw Error("linux.seccomp: no notify fd from the process");
                seccomp::send_to_listener(*cfg.linux->seccomp, m.fd.get(), out.pid,
                                          spec::state_to_oci_json(container::make_state(rec, status)));
                sync::send_quietly(parent_sock.get(), sync::Msg::SeccompDone);
            } catch (const std::exception& e) {
                error = e.what();
                sync::send_quietly(parent_sock.get(), sync::Msg::SeccompFailed);
            }
        }
    }
    if (!error.empty() || out.pid <= 0) {
        if (out.pid > 0) ::waitpid(out.pid, nullptr, 0);
        throw Error(error.empty() ? "exec: the process could not be started" : error);
    }
    out.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, out.pid, 0)));
    if (console_peer) {
        out.console_master = unix_socket::recv_fd(console_peer.get());
        if (!out.console_master) throw Error("exec: no console received from the process");
    }
    if (pidfd_sock && out.pidfd) unix_socket::send_fd(pidfd_sock.get(), out.pidfd.get(), "pidfd");
    if (!opt.pid_file.empty()) {
        // As runc: a process whose pid cannot be recorded is not left running unseen.
        try {
            std::string tmp = opt.pid_file + ".husk-tmp";
            fs::write_file(tmp, std::to_string(out.pid), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (::rename(tmp.c_str(), opt.pid_file.c_str()) != 0) {
                int err = errno;
                ::unlink(tmp.c_str());
                throw_errno("--pid-file: rename to " + opt.pid_file, err);
            }
        } catch (...) {
            if (out.pidfd) ::syscall(SYS_pidfd_send_signal, out.pidfd.get(), SIGKILL, nullptr, 0);
            ::waitpid(out.pid, nullptr, 0);
            throw;
        }
    }
    return out;
}

}  // namespace husk::exec
