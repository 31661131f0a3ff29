// husk-exec: the only program a container process runs before its own. husk execs it from a
// sealed memfd (lib/exec_stub.cpp) and it execs the container's program, so that no container
// process ever calls execve while /proc/self/exe is husk's binary on the host (CVE-2019-5736).
// Freestanding: no libc, a few system calls, nothing to relocate.
//
// argv: husk-exec DIRECTIVE... -- PATH ARGV0 ARGS...   (envp is the program's)
//   w<fd>=<text>  write text to fd, then close it (exec-time LSM labels: they must apply to
//                 the program's execve, not to this one)
//   c<fd>         close fd at the program's execve (exec.fifo's end: `start` sees execve)
//   e<fd>         likewise, and if the program's execve fails, write "X<errno>" there
//   s<fifo>,<sync>  wait for `husk start` here, not in husk's image, so that start, which
//                 waits for the program's execve, waits for one exec rather than two: until
//                 <fifo> (exec.fifo's read end) is readable or hung up, read its byte; <sync>
//                 (the socket to husk create) must first say Recorded (state.json is written) or
//                 stay silent: it closing or saying anything else means create died, and this
//                 exits 1 (init.cpp's wait_for_start, for when startContainer hooks must run
//                 in husk's image after the wait). <sync> is closed after the wait.
//   k<E>,<I>,<A>  capability sets (hex masks) to hold at the program's execve: effective
//                 (permitted is E|A), inheritable, ambient. A user other than root loses its
//                 capabilities at the stub's own execve but for the ambient ones, so husk
//                 carries E in the ambient set through it and this puts the configured sets
//                 back: the program's execve is then judged, as with runc, with the configured
//                 effective set (CAP_DAC_OVERRIDE runs a file whose x bits are another user's),
//                 and the program starts with what it would have had from husk directly.
// Anything else (say, run as a script's interpreter through /proc/self/exe) exits 127.

#include "sync_msg.hpp"

namespace {

// The system calls glibc makes for the same steps in husk (poll where the architecture has it),
// so that a seccomp profile that let husk wait lets this wait too.
#if defined(__x86_64__)
constexpr long kRead = 0, kWrite = 1, kClose = 3, kPoll = 7, kRecvfrom = 45, kFcntl = 72, kExecve = 59,
               kExitGroup = 231, kCapset = 126, kPrctl = 157;
long sys(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
    long r;
    register long r10 asm("r10") = d, r8 asm("r8") = e, r9 asm("r9") = f;
    asm volatile("syscall"
                 : "=a"(r)
                 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                 : "rcx", "r11", "memory");
    return r;
}
long poll_fds(void* fds, long n) { return sys(kPoll, reinterpret_cast<long>(fds), n, -1); }
#elif defined(__aarch64__)
constexpr long kRead = 63, kWrite = 64, kClose = 57, kPpoll = 73, kRecvfrom = 207, kFcntl = 25, kExecve = 221,
               kExitGroup = 94, kCapset = 91, kPrctl = 167;
long sys(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
    register long x8 asm("x8") = n, x0 asm("x0") = a, x1 asm("x1") = b, x2 asm("x2") = c, x3 asm("x3") = d,
                                 x4 asm("x4") = e, x5 asm("x5") = f;
    asm volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    return x0;
}
long poll_fds(void* fds, long n) { return sys(kPpoll, reinterpret_cast<long>(fds), n, 0, 0, 0); }
#else
#error "husk-exec: add this architecture's system call numbers"
#endif

constexpr long kSetFd = 2, kCloexec = 1, kEintr = 4, kEagain = 11, kMsgDontwait = 0x40;
constexpr short kPollIn = 1;
constexpr long kPrCapAmbient = 47, kAmbientRaise = 2, kAmbientClearAll = 4;
constexpr unsigned kCapVersion3 = 0x20080522;

[[noreturn]] void exit_group(int code) {
    for (;;) sys(kExitGroup, code);
}

long length(const char* s) {
    long n = 0;
    while (s[n]) ++n;
    return n;
}

// Decimal fd at s; -1 if there is none. `end` is left at the first character after it.
long parse_fd(const char* s, const char** end) {
    long v = 0;
    const char* p = s;
    while (*p >= '0' && *p <= '9' && v < (1 << 20)) v = v * 10 + (*p++ - '0');
    *end = p;
    return p == s ? -1 : v;
}

// Hex digits at s up to a ',' or the end; `end` is left after the separator. Sets ok.
unsigned long long parse_hex(const char* s, const char** end, bool* ok) {
    unsigned long long v = 0;
    const char* p = s;
    for (;; ++p) {
        char c = *p;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) break;
        v = v << 4 | static_cast<unsigned>(d);
    }
    *ok = *ok && p != s && p - s <= 16 && (*p == ',' || *p == 0);
    *end = *p == ',' ? p + 1 : p;
    return v;
}

// The k directive: capset to effective E, permitted E|A, inheritable I, then ambient A.
bool restore_caps(const char* spec) {
    bool ok = true;
    const char* p = spec;
    unsigned long long e = parse_hex(p, &p, &ok), i = parse_hex(p, &p, &ok), a = parse_hex(p, &p, &ok);
    if (!ok || *p) return false;
    unsigned hdr[2] = {kCapVersion3, 0};
    unsigned long long perm = e | a;
    unsigned data[6] = {static_cast<unsigned>(e), static_cast<unsigned>(perm), static_cast<unsigned>(i),
                        static_cast<unsigned>(e >> 32), static_cast<unsigned>(perm >> 32), static_cast<unsigned>(i >> 32)};
    if (sys(kCapset, reinterpret_cast<long>(hdr), reinterpret_cast<long>(data)) != 0) return false;
    if (sys(kPrctl, kPrCapAmbient, kAmbientClearAll) != 0) return false;
    for (long cap = 0; cap < 64; ++cap)
        if ((a >> cap & 1) && sys(kPrctl, kPrCapAmbient, kAmbientRaise, cap) != 0) return false;
    return true;
}

struct PollFd {
    int fd;
    short events, revents;
};

// The s directive (see the top): false if create died.
bool wait_for_start(long fifo, long sync) {
    PollFd p[2] = {{static_cast<int>(fifo), kPollIn, 0}, {static_cast<int>(sync), kPollIn, 0}};
    long n = 2;
    for (;;) {
        long r = poll_fds(p, n);
        if (r == -kEintr) continue;
        if (r < 0) return false;
        if (p[0].revents) break;
        char c = 0;
        long got = sys(kRecvfrom, sync, reinterpret_cast<long>(&c), 1, kMsgDontwait, 0, 0);
        if (got == -kEagain || got == -kEintr) continue;
        if (got != 1 || c != static_cast<char>(husk::sync::Msg::Recorded)) return false;
        n = 1;
    }
    sys(kClose, sync);
    char byte;
    long r;
    while ((r = sys(kRead, fifo, reinterpret_cast<long>(&byte), 1)) == -kEintr) {
    }
    return r >= 0;
}

void put(long fd, const char* s, long n) {
    while (n > 0) {
        long w = sys(kWrite, fd, reinterpret_cast<long>(s), n);
        if (w <= 0) return;
        s += w;
        n -= w;
    }
}

}  // namespace

extern "C" [[noreturn]] void husk_exec_main(long* sp) {
    long argc = sp[0];
    char** argv = reinterpret_cast<char**>(sp + 1);
    char** envp = argv + argc + 1;
    long report = -1;
    long i = 1;
    for (; i < argc; ++i) {
        const char* a = argv[i];
        if (a[0] == '-' && a[1] == '-' && a[2] == 0) break;
        if (a[0] == 'k') {
            if (!restore_caps(a + 1)) {
                put(2, "husk-exec: restoring the capabilities failed\n", 45);
                exit_group(127);
            }
            continue;
        }
        const char* rest;
        long fd = parse_fd(a + 1, &rest);
        if (fd < 0) exit_group(127);
        if (a[0] == 's' && *rest == ',') {
            long sync = parse_fd(rest + 1, &rest);
            if (sync < 0 || *rest) exit_group(127);
            if (!wait_for_start(fd, sync)) exit_group(1);
        } else if (a[0] == 'w' && *rest == '=') {
            long n = length(rest + 1);
            if (sys(kWrite, fd, reinterpret_cast<long>(rest + 1), n) != n) {
                put(2, "husk-exec: writing the exec label failed\n", 41);
                exit_group(127);
            }
            sys(kClose, fd);
        } else if ((a[0] == 'c' || a[0] == 'e') && *rest == 0) {
            sys(kFcntl, fd, kSetFd, kCloexec);
            if (a[0] == 'e') report = fd;
        } else {
            exit_group(127);
        }
    }
    if (i + 2 >= argc) exit_group(127);  // no "--", PATH or ARGV0
    long err = -sys(kExecve, reinterpret_cast<long>(argv[i + 1]), reinterpret_cast<long>(argv + i + 2),
                    reinterpret_cast<long>(envp));
    char msg[24] = {static_cast<char>(husk::sync::Msg::ExecFailed)};
    long n = 1;
    char digits[12];
    long d = 0;
    for (long v = err; d == 0 || v > 0; v /= 10) digits[d++] = static_cast<char>('0' + v % 10);
    while (d > 0) msg[n++] = digits[--d];
    if (report >= 0) {
        put(report, msg, n);
    } else {
        put(2, "husk-exec: execve ", 18);
        put(2, argv[i + 1], length(argv[i + 1]));
        put(2, " failed: errno ", 15);
        put(2, msg + 1, n - 1);
        put(2, "\n", 1);
    }
    // As a shell does: 127 for a program that is not there, 126 for one that cannot run.
    exit_group(err == 2 ? 127 : 126);
}

#if defined(__x86_64__)
asm(".text\n.globl _start\n_start:\n xor %ebp, %ebp\n mov %rsp, %rdi\n and $-16, %rsp\n call husk_exec_main\n hlt\n");
#elif defined(__aarch64__)
asm(".text\n.globl _start\n_start:\n mov x29, #0\n mov x0, sp\n bl husk_exec_main\n");
#endif
