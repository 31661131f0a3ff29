// features: the runtime-spec features.md document for what this build really does.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "args.hpp"
#include "runtime/cgroups/manager.hpp"
#include "commands.hpp"
#include "spec/config.hpp"
#include "husk_version.h"
#include "runtime/container/lsm.hpp"
#include "runtime/container/scheduling.hpp"
#include "runtime/container/seccomp.hpp"
#include "runtime/container/security.hpp"

namespace husk::cli {

int cmd_features(const Globals&, std::vector<std::string> argv) {
    Args a(std::move(argv));
    auto pos = a.parse();
    if (a.help()) return print_usage(a, "features", "Print the features husk supports as JSON.");
    expect_args("features", pos, 0, 0);
    using ojson = nlohmann::ordered_json;
    ojson f;
    f["ociVersionMin"] = "1.0.0";
    f["ociVersionMax"] = spec::kSpecVersion;
    f["hooks"] = {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};
    f["mountOptions"] = {"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "iversion",
                         "lazytime", "loud", "mand", "noatime", "nodev", "nodiratime", "noexec", "noiversion",
                         "nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid", "nosymfollow", "private",
                         "ratime", "rbind", "rdev", "rdiratime", "relatime", "remount", "rexec", "rnoatime",
                         "rnodev", "rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime", "rnosuid",
                         "rnosymfollow", "ro", "rprivate", "rrelatime", "rro", "rrw", "rshared", "rslave",
                         "rstrictatime", "rsuid", "rsymfollow", "runbindable", "rw", "shared", "silent", "slave",
                         "strictatime", "suid", "symfollow", "sync", "unbindable"};
    ojson linux;
    linux["namespaces"] = {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"};
    linux["cgroup"] = {{"v1", true}, {"v2", true}, {"systemd", true}, {"systemdUser", true}, {"rdma", true}};
    linux["capabilities"] = security::known_capabilities();
    // knownFlags: what husk can name; supportedFlags: what this libseccomp and kernel can set.
    std::vector<std::string> known_flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                            "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
    linux["seccomp"] = {{"enabled", true},
                        {"actions", seccomp::supported_actions()},
                        {"operators", seccomp::supported_operators()},
                        {"archs", seccomp::supported_architectures()},
                        {"knownFlags", known_flags},
                        {"supportedFlags", seccomp::supported_flags()}};
    linux["apparmor"] = {{"enabled", lsm::apparmor_enabled()}};
    linux["selinux"] = {{"enabled", lsm::selinux_enabled()}};
    linux["intelRdt"] = {{"enabled", false}};
    linux["netDevices"] = {{"enabled", true}};
    linux["memoryPolicy"] = {{"modes", scheduling::memory_policy_modes()}, {"flags", scheduling::memory_policy_flags()}};
    linux["mountExtensions"] = {{"idmap", {{"enabled", true}}}};
    f["linux"] = linux;
    f["annotations"] = {{"io.github.husk.version", HUSK_VERSION}, {"io.github.husk.commit", HUSK_COMMIT},
                        {"io.github.husk.cgroup.layout", cgroups::layout_name(cgroups::detect_layout())}};
    std::printf("%s\n", f.dump(4).c_str());
    return 0;
}

}  // namespace husk::cli
