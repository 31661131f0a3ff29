// The systemd driver's part of cgroups::Manager (--systemd-cgroup): the unit planned from
// linux.cgroupsPath, started around init, updated and stopped through systemd's manager. Kept
// apart from manager.cpp so that the cgroupfs path neither runs nor pages in any of it.
#include <sys/stat.h>

#include "runtime/cgroups/manager.hpp"
#include "runtime/cgroups/controller.hpp"
#include "runtime/cgroups/convert.hpp"
#include "client.hpp"
#include "common/fs.hpp"
#include "properties.hpp"
#include "unit_name.hpp"

namespace husk::cgroups {

Manager Manager::plan_systemd(const std::string& cgroups_path, const std::string& id, bool rootless,
                              const std::string& root) {
    systemd::UnitName name = systemd::parse_cgroups_path(cgroups_path, id, rootless);
    // A user's manager can be delegated only cgroup v2 controllers (as runc: an error on v1).
    if (rootless && detect_layout(root) != Layout::V2)
        throw Error(std::string("--systemd-cgroup: a rootless container needs cgroup v2; this host's controllers are ") +
                    layout_name(detect_layout(root)));
    // Connected now, so that a missing bus fails the create before init exists.
    auto client = std::make_shared<systemd::Client>(rootless ? systemd::Client::Bus::User : systemd::Client::Bus::System);
    // The user's manager runs in its own cgroup (user@UID.service): its units are below it.
    std::string below = rootless ? client->manager_property("ControlGroup").str() : "/";
    Manager m = plan(fs::clean(below + "/" + name.cgroup), id, root);
    // The same refusal as cgroupfs's (and runc's), before systemd is asked: a unit that runs
    // (another container's) has processes in its cgroup.
    m.refuse_busy();
    m.unit_ = name.unit;
    m.slice_ = name.slice;
    m.user_manager_ = rootless;
    m.client_ = std::move(client);
    return m;
}

systemd::Client& Manager::client() {
    if (!client_)
        client_ = std::make_shared<systemd::Client>(user_manager_ ? systemd::Client::Bus::User : systemd::Client::Bus::System);
    return *client_;
}

void Manager::start_unit(pid_t pid, const spec::Resources* r, const std::map<std::string, std::string>& annotations,
                         const std::string& description, const std::function<void(const nlohmann::json&)>& record) {
    using dbus::Value;
    // create's container::validate has checked r before anything was asked of systemd.
    systemd::Host host;
    host.v2 = layout_ == Layout::V2;
    // Rootless, device rules are left out (as runc): the user may not load a device program,
    // and in its user namespace the container cannot make device nodes anyway.
    bool devices = !user_manager_;
    // Asked only when a property depends on them: each is a round trip or a read.
    if (r && systemd::needs_version(*r)) host.version = client().version();
    if (r && devices) fs::try_read_file("/proc/devices", host.proc_devices);
    systemd::Properties p;
    p.emplace_back("Description", Value::string(description));
    if (systemd::UnitName{slice_, unit_, path_}.is_slice()) {
        // A slice holds no processes of its own in systemd's eyes: it gets none at creation,
        // and init is moved in through cgroupfs below, as for the hierarchies systemd leaves.
        p.emplace_back("Wants", Value::array("s", {Value::string(slice_)}));
    } else {
        p.emplace_back("Slice", Value::string(slice_));
        p.emplace_back("Delegate", Value::boolean(true));
        p.emplace_back("PIDs", Value::array("u", {Value::uint32(static_cast<uint32_t>(pid))}));
    }
    // Accounting on for every controller, so systemd realizes the unit in each of them (and
    // the cgroupfs writes below find their files).
    p.emplace_back("MemoryAccounting", Value::boolean(true));
    p.emplace_back("CPUAccounting", Value::boolean(true));
    p.emplace_back(host.v2 ? "IOAccounting" : "BlockIOAccounting", Value::boolean(true));
    p.emplace_back("TasksAccounting", Value::boolean(true));
    p.emplace_back("DefaultDependencies", Value::boolean(false));
    if (r) {
        systemd::Properties rp = systemd::resource_properties(*r, host, devices);
        p.insert(p.end(), rp.begin(), rp.end());
    }
    // Last, so that they override what husk set (systemd keeps the last value it is given).
    systemd::Properties ap = systemd::annotation_properties(annotations);
    p.insert(p.end(), ap.begin(), ap.end());

    client().start_transient(unit_, p);
    unit_started_ = true;
    try {
        if (record) {
            // The unit is ours; so are the directories missing now, once they exist. (Should
            // husk die before this, init dies too, and systemd removes the empty scope.)
            nlohmann::json intent = save();
            for (size_t i = 0; i < hierarchies_.size(); ++i) {
                struct stat st;
                intent["hierarchies"][i]["created"] = ::stat(hierarchies_[i].dir.c_str(), &st) != 0;
            }
            record(intent);
        }
        // The hierarchies systemd does not manage (freezer, cpuset, net_cls ... on v1): ours.
        make_missing_dirs();
        add(pid);
        if (r) write(*r, devices);
    } catch (...) {
        destroy();
        throw;
    }
}

// systemd takes the CPU quota as one number per second: an update that gives the quota or the
// period alone keeps the other as the cgroup has it (runc keeps it from its saved config).
spec::Resources Manager::with_cpu_in_force(const spec::Resources& r) const {
    if (!r.cpu || r.cpu->quota.has_value() == (r.cpu->period.has_value() && *r.cpu->period != 0)) return r;
    spec::Resources out = r;
    auto& c = *out.cpu;
    if (layout_ == Layout::V2) {
        const Hierarchy* h = find("");
        auto max = h ? read(h->dir, "cpu.max") : std::nullopt;
        if (!max) return r;
        auto f = split(*max, ' ');
        if (f.size() != 2) return r;
        if (!c.quota) c.quota = f[0] == "max" ? -1 : std::stoll(f[0]);
        if (!c.period || !*c.period) c.period = std::stoull(f[1]);
    } else {
        const Hierarchy* h = find("cpu");
        if (!h) return r;
        auto quota = read(h->dir, "cpu.cfs_quota_us"), period = read(h->dir, "cpu.cfs_period_us");
        if (!quota || !period) return r;
        if (!c.quota) c.quota = std::stoll(*quota);
        if (!c.period || !*c.period) c.period = std::stoull(*period);
    }
    return out;
}

void Manager::set_unit_properties(const spec::Resources& r) {
    systemd::Host host;
    host.v2 = layout_ == Layout::V2;
    if (systemd::needs_version(r)) host.version = client().version();
    client().set_properties(unit_, systemd::resource_properties(r, host, false));
}

void Manager::stop_unit() {
    client().stop(unit_);
    unit_started_ = false;
}

}  // namespace husk::cgroups
