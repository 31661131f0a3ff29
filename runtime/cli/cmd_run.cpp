// run: create + start in one go. In the foreground husk stays the container's parent: it
// forwards signals, relays a terminal, and exits with the container's status.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "args.hpp"
#include "commands.hpp"
#include "container.hpp"
#include "error.hpp"
#include "log.hpp"
#include "process_util.hpp"

namespace husk::cli {
namespace {

// Puts our terminal in raw mode while the container owns the pty; restores it on exit.
class RawTerminal {
public:
    explicit RawTerminal(int fd) : fd_(fd) {
        if (!::isatty(fd) || ::tcgetattr(fd, &saved_) != 0) return;
        termios raw = saved_;
        ::cfmakeraw(&raw);
        active_ = ::tcsetattr(fd, TCSANOW, &raw) == 0;
    }
    ~RawTerminal() {
        if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
    }

private:
    int fd_;
    termios saved_{};
    bool active_ = false;
};

void copy_winsize(int from, int to) {
    winsize ws{};
    if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

bool pump(int from, int to) {
    char buf[16384];
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n <= 0) return n < 0 && (errno == EINTR || errno == EAGAIN);
    for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(to, buf + off, n - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return true;  // reader gone: keep the container running, drop output
        }
        off += w;
    }
    return true;
}

int supervise(const container::Created& c, int sigfd) {
    int master = c.console_master.get();
    RawTerminal raw(master >= 0 ? 0 : -1);
    if (master >= 0) copy_winsize(0, master);
    bool stdin_open = master >= 0, master_open = master >= 0;
    for (;;) {
        pollfd p[3] = {{sigfd, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}, {master_open ? master : -1, POLLIN, 0}};
        if (::poll(p, 3, -1) < 0) {
            if (errno == EINTR) continue;
            throw_errno("poll");
        }
        if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) master_open = pump(master, 1);
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) stdin_open = pump(0, master);
        if (!(p[0].revents & POLLIN)) continue;
        signalfd_siginfo si{};
        if (::read(sigfd, &si, sizeof si) != sizeof si) continue;
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGWINCH) {
            if (master >= 0) copy_winsize(0, master);
        } else if (sig == SIGCHLD) {
            int status = 0;
            pid_t r = ::waitpid(c.pid, &status, WNOHANG);
            if (r == c.pid) {
                while (master_open && pump(master, 1)) {
                    pollfd q{master, POLLIN, 0};
                    if (::poll(&q, 1, 0) <= 0) break;
                }
                return proc::exit_code(status);
            }
        } else {
            ::syscall(SYS_pidfd_send_signal, c.pidfd.get(), sig, nullptr, 0);
        }
    }
}

}  // namespace

int cmd_run(const Globals& g, std::vector<std::string> argv) {
    container::CreateOptions opt;
    opt.bundle = ".";
    bool detach = false, keep = false;
    Args a(std::move(argv));
    a.value({"bundle", "b"}, &opt.bundle);
    a.value({"console-socket"}, &opt.console_socket);
    a.value({"pid-file"}, &opt.pid_file);
    a.value({"pidfd-socket"}, &opt.pidfd_socket);
    a.boolean({"no-pivot"}, &opt.no_pivot);
    a.boolean({"no-new-keyring"}, &opt.no_new_keyring);
    a.integer({"preserve-fds"}, &opt.preserve_fds);
    a.boolean({"detach", "d"}, &detach);
    a.boolean({"keep"}, &keep);
    auto pos = a.parse();
    if (a.help())
        return print_usage("run [-b BUNDLE] [-d] [--keep] [--console-socket PATH] [--pid-file PATH] CONTAINER-ID",
                           "Create and start a container; in the foreground, wait for it and exit with its status.");
    expect_args("run", pos, 1, 1);
    if (g.systemd_cgroup) throw Error("--systemd-cgroup: the systemd cgroup driver is not supported yet");
    if (!opt.pidfd_socket.empty()) throw Error("--pidfd-socket: not supported yet");
    if (detach && keep) throw Error("--keep cannot be used with --detach");
    opt.root = g.root;
    opt.id = pos[0];
    opt.foreground = !detach;

    // Block the signals we forward before the container exists, so none is lost.
    sigset_t set;
    sigfillset(&set);
    for (int s : {SIGILL, SIGSEGV, SIGBUS, SIGFPE, SIGKILL, SIGSTOP}) sigdelset(&set, s);
    sigset_t old;
    if (!detach) ::sigprocmask(SIG_BLOCK, &set, &old);
    container::Created c = container::create(opt);
    try {
        container::start(g.root, opt.id);
    } catch (...) {
        container::remove(g.root, opt.id, true);
        throw;
    }
    if (detach) return 0;
    int sigfd = ::signalfd(-1, &set, SFD_CLOEXEC);
    if (sigfd < 0) throw_errno("signalfd");
    int code = supervise(c, sigfd);
    ::close(sigfd);
    if (!keep) {
        try {
            container::remove(g.root, opt.id, true);
        } catch (const std::exception& e) {
            log::warn(e.what());
        }
    }
    return code;
}

}  // namespace husk::cli
