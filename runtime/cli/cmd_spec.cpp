// spec: writes a default config.json like runc's, for a rootfs in ./rootfs.
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "args.hpp"
#include "commands.hpp"
#include "runtime/cgroups/layout.hpp"
#include "spec/config.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"

namespace husk::cli {
namespace {

using ojson = nlohmann::ordered_json;

ojson default_spec(bool rootless) {
    ojson caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    ojson s;
    s["ociVersion"] = spec::kSpecVersion;
    s["process"] = {
        {"terminal", true},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", {"sh"}},
        {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
        {"cwd", "/"},
        {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
        {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
        {"noNewPrivileges", true}};
    s["root"] = {{"path", "rootfs"}, {"readonly", true}};
    s["hostname"] = "husk";
    ojson mounts = ojson::array();
    auto mount = [&](const char* dest, const char* type, const char* src, ojson opts) {
        ojson m = {{"destination", dest}, {"type", type}, {"source", src}};
        if (!opts.empty()) m["options"] = opts;
        mounts.push_back(m);
    };
    mount("/proc", "proc", "proc", ojson::array());
    mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"});
    if (rootless)
        mount("/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"});
    else
        mount("/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"});
    mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"});
    mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"});
    if (rootless)
        mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"});
    else
        mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"});
    mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"});
    s["mounts"] = mounts;
    ojson linux;
    if (!rootless) linux["resources"] = {{"devices", {{{"allow", false}, {"access", "rwm"}}}}};
    if (rootless) {
        linux["uidMappings"] = {{{"containerID", 0}, {"hostID", ::getuid()}, {"size", 1}}};
        linux["gidMappings"] = {{{"containerID", 0}, {"hostID", ::getgid()}, {"size", 1}}};
    }
    ojson nss = ojson::array();
    // As runc's: a cgroup namespace on a pure cgroup v2 host only (on v1 and hybrid hosts,
    // callers and runc's tests expect the host's cgroup paths inside); rootless, the host's
    // network (no netns a user could wire up) and no cgroup namespace (there may be no cgroup
    // of its own to root it at).
    bool cgroupns = !rootless && cgroups::detect_layout() == cgroups::Layout::V2;
    for (const char* t : {"pid", "network", "ipc", "uts", "mount"})
        if (!rootless || std::string(t) != "network") nss.push_back({{"type", t}});
    if (cgroupns) nss.push_back({{"type", "cgroup"}});
    if (rootless) nss.push_back({{"type", "user"}});
    linux["namespaces"] = nss;
    linux["maskedPaths"] = {"/proc/acpi",         "/proc/asound",    "/proc/kcore",       "/proc/keys",
                            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                            "/sys/firmware",       "/proc/scsi"};
    linux["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
    s["linux"] = linux;
    return s;
}

}  // namespace

int cmd_spec(const Globals&, std::vector<std::string> argv) {
    std::string bundle;
    bool rootless = false;
    Args a(std::move(argv));
    a.value({"bundle", "b"}, &bundle, "DIR", "write DIR/config.json (default: the current directory)");
    a.boolean({"rootless"}, &rootless, "a config for a user other than root (user namespace, no cgroup limits)");
    auto pos = a.parse();
    if (a.help()) return print_usage(a, "spec [options]", "Write a default config.json.");
    expect_args("spec", pos, 0, 0);
    std::string path = (bundle.empty() ? std::string(".") : bundle) + "/config.json";
    if (fs::exists(path)) throw Error("File " + path + " exists. Remove it first");
    fs::write_file(path, default_spec(rootless).dump(1, '\t') + "\n", O_WRONLY | O_CREAT | O_EXCL, 0666);
    return 0;
}

}  // namespace husk::cli
