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
// Anything else (say, run as a script's interpreter through /proc/self/exe) exits 127.

namespace {

#if defined(__x86_64__)
constexpr long kWrite = 1, kClose = 3, kFcntl = 72, kExecve = 59, kExitGroup = 231;
long sys(long n, long a = 0, long b = 0, long c = 0) {
    long r;
    asm volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}
#elif defined(__aarch64__)
constexpr long kWrite = 64, kClose = 57, kFcntl = 25, kExecve = 221, kExitGroup = 94;
long sys(long n, long a = 0, long b = 0, long c = 0) {
    register long x8 asm("x8") = n, x0 asm("x0") = a, x1 asm("x1") = b, x2 asm("x2") = c;
    asm volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
}
#else
#error "husk-exec: add this architecture's system call numbers"
#endif

constexpr long kSetFd = 2, kCloexec = 1;

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
        const char* rest;
        long fd = parse_fd(a + 1, &rest);
        if (fd < 0) exit_group(127);
        if (a[0] == 'w' && *rest == '=') {
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
    char msg[24] = {'X'};
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
