#include "supervise.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/proc.hpp"

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

}  // namespace

void clear_onlcr(int master) {
    termios t{};
    if (master < 0 || ::tcgetattr(master, &t) != 0) return;
    t.c_oflag &= ~static_cast<tcflag_t>(ONLCR);
    ::tcsetattr(master, TCSANOW, &t);
}

int supervise(pid_t pid, int pidfd, int master, int sigfd) {
    clear_onlcr(master);  // `run` did already, before the program started; exec's runs by now
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
            pid_t r = ::waitpid(pid, &status, WNOHANG);
            if (r == pid) {
                while (master_open && pump(master, 1)) {
                    pollfd q{master, POLLIN, 0};
                    if (::poll(&q, 1, 0) <= 0) break;
                }
                return proc::exit_code(status);
            }
        } else {
            ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0);
        }
    }
}

sigset_t forwarded_signals() {
    sigset_t set;
    sigfillset(&set);
    for (int s : {SIGILL, SIGSEGV, SIGBUS, SIGFPE, SIGKILL, SIGSTOP}) sigdelset(&set, s);
    return set;
}

}  // namespace husk::cli
