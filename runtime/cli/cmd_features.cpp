// features: the runtime-spec features.md document for what this build really does.
#include <iostream>

#include <nlohmann/json.hpp>

#include "args.hpp"
#include "cgroups/manager.hpp"
#include "commands.hpp"
#include "config.hpp"
#include "husk_version.h"

namespace husk::cli {

int cmd_features(const Globals&, std::vector<std::string> argv) {
    Args a(std::move(argv));
    auto pos = a.parse();
    if (a.help()) return print_usage("features", "Print the features husk supports as JSON.");
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
    linux["cgroup"] = {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", false}};
    linux["apparmor"] = {{"enabled", false}};
    linux["selinux"] = {{"enabled", false}};
    linux["intelRdt"] = {{"enabled", false}};
    linux["mountExtensions"] = {{"idmap", {{"enabled", false}}}};
    f["linux"] = linux;
    f["annotations"] = {{"io.github.husk.version", HUSK_VERSION}, {"io.github.husk.commit", HUSK_COMMIT},
                        {"io.github.husk.cgroup.layout", cgroups::layout_name(cgroups::detect_layout())}};
    std::cout << f.dump(4) << "\n";
    return 0;
}

}  // namespace husk::cli
