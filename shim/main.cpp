// containerd-shim-husk-v2: containerd's runtime v2 shim for husk. Dispatches the binary's
// commands; the server itself lives in serve.cpp.
#include <cstdio>
#include <cstring>

#include "bootstrap.hpp"
#include "common/error.hpp"
#include "husk_version.h"

int main(int argc, char** argv) {
    using namespace husk::shim;
    try {
        Flags f = parse_flags(argc, argv);
        if (f.action == "start") return cmd_start(f);
        if (f.action == "delete") return cmd_delete(f);
        if (f.action == "version") {
            std::printf("containerd-shim-husk-v2:\n  Version: %s\n  Revision: %s\n", HUSK_VERSION, HUSK_COMMIT);
            return 0;
        }
        std::fprintf(stderr, "containerd-shim-husk-v2: unknown or missing command \"%s\" (start, delete)\n",
                     f.action.c_str());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "containerd-shim-husk-v2: %s\n", e.what());
        return 1;
    }
}
