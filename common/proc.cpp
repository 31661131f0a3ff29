#include "proc.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "error.hpp"
#include "fs.hpp"

namespace husk::proc {

std::vector<char*> cstrings(const std::vector<std::string>& v) {
    std::vector<char*> out;
    out.reserve(v.size() + 1);
    for (auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

void reset_signal_dispositions() {
    struct sigaction dfl{};
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s) ::sigaction(s, &dfl, nullptr);
}

void unblock_signals() {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

void reset_signals() {
    reset_signal_dispositions();
    unblock_signals();
}

std::optional<uint64_t> start_time(pid_t pid) {
    if (pid <= 0) return std::nullopt;
    std::string stat;
    if (!fs::try_read_file("/proc/" + std::to_string(pid) + "/stat", stat)) return std::nullopt;
    size_t rp = stat.rfind(')');
    if (rp == std::string::npos || rp + 2 >= stat.size()) return std::nullopt;
    char state = stat[rp + 2];
    if (state == 'Z' || state == 'X') return std::nullopt;
    // Fields after ')' start at field 3 (state); start time is field 22.
    size_t pos = rp + 2;
    for (int field = 3; field < 22; ++field) {
        pos = stat.find(' ', pos);
        if (pos == std::string::npos) return std::nullopt;
        ++pos;
    }
    return std::strtoull(stat.c_str() + pos, nullptr, 10);
}

bool alive(pid_t pid, uint64_t start) {
    auto st = start_time(pid);
    return st && *st == start;
}

std::string describe_status(int s) {
    if (WIFEXITED(s)) return "exited with status " + std::to_string(WEXITSTATUS(s));
    if (WIFSIGNALED(s)) return std::string("killed by signal ") + ::strsignal(WTERMSIG(s));
    return "stopped";
}

int exit_code(int s) {
    if (WIFEXITED(s)) return WEXITSTATUS(s);
    if (WIFSIGNALED(s)) return 128 + WTERMSIG(s);
    return 1;
}

pid_t clone3(uint64_t flags, int* pidfd, int cgroup_fd) {
    // struct clone_args of <linux/sched.h>, which does not mix with glibc's <sched.h>.
    struct {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
            cgroup;
    } a{};
    constexpr uint64_t kClonePidfd = 0x1000, kCloneParent = 0x8000, kCloneIntoCgroup = 0x200000000ULL;
    a.flags = flags | (pidfd ? kClonePidfd : 0) | (cgroup_fd >= 0 ? kCloneIntoCgroup : 0);
    a.pidfd = reinterpret_cast<uint64_t>(pidfd);
    // A CLONE_PARENT child reports to our parent with its own exit signal.
    a.exit_signal = (flags & kCloneParent) ? 0 : SIGCHLD;
    a.cgroup = cgroup_fd >= 0 ? static_cast<uint64_t>(cgroup_fd) : 0;
    return static_cast<pid_t>(::syscall(SYS_clone3, &a, sizeof a));
}

pid_t pid_of_pidfd(int pidfd) {
    std::string info;
    if (!fs::try_read_file("/proc/self/fdinfo/" + std::to_string(pidfd), info)) return -1;
    size_t at = info.find("\nPid:");
    if (at == std::string::npos) return -1;
    return static_cast<pid_t>(std::strtol(info.c_str() + at + 5, nullptr, 10));
}

int signal_number(const std::string& name) {
    if (name.empty()) throw Error("signal: empty name");
    if (std::isdigit(static_cast<unsigned char>(name[0]))) {
        char* end = nullptr;
        long n = std::strtol(name.c_str(), &end, 10);
        // 0 as with kill(1) and runc: no signal, only the check that the processes exist.
        if (*end || n < 0 || n >= NSIG) throw Error("signal: \"" + name + "\" is not a valid signal number");
        return static_cast<int>(n);
    }
    std::string n = name;
    for (auto& c : n) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (n.rfind("SIG", 0) == 0) n = n.substr(3);
    static const struct {
        const char* name;
        int sig;
    } table[] = {{"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},
                 {"TRAP", SIGTRAP},   {"ABRT", SIGABRT},     {"IOT", SIGIOT},     {"BUS", SIGBUS},
                 {"FPE", SIGFPE},     {"KILL", SIGKILL},     {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},
                 {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},   {"TERM", SIGTERM},
                 {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CONT", SIGCONT},   {"STOP", SIGSTOP},
                 {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},
                 {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
                 {"WINCH", SIGWINCH}, {"IO", SIGIO},         {"POLL", SIGPOLL},   {"PWR", SIGPWR},
                 {"SYS", SIGSYS}};
    for (auto& e : table)
        if (n == e.name) return e.sig;
    if (n.rfind("RTMIN", 0) == 0 || n.rfind("RTMAX", 0) == 0) {
        int base = n.rfind("RTMIN", 0) == 0 ? SIGRTMIN : SIGRTMAX;
        std::string off = n.substr(5);
        int k = off.empty() ? 0 : std::atoi(off.c_str());
        int s = base + k;
        if (s >= SIGRTMIN && s <= SIGRTMAX) return s;
    }
    throw Error("signal: unknown signal \"" + name + "\"");
}

bool in_initial_user_ns() {
    std::string map;
    if (!fs::try_read_file("/proc/self/uid_map", map)) return true;  // no user namespaces here
    std::vector<std::string> f;
    size_t pos = 0;
    while (pos < map.size()) {
        size_t b = map.find_first_not_of(" \t\n", pos);
        if (b == std::string::npos) break;
        size_t e = map.find_first_of(" \t\n", b);
        f.push_back(map.substr(b, e == std::string::npos ? std::string::npos : e - b));
        pos = e == std::string::npos ? map.size() : e;
    }
    return f == std::vector<std::string>{"0", "0", "4294967295"};
}

}  // namespace husk::proc
