// exec: run another process in a running container, with runc's flags.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "args.hpp"
#include "commands.hpp"
#include "common/error.hpp"
#include "runtime/container/exec.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "supervise.hpp"

namespace husk::cli {
namespace {

// "UID[:GID]" as runc takes it.
void apply_user(spec::Process& p, const std::string& user) {
    auto number = [&](const std::string& s) {
        char* end = nullptr;
        unsigned long v = std::strtoul(s.c_str(), &end, 10);
        if (s.empty() || *end || v > 0xffffffffUL) throw Error("--user: \"" + user + "\" is not UID[:GID]");
        return static_cast<uint32_t>(v);
    };
    size_t colon = user.find(':');
    p.user.uid = number(user.substr(0, colon));
    if (colon != std::string::npos) p.user.gid = number(user.substr(colon + 1));
}

void set_env(std::vector<std::string>& env, const std::string& kv) {
    if (kv.find('=') == std::string::npos) throw Error("--env: \"" + kv + "\" is not KEY=value");
    std::string key = kv.substr(0, kv.find('=') + 1);
    for (auto& e : env)
        if (e.rfind(key, 0) == 0) {
            e = kv;
            return;
        }
    env.push_back(kv);
}

}  // namespace

int cmd_exec(const Globals& g, std::vector<std::string> argv) {
    exec::Options opt;
    std::string process_file, cwd, user, apparmor, label;
    std::vector<std::string> env, caps, gids;
    bool tty = false, detach = false, no_new_privs = false;
    Args a(std::move(argv));
    a.flags_before_args();
    a.value({"process", "p"}, &process_file, "FILE", "run the runtime-spec process in FILE (JSON) instead of COMMAND");
    a.boolean({"tty", "t"}, &tty, "give the process a terminal");
    a.boolean({"detach", "d"}, &detach, "return once the process runs instead of waiting for it");
    a.value({"console-socket"}, &opt.console_socket, "PATH", "unix socket to send the terminal's master fd to");
    a.value({"pid-file"}, &opt.pid_file, "PATH", "write the host pid of the process to PATH");
    a.repeated({"env", "e"}, &env, "KEY=VALUE", "set an environment variable (repeatable)");
    a.value({"cwd"}, &cwd, "DIR", "working directory in the container");
    a.value({"user", "u"}, &user, "UID[:GID]", "run as this numeric user and group");
    a.repeated({"additional-gids", "g"}, &gids, "GID", "add a supplementary group (repeatable)");
    a.repeated({"cap", "c"}, &caps, "CAP", "add a capability, e.g. CAP_NET_ADMIN (repeatable)");
    a.boolean({"no-new-privs"}, &no_new_privs, "set no_new_privs: execve cannot gain privileges");
    a.value({"apparmor"}, &apparmor, "PROFILE", "run under this AppArmor profile");
    a.value({"process-label"}, &label, "LABEL", "run with this SELinux process label");
    a.integer({"preserve-fds"}, &opt.preserve_fds, "N", "pass N more fds, from fd 3 on, to the process");
    a.repeated({"cgroup"}, &opt.cgroups, "[CTRL[,CTRL]:]PATH",
               "run in this sub-cgroup of the container's cgroup (repeat for other controllers)");
    a.boolean({"ignore-paused"}, &opt.ignore_paused, "run the process even if the container is paused");
    a.value({"pidfd-socket"}, &opt.pidfd_socket, "PATH", "unix socket to send a pidfd of the process to");
    auto pos = a.parse();
    if (a.help())
        return print_usage(a, "exec [options] CONTAINER-ID [COMMAND [ARGS...]]",
                           "Run a process inside a running container.");
    if (pos.empty()) throw UsageError("\"exec\" requires a container id");
    // As runc: once the command line is understood, every failure to start the process exits
    // 255, so that a caller can tell it from the status of a process that ran.
    try {
        opt.root = g.root;
        opt.id = pos[0];
        if (!process_file.empty()) {
            if (pos.size() > 1) throw UsageError("exec: give either --process or a command, not both");
            opt.process = spec::parse_process(fs::read_file(process_file));
        } else {
            if (pos.size() < 2) throw UsageError("exec: a command is required (or --process FILE)");
            opt.process = exec::config_process(opt.root, opt.id);
            opt.process.args.assign(pos.begin() + 1, pos.end());
            opt.process.terminal = tty;
            opt.process.console_size.reset();
        }
        spec::Process& p = opt.process;
        if (tty) p.terminal = true;
        for (const auto& e : env) set_env(p.env, e);
        if (!cwd.empty()) p.cwd = cwd;
        if (!user.empty()) apply_user(p, user);
        for (const auto& gid : gids) {
            spec::Process tmp;
            apply_user(tmp, gid);
            p.user.additional_gids.push_back(tmp.user.uid);
        }
        if (!caps.empty()) {
            if (!p.capabilities) p.capabilities.emplace();
            for (const auto& c : caps) {
                p.capabilities->bounding.push_back(c);
                p.capabilities->effective.push_back(c);
                p.capabilities->permitted.push_back(c);
            }
        }
        if (no_new_privs) p.no_new_privileges = true;
        if (!apparmor.empty()) p.apparmor_profile = apparmor;
        if (!label.empty()) p.selinux_label = label;
        opt.foreground = !detach;

        sigset_t set = forwarded_signals();
        if (!detach) ::sigprocmask(SIG_BLOCK, &set, nullptr);
        exec::Started s = exec::start(opt);
        if (detach) return 0;
        int sigfd = ::signalfd(-1, &set, SFD_CLOEXEC);
        if (sigfd < 0) throw_errno("signalfd");
        int code = supervise(s.pid, s.pidfd.get(), s.console_master.get(), sigfd);
        ::close(sigfd);
        return code;
    } catch (const UsageError&) {
        throw;
    } catch (const std::exception& e) {
        log::error(e.what());
        return 255;
    }
}

}  // namespace husk::cli
