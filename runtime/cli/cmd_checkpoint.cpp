// husk checkpoint / husk restore: listed and parsed as runc's, so that a caller's command line
// is understood, then refused: husk has no CRIU support.
#include <string>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "common/error.hpp"

namespace husk::cli {
namespace {

// The flags both commands share in runc, accepted and ignored.
struct CriuFlags {
    std::string image_path, work_path, cgroups_mode;
    bool tcp = false, unix_sk = false, shell_job = false, file_locks = false;
};

void add_criu_flags(Args& a, CriuFlags& f) {
    a.value({"image-path"}, &f.image_path, "DIR", "accepted for runc compatibility (no checkpoint/restore)");
    a.value({"work-path"}, &f.work_path, "DIR", "accepted for runc compatibility (no checkpoint/restore)");
    a.boolean({"tcp-established"}, &f.tcp, "accepted for runc compatibility (no checkpoint/restore)");
    a.boolean({"ext-unix-sk"}, &f.unix_sk, "accepted for runc compatibility (no checkpoint/restore)");
    a.boolean({"shell-job"}, &f.shell_job, "accepted for runc compatibility (no checkpoint/restore)");
    a.boolean({"file-locks"}, &f.file_locks, "accepted for runc compatibility (no checkpoint/restore)");
    a.value({"manage-cgroups-mode"}, &f.cgroups_mode, "MODE", "accepted for runc compatibility (no checkpoint/restore)");
}

[[noreturn]] void unsupported(const char* command) {
    throw Error(std::string(command) +
                ": not supported on this build/host: husk has no checkpoint/restore (CRIU) support");
}

}  // namespace

int cmd_checkpoint(const Globals&, std::vector<std::string> argv) {
    CriuFlags f;
    std::string parent;
    bool leave_running = false, pre_dump = false;
    Args a(std::move(argv));
    add_criu_flags(a, f);
    a.value({"parent-path"}, &parent, "DIR", "accepted for runc compatibility (no checkpoint/restore)");
    a.boolean({"leave-running"}, &leave_running, "accepted for runc compatibility (no checkpoint/restore)");
    a.boolean({"pre-dump"}, &pre_dump, "accepted for runc compatibility (no checkpoint/restore)");
    auto pos = a.parse();
    if (a.help())
        return print_usage(a, "checkpoint [options] CONTAINER-ID",
                           "Checkpoint a running container: not supported (husk has no CRIU).");
    expect_args("checkpoint", pos, 1, 1);
    unsupported("checkpoint");
}

int cmd_restore(const Globals&, std::vector<std::string> argv) {
    CriuFlags f;
    std::string bundle, pid_file, console_socket;
    bool detach = false, no_subreaper = false, no_pivot = false;
    Args a(std::move(argv));
    add_criu_flags(a, f);
    a.value({"bundle", "b"}, &bundle, "DIR", "accepted for runc compatibility (no checkpoint/restore)");
    a.boolean({"detach", "d"}, &detach, "accepted for runc compatibility (no checkpoint/restore)");
    a.value({"pid-file"}, &pid_file, "PATH", "accepted for runc compatibility (no checkpoint/restore)");
    a.value({"console-socket"}, &console_socket, "PATH", "accepted for runc compatibility (no checkpoint/restore)");
    a.boolean({"no-subreaper"}, &no_subreaper, "accepted for runc compatibility (no checkpoint/restore)");
    a.boolean({"no-pivot"}, &no_pivot, "accepted for runc compatibility (no checkpoint/restore)");
    auto pos = a.parse();
    if (a.help())
        return print_usage(a, "restore [options] CONTAINER-ID",
                           "Restore a container from a checkpoint: not supported (husk has no CRIU).");
    expect_args("restore", pos, 1, 1);
    unsupported("restore");
}

}  // namespace husk::cli
