// The CLI commands: each parses its own flags and calls the container library.
#pragma once

#include <string>
#include <vector>

#include "runtime/container/container.hpp"

namespace husk::cli {

struct Globals {
    std::string root = "/run/husk";
    std::string log;
    std::string log_format = "text";
    bool debug = false;
    bool systemd_cgroup = false;
    std::string rootless = "auto";
    // --rootless true, or auto and not root, or root of a user namespace (rootlesskit, podman's
    // rootless namespace). Asked only by the commands that need it (a /proc read).
    bool rootless_mode() const;
};

using Command = int (*)(const Globals&, std::vector<std::string>);

struct CommandInfo {
    const char* name;
    Command run;
    const char* summary;
    // Needs the kernel features husk creates processes with (checked from uname() first).
    bool needs_kernel;
};

// Every command, in the order `husk --help` lists them.
const std::vector<CommandInfo>& commands();

int cmd_create(const Globals&, std::vector<std::string>);
int cmd_run(const Globals&, std::vector<std::string>);
int cmd_exec(const Globals&, std::vector<std::string>);
int cmd_start(const Globals&, std::vector<std::string>);
int cmd_state(const Globals&, std::vector<std::string>);
int cmd_list(const Globals&, std::vector<std::string>);
int cmd_kill(const Globals&, std::vector<std::string>);
int cmd_delete(const Globals&, std::vector<std::string>);
int cmd_pause(const Globals&, std::vector<std::string>);
int cmd_resume(const Globals&, std::vector<std::string>);
int cmd_spec(const Globals&, std::vector<std::string>);
int cmd_features(const Globals&, std::vector<std::string>);
int cmd_update(const Globals&, std::vector<std::string>);
int cmd_ps(const Globals&, std::vector<std::string>);
int cmd_events(const Globals&, std::vector<std::string>);
int cmd_checkpoint(const Globals&, std::vector<std::string>);
int cmd_restore(const Globals&, std::vector<std::string>);

class Args;
// The flags `create` and `run` share.
void add_create_flags(Args& a, container::CreateOptions& opt);

// The global flags (before the command name), and the values of them main uses itself.
struct GlobalFlags {
    std::string root;
    std::string criu;  // accepted for runc compatibility, ignored
    bool version = false;
};
void add_global_flags(Args& a, Globals& g, GlobalFlags& f);

std::string global_help();   // husk --help
std::string version_text();  // husk --version

// Prints usage_text() (usage, summary and the flags of a), for a command's --help.
int print_usage(const Args& a, const char* usage, const char* summary);

}  // namespace husk::cli
