#include "process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <map>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "lsm.hpp"
#include "userdb.hpp"
#include "common/proc.hpp"
#include "scheduling.hpp"
#include "security.hpp"
#include "syscalls.hpp"

namespace husk::process {

void set_rlimits(const spec::Process& p) {
    static const std::map<std::string, int> kinds = {
        {"RLIMIT_AS", RLIMIT_AS},         {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_CPU", RLIMIT_CPU},
        {"RLIMIT_DATA", RLIMIT_DATA},     {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME},   {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_STACK", RLIMIT_STACK}};
    for (const auto& r : p.rlimits) {
        rlimit lim{r.soft, r.hard};
        if (::setrlimit(kinds.at(r.type), &lim) != 0)
            throw_errno("process.rlimits: set " + r.type + " to " + std::to_string(r.soft) + "/" + std::to_string(r.hard));
    }
}

void switch_user(const spec::Process& p) {
    sys::Syscalls& sys = sys::current();
    security::before_user_switch(p);
    std::vector<gid_t> groups(p.user.additional_gids.begin(), p.user.additional_gids.end());
    // setgroups is denied in a user namespace whose setgroups file says "deny".
    if (sys.setgroups(groups) != 0 && !(errno == EPERM && groups.empty()))
        throw_errno("process.user.additionalGids: setgroups");
    if (sys.setresgid(p.user.gid) != 0)
        throw_errno("process.user.gid: setgid " + std::to_string(p.user.gid));
    if (sys.setresuid(p.user.uid) != 0)
        throw_errno("process.user.uid: setuid " + std::to_string(p.user.uid));
    security::apply_capabilities(p);
    ::umask(p.user.umask.value_or(022));
}

bool enter_cwd(const spec::Process& p, bool may_defer) {
    if (sys::current().chdir(p.cwd.c_str()) != 0) {
        // As runc: first as the runtime, which may reach a directory the user cannot; a
        // directory only the user may enter (a volume chowned to it) is tried again as the user.
        if (may_defer && (errno == EACCES || errno == EPERM)) return false;
        throw_errno("process.cwd: chdir " + p.cwd);
    }
    // A cwd through an fd still open here (/proc/self/fd/N: a cgroup directory of husk's, a
    // directory its caller passed) can be a directory of the host, from which ".." climbs out
    // (CVE-2024-21626). The kernel names such a cwd "(unreachable)...".
    char buf[PATH_MAX];
    long n = ::syscall(SYS_getcwd, buf, sizeof buf);
    if (n < 0 && errno != ENOENT) throw_errno("process.cwd: getcwd after chdir " + p.cwd);
    if (n <= 0 || buf[0] != '/')
        throw Error("process.cwd: " + p.cwd + " is outside the container's root filesystem");
    return true;
}

void create_cwd(const spec::Process& p) {
    struct stat st;
    if (p.cwd.empty() || ::stat(p.cwd.c_str(), &st) == 0 || errno != ENOENT) return;
    // Made inside the root, never through a magic link (a cwd of /proc/self/fd/N/../x must
    // not make x on the host, CVE-2024-21626); enter_cwd still checks where the chdir lands.
    UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) throw_errno("process.cwd: open /");
    try {
        fs::mkdir_all_in_root(root.get(), p.cwd, fs::Kind::Directory, 0755);
    } catch (const Error& e) {
        throw Error(std::string("process.cwd: ") + e.what());
    }
}

static std::string passwd_home(uid_t uid) {
    auto entry = userdb::lookup_uid("/etc/passwd", uid);
    return entry && !entry->home.empty() ? entry->home : "/";
}

std::vector<std::string> environment(const spec::Process& p, const std::vector<std::string>& extra) {
    std::vector<std::string> env = p.env;
    for (const auto& e : extra) env.push_back(e);
    bool has_home = false;
    for (const auto& e : env) has_home = has_home || e.rfind("HOME=", 0) == 0;
    if (!has_home) env.push_back("HOME=" + passwd_home(p.user.uid));
    return env;
}

std::string exec_error_text(int err) {
    std::string text = std::strerror(err);
    for (char& ch : text)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return text;
}

[[noreturn]] static void throw_exec_error(const std::string& what, int err) {
    throw Error(what + ": " + exec_error_text(err));
}

// Whether the current user may execute the regular file `path`, as execve will judge it: the
// effective ids and capabilities (CAP_DAC_OVERRIDE runs a file whose x bits are another
// user's), and a noexec mount. access() would ask as the real user without capabilities.
// Where a seccomp profile denies faccessat2, any x bit will do (Go's and so runc's rule).
static int exec_permission(const std::string& path, const struct stat& st) {
    if (::syscall(SYS_faccessat2, AT_FDCWD, path.c_str(), X_OK, AT_EACCESS) == 0) return 0;
    if (errno != ENOSYS && errno != EPERM) return errno;
    return (st.st_mode & 0111) ? 0 : EACCES;
}

// The messages are in runc's words, which docker and podman match to choose the exit status of
// a command that cannot run: "executable file not found" and "no such file or directory" give
// 127, "permission denied" 126 (anything else 125 or 255).
std::string find_executable(const std::string& name, const std::vector<std::string>& env) {
    const std::string field = "process.args[0]: exec: \"" + name + "\"";
    if (name.find('/') != std::string::npos) {
        struct stat st;
        if (::stat(name.c_str(), &st) != 0) throw_exec_error(field + ": stat " + name, errno);
        // execve refuses anything but a regular file with EACCES, as access() does a file
        // without an execute bit.
        if (S_ISDIR(st.st_mode)) throw_exec_error(field + ": is a directory", EACCES);
        if (!S_ISREG(st.st_mode)) throw_exec_error(field + ": not a regular file", EACCES);
        if (int err = exec_permission(name, st)) throw_exec_error(field, err);
        return name;
    }
    auto runnable = [](const std::string& path) {
        struct stat st;
        return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && exec_permission(path, st) == 0;
    };
    std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (const auto& e : env)
        if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
    size_t pos = 0;
    while (pos <= path.size()) {
        size_t end = path.find(':', pos);
        if (end == std::string::npos) end = path.size();
        std::string dir = path.substr(pos, end - pos);
        std::string cand = (dir.empty() ? "." : dir) + "/" + name;
        if (runnable(cand)) return cand;
        pos = end + 1;
    }
    throw Error(field + ": executable file not found in $PATH");
}

void set_no_new_privs(const spec::Process& p) {
    if (p.no_new_privileges && sys::current().prctl(PR_SET_NO_NEW_PRIVS, 1, 0) != 0) throw_errno("prctl(PR_SET_NO_NEW_PRIVS)");
}

void close_fds_on_exec(int preserve_fds) {
    unsigned first = 3 + static_cast<unsigned>(preserve_fds);
    if (sys::current().close_range_cloexec(first) == 0) return;
    // A seccomp profile loaded before this point (no noNewPrivileges) may deny close_range, as
    // profiles written before it existed do; fcntl on each open fd does the same job.
    int err = errno;
    DIR* d = ::opendir("/proc/self/fd");
    if (!d) throw_errno("close_range", err);
    std::vector<int> fds;
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        int fd = std::atoi(e->d_name);
        if (fd >= static_cast<int>(first) && fd != ::dirfd(d)) fds.push_back(fd);
    }
    ::closedir(d);
    for (int fd : fds) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

void launch(const spec::Process& p, const Launch& l) {
    set_rlimits(p);
    // Before the user switch: these may need privileges, and before seccomp so that a
    // profile need not allow them.
    security::apply_process_settings(p);
    exec_stub::Handoff handoff;
    handoff.writes = lsm::exec_labels(p);
    if (l.close_at_exec >= 0) handoff.close_at_exec.push_back(l.close_at_exec);
    handoff.report_fd = l.report_fd;
    handoff.wait_fifo = l.wait_fifo;
    handoff.wait_sync = l.wait_sync;
    if (l.linux) scheduling::apply(*l.linux);
    scheduling::set_final_affinity(p, l.exec);
    const spec::Seccomp* seccomp = l.linux && l.linux->seccomp ? &*l.linux->seccomp : nullptr;
    auto hand_over = [&](UniqueFd fd) {
        if (!fd) return;
        if (!l.seccomp_notify) throw Error("linux.seccomp: SCMP_ACT_NOTIFY is not supported here");
        l.seccomp_notify(std::move(fd));
    };
    hand_over(security::load_seccomp_before_user_switch(p, seccomp));
    // Before the chdir: an fd of husk's or of its caller is no way out (see enter_cwd).
    close_fds_on_exec(l.preserve_fds);
    bool in_cwd = enter_cwd(p, true);
    switch_user(p);
    if (!in_cwd) enter_cwd(p, false);
    auto env = environment(p, l.extra_env);
    std::string path = find_executable(p.args.at(0), env);
    set_no_new_privs(p);
    hand_over(security::load_seccomp_before_exec(p, seccomp));
    // Before before_exec, where init waits for `start`: what is left after it is on the path
    // `start` waits for (until the program's execve). Nothing here handles a signal; the mask
    // (husk run blocks the ones it forwards) is kept until the exec.
    proc::reset_signal_dispositions();
    if (l.before_exec) l.before_exec();
    // After before_exec: the startContainer hooks it runs must not inherit what is carried.
    if (auto caps = security::carry_capabilities_through_stub())
        handoff.caps = std::array<uint64_t, 3>{caps->effective, caps->inheritable, caps->ambient};
    proc::unblock_signals();
    int err = sys::current().exec(*l.stub, path, p.args, env, handoff);
    if (l.stub->via == exec_stub::Via::ProcFd)
        throw_errno("exec " + path + " through /proc/self/fd (linux.seccomp does not plainly allow execveat, and "
                    "the container needs /proc for the other way)", err);
    throw_exec_error("process.args[0]: exec: \"" + path + "\"", err);
}

}  // namespace husk::process
