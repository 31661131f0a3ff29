// containerd-shim-husk-v2-grpc: the shim's server over gRPC. `containerd-shim-husk-v2 start` runs
// it when gRPC is asked for, so the default (ttrpc) shim never links or loads gRPC.
#include <fcntl.h>

#include <cstdio>
#include <cstdlib>

#include "bootstrap.hpp"
#include "common/error.hpp"
#include "grpc_server.hpp"
#include "husk_version.h"
#include "serve.hpp"

int main(int argc, char** argv) {
    using namespace husk::shim;
    try {
        Flags f = parse_flags(argc, argv);
        if (f.action == "version") {
            std::printf("%s:\n  Version: %s\n  Revision: %s\n", kGrpcServerBinary, HUSK_VERSION, HUSK_COMMIT);
            return 0;
        }
        if (f.action != "serve" || f.ns.empty() || f.bundle.empty() || f.socket_path.empty()) {
            std::fprintf(stderr, "%s: run by containerd-shim-husk-v2 start as "
                                 "`-namespace NS -bundle DIR -husk-socket PATH serve` with the listener as fd %d\n",
                         kGrpcServerBinary, kListenFd);
            return 1;
        }
        // Inherited without close-on-exec; the runtime and containers must not get it.
        if (::fcntl(kListenFd, F_SETFD, FD_CLOEXEC) != 0) husk::throw_errno("listening socket (fd 3)");
        ServeConfig sc{f.ns, f.bundle, f.socket_path, f.debug};
        return serve(sc, [](husk::shim::EventLoop& loop, Dispatch d) {
            return std::make_unique<GrpcServer>(loop, std::move(d), husk::UniqueFd(kListenFd));
        });
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", kGrpcServerBinary, e.what());
        return 1;
    }
}
