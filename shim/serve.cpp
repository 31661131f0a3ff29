#include "serve.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "common/error.hpp"
#include "event_loop.hpp"
#include "publisher.hpp"
#include "task_service.hpp"

namespace husk::shim {
namespace {

// containerd opens <bundle>/log for reading before it starts the shim and copies it to its log;
// the server's stderr goes there.
void open_log(const std::string& bundle) {
    std::string path = bundle + "/log";
    int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return;
    ::dup2(fd, 2);
    ::close(fd);
}

}  // namespace

int serve(const ServeConfig& cfg, const TransportFactory& make_transport) {
    try {
        open_log(cfg.bundle);
        ::prctl(PR_SET_CHILD_SUBREAPER, 1);
        ::signal(SIGPIPE, SIG_IGN);
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        ::sigprocmask(SIG_BLOCK, &mask, nullptr);
        UniqueFd sfd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
        if (!sfd) throw_errno("signalfd");

        EventLoop loop;
        const char* ttrpc_address = std::getenv("TTRPC_ADDRESS");
        Publisher pub(loop, ttrpc_address ? ttrpc_address : "", cfg.ns);
        Transport* server_ptr = nullptr;
        ServiceConfig sc;
        sc.ns = cfg.ns;
        sc.default_binary = kDefaultRuntime;
        sc.debug = cfg.debug;
        sc.on_shutdown = [&] {
            pub.drain(2000);
            if (server_ptr) server_ptr->flush();
            ::unlink(cfg.socket_path.c_str());
            loop.stop();
        };
        TaskService service(loop, pub, sc);
        std::unique_ptr<Transport> server =
            make_transport(loop, [&](const Call& c, const Responder& r) { service.dispatch(c, r); });
        server_ptr = server.get();
        // containerd gone and nothing to supervise (say, a Create that failed and was never
        // followed by Shutdown): nobody will ever call again, so do not linger.
        server->on_idle([&] {
            if (service.empty()) loop.after(std::chrono::milliseconds(0), sc.on_shutdown);
        });

        loop.add(sfd.get(), EPOLLIN, [&](uint32_t) {
            signalfd_siginfo si;
            while (::read(sfd.get(), &si, sizeof si) == sizeof si) {
            }
            // Every child is reaped here, containers and re-parented orphans alike, so none
            // stays a zombie; runtime commands are waited for where they run.
            for (;;) {
                int st = 0;
                pid_t pid = ::waitpid(-1, &st, WNOHANG);
                if (pid <= 0) break;
                service.on_exit(pid, st);
            }
        });
        loop.run();
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "containerd-shim-husk-v2: %s\n", e.what());
        ::unlink(cfg.socket_path.c_str());
        return 1;
    }
}

}  // namespace husk::shim
