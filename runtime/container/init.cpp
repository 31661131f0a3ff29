#include "init.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <linux/keyctl.h>

#include <cstdlib>
#include <memory>

#include "console.hpp"
#include "common/error.hpp"
#include "exec_stub.hpp"
#include "common/fs.hpp"
#include "hooks.hpp"
#include "net_devices.hpp"
#include "process.hpp"
#include "procfs.hpp"
#include "rootfs.hpp"
#include "sync.hpp"

namespace husk::init {
namespace {

bool g_ready_sent = false;  // this process's (init's) own: Ready went to the parent

constexpr const char* kSync = "sync with parent";

[[noreturn]] void unexpected(const sync::Message& m) {
    if (m.type == sync::Msg::Closed) throw Error("the parent husk process went away");
    throw Error(std::string("unexpected sync message '") + static_cast<char>(m.type) + "'");
}

std::string expect(int fd, sync::Msg type) {
    sync::Message m = sync::recv(fd, kSync);
    if (m.type != type) unexpected(m);
    return m.text;
}

void write_sysctls(int proc, const spec::Config& c) {
    for (const auto& [key, value] : c.linux->sysctl) {
        std::string file = "sys/";
        for (char ch : key) file += ch == '.' ? '/' : ch;
        procfs::write(proc, file, value, "linux.sysctl: " + key);
    }
}

// Until Go: the bind sources the parent opened for us (see rootfs::open_bind_sources).
std::map<size_t, UniqueFd> receive_bind_sources(const Context& ctx) {
    std::map<size_t, UniqueFd> out;
    for (;;) {
        sync::Message m = sync::recv(ctx.sync_fd, kSync);
        if (m.type == sync::Msg::Go) return out;
        if (m.type != sync::Msg::BindSource || !m.fd) unexpected(m);
        out.emplace(std::strtoul(m.text.c_str(), nullptr, 10), std::move(m.fd));
    }
}

// The parent sends the notify fd to the seccomp agent; the container must not keep it.
void hand_over_notify_fd(const Context& ctx, UniqueFd fd) {
    sync::send(ctx.sync_fd, sync::Msg::SeccompFd, {}, fd.get(), kSync);
    expect(ctx.sync_fd, sync::Msg::SeccompDone);
}

// Until `husk start` writes into exec.fifo (a writer that comes and goes, POLLHUP, also starts
// it, as any reader of runc's fifo does). Until create has recorded us in state.json, its death
// (the sync socket closing without Recorded) is ours too.
void wait_for_start(const Context& ctx) {
    pollfd p[2] = {{ctx.fifo_fd, POLLIN, 0}, {ctx.sync_fd, POLLIN, 0}};
    nfds_t n = 2;
    for (;;) {
        if (::poll(p, n, -1) < 0) {
            if (errno == EINTR) continue;
            throw_errno("wait on exec.fifo");
        }
        if (p[0].revents) break;
        char c = 0;
        ssize_t got = ::recv(ctx.sync_fd, &c, 1, MSG_DONTWAIT);
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (got != 1 || c != static_cast<char>(sync::Msg::Recorded)) _exit(1);
        n = 1;
    }
    ::close(ctx.sync_fd);
}

void run_steps(const Context& ctx) {
    const spec::Config& c = *ctx.config;
    const spec::Process& p = *c.process;
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    ::close(ctx.lock_fd);
    // A directory of the host's cgroup tree: nothing of the container may ever reach it.
    if (ctx.cgroup_fd >= 0) ::close(ctx.cgroup_fd);
    if (!ctx.user_joined) ns::join(*ctx.ns, true);
    std::map<size_t, UniqueFd> bind_sources = receive_bind_sources(ctx);
    bool in_user_ns = ctx.ns->new_user() || ctx.ns->joined(CLONE_NEWUSER);
    if (in_user_ns) {
        // Become the namespace's root so that mounts and devices belong to it.
        if (::setresgid(0, 0, 0) != 0) throw_errno("setgid 0 in the user namespace");
        if (::setresuid(0, 0, 0) != 0) throw_errno("setuid 0 in the user namespace");
    }
    ns::join(*ctx.ns, false);
    if (ctx.ns->new_flags & CLONE_NEWNET) net_devices::bring_up_loopback();
    if (ctx.join_cgroup_ns && ::unshare(CLONE_NEWCGROUP) != 0) throw_errno("create cgroup namespace");
    if (c.linux && c.linux->find_namespace("time") && c.linux->find_namespace("time")->path.empty())
        ns::enter_new_time_ns(c.linux->time_offsets);
    if (::setsid() < 0) throw_errno("setsid");
    if (!ctx.no_new_keyring) {
        std::string name = "_ses." + ctx.id;
        // A denied keyctl (seccomp, old kernels) is no reason to fail, as with runc.
        ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.c_str());
    }
    if ((c.linux && !c.linux->sysctl.empty()) || p.oom_score_adj) {
        UniqueFd proc = procfs::root();
        if (c.linux) write_sysctls(proc.get(), c);
        if (p.oom_score_adj)
            procfs::write(proc.get(), "self/oom_score_adj", std::to_string(*p.oom_score_adj), "process.oomScoreAdj");
    }
    const exec_stub::Stub stub = exec_stub::make(c.linux && c.linux->seccomp ? &*c.linux->seccomp : nullptr);
    // Until it execs, this process is husk's image and /proc/self/exe is husk's binary: keep
    // other processes of the container from reaching it (CVE-2019-5736). After the last write
    // to /proc/self above, since non-dumpable makes those files root's. execve resets it.
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) throw_errno("prctl(PR_SET_DUMPABLE)");

    bool own_mnt = (ctx.ns->new_flags & CLONE_NEWNS) || ctx.ns->joined(CLONE_NEWNS);
    rootfs::Setup setup{c, ctx.rootfs, ctx.cgroup, in_user_ns, own_mnt, ctx.idmapped, &bind_sources};
    UniqueFd rootfd = rootfs::prepare(setup);
    // The parent runs prestart/createRuntime now and sends the state the container's own hooks
    // get; with no hooks at all there is nothing to wait for.
    const spec::Hooks& h = c.hooks;
    std::string state;
    if (!h.prestart.empty() || !h.create_runtime.empty() || !h.create_container.empty() || !h.start_container.empty()) {
        sync::send(ctx.sync_fd, sync::Msg::RunHooks, {}, -1, kSync);
        state = expect(ctx.sync_fd, sync::Msg::HooksDone);
    }
    if (!c.hooks.create_container.empty()) {
        // As runc: in the rootfs, which is not / yet (the old root is still there for them).
        if (::fchdir(rootfd.get()) != 0) throw_errno("chdir to rootfs for the createContainer hooks");
        hooks::run_all("createContainer", c.hooks.create_container, state, &stub, &p.env);
    }
    rootfs::enter(rootfd.get(),
                  !own_mnt ? rootfs::Entry::Chroot : ctx.no_pivot ? rootfs::Entry::MoveRoot : rootfs::Entry::PivotRoot,
                  ctx.rootfs);
    rootfd.reset();
    // Before anything may make the root read-only.
    process::create_cwd(p);
    if (p.terminal) {
        UniqueFd slave = console::create_and_send(ctx.console_fd, p.console_size);
        rootfs::bind_console(slave.get());
        console::attach(slave.get(), p.user.uid);
    }
    rootfs::finish(c);
    if (!c.hostname.empty() && ::sethostname(c.hostname.data(), c.hostname.size()) != 0) throw_errno("hostname: sethostname");
    if (!c.domainname.empty() && ::setdomainname(c.domainname.data(), c.domainname.size()) != 0)
        throw_errno("domainname: setdomainname");
    process::Launch launch;
    launch.extra_env = ctx.extra_env;
    launch.preserve_fds = ctx.preserve_fds;
    launch.linux = c.linux ? &*c.linux : nullptr;
    launch.seccomp_notify = [&](UniqueFd fd) { hand_over_notify_fd(ctx, std::move(fd)); };
    launch.stub = &stub;
    launch.close_at_exec = ctx.fifo_fd;
    // Without startContainer hooks (which run in husk's image after the wait) the exec stub
    // waits for `start`: start, which waits for the program's execve, then waits for that
    // exec alone, and husk's image is gone from the container before it starts.
    bool stub_waits = c.hooks.start_container.empty();
    if (stub_waits) {
        launch.wait_fifo = ctx.fifo_fd;
        launch.wait_sync = ctx.sync_fd;
    }
    launch.before_exec = [&] {
        ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        sync::send(ctx.sync_fd, sync::Msg::Ready, {}, -1, kSync);
        // From here errors go to stderr: nobody reads the socket's errors any more.
        g_ready_sent = true;
        if (stub_waits) return;
        wait_for_start(ctx);
        char byte;
        if (::read(ctx.fifo_fd, &byte, 1) < 0) throw_errno("read exec.fifo");
        // Left open until the program's execve: its closing tells `start` that execve happened.
        hooks::run_all("startContainer", c.hooks.start_container, state, &stub, &p.env);
    };
    process::launch(p, launch);
}

}  // namespace

void run(const Context& ctx) {
    try {
        run_steps(ctx);
    } catch (const std::exception& e) {
        std::string msg = e.what();
        // After Ready nobody reads the socket (open still, for the exec stub's wait): stderr
        // is all that is left.
        if (g_ready_sent || !sync::send_quietly(ctx.sync_fd, sync::Msg::Error, msg))
            ::dprintf(2, "husk: %s\n", msg.c_str());
    }
    _exit(1);
}

}  // namespace husk::init
