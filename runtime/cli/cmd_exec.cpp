// exec: run another process in a running container, with runc's flags.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "args.hpp"
#include "commands.hpp"
#include "error.hpp"
#include "exec.hpp"
#include "fs.hpp"
#include "log.hpp"
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
    a.value({"process", "p"}, &process_file);
    a.boolean({"tty", "t"}, &tty);
    a.boolean({"detach", "d"}, &detach);
    a.value({"console-socket"}, &opt.console_socket);
    a.value({"pid-file"}, &opt.pid_file);
    a.repeated({"env", "e"}, &env);
    a.value({"cwd"}, &cwd);
    a.value({"user", "u"}, &user);
    a.repeated({"additional-gids", "g"}, &gids);
    a.repeated({"cap", "c"}, &caps);
    a.boolean({"no-new-privs"}, &no_new_privs);
    a.value({"apparmor"}, &apparmor);
    a.value({"process-label"}, &label);
    a.integer({"preserve-fds"}, &opt.preserve_fds);
    a.value({"cgroup"}, &opt.cgroup);
    a.boolean({"ignore-paused"}, &opt.ignore_paused);
    a.value({"pidfd-socket"}, &opt.pidfd_socket);
    auto pos = a.parse();
    if (a.help())
        return print_usage("exec [-t] [-d] [-p FILE] [-e K=V] [--cwd DIR] [-u UID[:GID]] [-g GID] [-c CAP] "
                           "[--console-socket PATH] [--pid-file PATH] [--preserve-fds N] [--cgroup PATH] "
                           "[--ignore-paused] CONTAINER-ID [COMMAND [ARGS...]]",
                           "Run a process inside a running container.");
    if (pos.empty()) throw Error("\"exec\" requires a container id");
    // As runc: once the command line is understood, every failure to start the process exits
    // 255, so that a caller can tell it from the status of a process that ran.
    try {
        opt.root = g.root;
        opt.id = pos[0];
        if (!process_file.empty()) {
            if (pos.size() > 1) throw Error("exec: give either --process or a command, not both");
            opt.process = spec::parse_process(fs::read_file(process_file));
        } else {
            if (pos.size() < 2) throw Error("exec: a command is required (or --process FILE)");
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
    } catch (const std::exception& e) {
        log::error(e.what());
        return 255;
    }
}

}  // namespace husk::cli
