#include "exec_stub.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "common/error.hpp"
#include "exec_stub_image.hpp"
#include "common/proc.hpp"
#include "runtime/exec_stub/sync_msg.hpp"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

namespace husk::exec_stub {
namespace {

UniqueFd sealed_copy() {
    // MFD_EXEC (Linux 6.3) says so where vm.memfd_noexec asks; older kernels refuse the flag.
    UniqueFd fd(::memfd_create("husk-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC));
    if (!fd && errno == EINVAL) fd.reset(::memfd_create("husk-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd) throw_errno("memfd_create for the exec stub (vm.memfd_noexec=2 forbids executable memfds)");
    const unsigned char* p = kExecStubImage;
    size_t left = sizeof kExecStubImage;
    while (left > 0) {
        ssize_t n = ::write(fd.get(), p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw_errno("write the exec stub");
        p += n;
        left -= static_cast<size_t>(n);
    }
    int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
    if (::fcntl(fd.get(), F_ADD_SEALS, seals | F_SEAL_EXEC) != 0 && ::fcntl(fd.get(), F_ADD_SEALS, seals) != 0)
        throw_errno("seal the exec stub");
    return fd;
}

bool permits(const std::string& action) { return action == "SCMP_ACT_ALLOW" || action == "SCMP_ACT_LOG"; }

}  // namespace

bool allows_execveat(const spec::Seccomp& s) {
    bool named = false;
    for (const auto& rule : s.syscalls) {
        bool names_it = false;
        for (const auto& n : rule.names) names_it = names_it || n == "execveat";
        if (!names_it) continue;
        // A rule with conditions may be about any argument: not plainly allowed.
        if (!rule.args.empty() || !permits(rule.action)) return false;
        named = true;
    }
    return named || permits(s.default_action);
}

Stub make(const spec::Seccomp* seccomp) {
    Stub s;
    s.fd = sealed_copy();
    s.via = !seccomp || allows_execveat(*seccomp) ? Via::Execveat : Via::ProcFd;
    return s;
}

int exec(const Stub& stub, const std::string& path, const std::vector<std::string>& argv,
         const std::vector<std::string>& env, const Handoff& handoff) {
    std::vector<std::string> args{"husk-exec"};
    // Each fd stays open through the stub's own execve; the stub uses or closes it.
    auto keep = [&](char kind, int fd, const std::string* text = nullptr, const std::string& suffix = {}) {
        if (::fcntl(fd, F_SETFD, 0) != 0) return false;
        std::string d(1, kind);
        d += std::to_string(fd) + suffix;
        if (text) d += '=' + *text;
        args.push_back(std::move(d));
        return true;
    };
    if (handoff.wait_fifo >= 0) {
        std::string sync = std::to_string(handoff.wait_sync);
        if (::fcntl(handoff.wait_sync, F_SETFD, 0) != 0 || !keep('s', handoff.wait_fifo, nullptr, "," + sync))
            return errno;
    }
    for (const auto& [fd, text] : handoff.writes)
        if (!keep('w', fd.get(), &text)) return errno;
    for (int fd : handoff.close_at_exec)
        if (!keep('c', fd)) return errno;
    if (handoff.report_fd >= 0 && !keep('e', handoff.report_fd)) return errno;
    if (handoff.caps) {
        char k[64];
        std::snprintf(k, sizeof k, "k%llx,%llx,%llx", static_cast<unsigned long long>((*handoff.caps)[0]),
                      static_cast<unsigned long long>((*handoff.caps)[1]),
                      static_cast<unsigned long long>((*handoff.caps)[2]));
        args.push_back(k);
    }
    args.push_back("--");
    args.push_back(path);
    args.insert(args.end(), argv.begin(), argv.end());
    auto av = proc::cstrings(args);
    auto ev = proc::cstrings(env);
    if (stub.via == Via::Execveat)
        ::syscall(SYS_execveat, stub.fd.get(), "", av.data(), ev.data(), AT_EMPTY_PATH);
    else
        ::execve(("/proc/self/fd/" + std::to_string(stub.fd.get())).c_str(), av.data(), ev.data());
    return errno;
}

int reported_errno(const std::string& msg) {
    if (msg.size() < 2 || msg[0] != static_cast<char>(sync::Msg::ExecFailed)) return 0;
    return std::atoi(msg.c_str() + 1);
}

}  // namespace husk::exec_stub
