#include "manager.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "convert.hpp"
#include "tree.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "v1/controllers.hpp"
#include "v2/controllers.hpp"

namespace husk::cgroups {
namespace {

void copy_cpuset_from_parent(const std::string& dir) {
    std::string parent = dir.substr(0, dir.rfind('/'));
    for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
        std::string cur;
        if (fs::try_read_file(dir + "/" + f, cur) && !trim(cur).empty()) continue;
        std::string val;
        if (!fs::try_read_file(parent + "/" + f, val) || trim(val).empty()) continue;
        std::string path = dir + "/" + f, v = trim(val);
        UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
        if (fd && ::write(fd.get(), v.data(), v.size()) == static_cast<ssize_t>(v.size())) continue;
        if (errno == EACCES || errno == EPERM || errno == EROFS)
            throw NotPermitted("write " + path + ": " + std::strerror(errno));
        throw_errno("write " + path);
    }
}

// On v2 a controller's files appear in a cgroup only once its parent enables it in
// cgroup.subtree_control; enable every controller the parent has, from the root down.
void enable_controllers(const std::string& mountpoint, const std::string& dir) {
    std::string rel = dir.substr(mountpoint.size());
    std::string cur = mountpoint;
    for (const auto& part : split(rel, '/')) {
        if (part.empty()) continue;
        auto available = read(cur, "cgroup.controllers");
        for (const auto& c : split(available.value_or(""), ' ')) {
            if (c.empty()) continue;
            // A controller may be refused (e.g. a parent with processes of its own); the apply
            // step then reports the resource that needed it.
            try {
                set(cur, "cgroup.subtree_control", "+" + c, "cgroup.subtree_control");
            } catch (const Error& e) {
                log::debug(e.what());
            }
        }
        cur += "/" + part;
    }
}

std::string unavailable(const Controller& c) {
    return std::string(c.field) + ": the " + c.name + " controller is not available on this host";
}

}  // namespace

Manager Manager::plan(const std::string& cgroups_path, const std::string& id, const std::string& root) {
    for (const auto& part : {std::string("/") + cgroups_path + "/"}) {
        if (part.find("/../") != std::string::npos)
            throw Error("linux.cgroupsPath: \"" + cgroups_path + "\" must not contain \"..\"");
    }
    if (cgroups_path.find(':') != std::string::npos && cgroups_path.find('/') == std::string::npos)
        throw Error("linux.cgroupsPath: \"" + cgroups_path +
                    "\" is a systemd slice:prefix:name path, for the systemd cgroup driver (--systemd-cgroup)");
    Manager m;
    m.layout_ = detect_layout(root);
    bool relative = !cgroups_path.empty() && cgroups_path[0] != '/';
    // No path: /<id>, where runc puts it when run from the root cgroup. One level, so delete
    // removes one directory per hierarchy and parallel containers share no parent.
    m.path_ = cgroups_path.empty() ? "/" + id : fs::clean(cgroups_path);
    std::map<std::string, std::string> own = relative ? own_cgroups() : std::map<std::string, std::string>{};
    auto add = [&](const std::string& controllers, const std::string& mountpoint) {
        auto it = own.find(controllers);
        std::string base = relative && it != own.end() ? it->second : "/";
        std::string rel = fs::clean(base + "/" + m.path_);
        m.hierarchies_.push_back({controllers, mountpoint, fs::clean(mountpoint + rel), false});
    };
    if (m.layout_ == Layout::V2) {
        add("", root);
    } else {
        for (auto& [ctrls, mp] : v1_mounts(root)) add(ctrls, mp);
        if (m.layout_ == Layout::Hybrid) add("", root + "/unified");
    }
    return m;
}

void Manager::make_missing_dirs() {
    for (auto& h : hierarchies_) {
        struct stat st;
        if (::stat(h.dir.c_str(), &st) == 0) continue;
        bool cpuset = h.controllers.find("cpuset") != std::string::npos;
        std::string rel = h.dir.substr(h.mountpoint.size());
        for (size_t pos = 1; pos <= rel.size();) {
            size_t next = rel.find('/', pos);
            if (next == std::string::npos) next = rel.size();
            std::string cur = h.mountpoint + rel.substr(0, next);
            pos = next + 1;
            if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("create cgroup " + cur);
            if (cpuset) copy_cpuset_from_parent(cur);
        }
        h.created = true;
    }
}

const Hierarchy* Manager::find(const std::string& controller) const {
    for (auto& h : hierarchies_) {
        if (controller.empty() ? h.unified() : false) return &h;
        for (const auto& c : split(h.controllers, ','))
            if (c == controller) return &h;
    }
    return nullptr;
}

std::vector<bool> Manager::refuse_busy() const {
    // As runc (since 1.1): a container gets a cgroup of its own. Joining one with processes,
    // its own or in cgroups below it, would apply this config's limits and device rules to them
    // (think of a container named after a systemd slice), and init would hang in a frozen one.
    std::vector<bool> existed;
    for (auto& h : hierarchies_) {
        struct stat st;
        existed.push_back(::stat(h.dir.c_str(), &st) == 0);
        if (!existed.back()) continue;
        bool busy = false;
        if (auto events = read(h.dir, "cgroup.events")) {
            for (const auto& line : split(*events, '\n')) busy = busy || line == "populated 1";  // v2: the subtree
        } else {
            busy = has_processes_below(h.dir);
        }
        // runc's words first (its tests and callers match them), then which cgroup.
        if (busy)
            throw Error("linux.cgroupsPath: container's cgroup is not empty: " + h.dir +
                        " or a cgroup below it has processes");
        if (frozen_now(h)) throw Error("linux.cgroupsPath: container's cgroup unexpectedly frozen: " + h.dir);
    }
    return existed;
}

void Manager::create(const std::function<void(const nlohmann::json&)>& record) {
    std::vector<bool> existed = refuse_busy();
    if (record) {
        // Those missing now are ours once they exist (make_dirs refuses one made meanwhile).
        nlohmann::json intent = save();
        for (size_t i = 0; i < existed.size(); ++i) intent["hierarchies"][i]["created"] = !existed[i];
        record(intent);
    }
    std::vector<std::string> made;
    try {
        make_dirs(made);
        // A new cgroup under a frozen parent is born frozen: init would never report back. (A
        // root cgroup cannot be frozen: nothing to read for the default /<id>.)
        for (auto& h : hierarchies_)
            if (h.created && h.dir.rfind('/') > h.mountpoint.size() && frozen_now(h))
                throw Error("linux.cgroupsPath: container's cgroup unexpectedly frozen (by a parent): " + h.dir);
    } catch (...) {
        for (auto it = made.rbegin(); it != made.rend(); ++it) ::rmdir(it->c_str());
        for (auto& h : hierarchies_) h.created = false;
        throw;
    }
}

void Manager::make_dirs(std::vector<std::string>& made) {
    for (auto& h : hierarchies_) {
        struct stat st;
        if (::stat(h.dir.c_str(), &st) == 0) {
            if (layout_ == Layout::V2) enable_controllers(h.mountpoint, h.dir);
            continue;
        }
        bool cpuset = h.controllers.find("cpuset") != std::string::npos;
        std::string rel = h.dir.substr(h.mountpoint.size());
        // Containers created in parallel may share a parent: whoever owns it can remove it between
        // our mkdirs (walk again, bounded), and another create may have made it without its
        // cpuset.cpus/mems yet (fill them in; a no-op once set). bench/throughput.sh found both.
        for (int attempt = 0;; ++attempt) {
            bool vanished = false;
            size_t pos = 1;
            while (pos <= rel.size()) {
                size_t next = rel.find('/', pos);
                if (next == std::string::npos) next = rel.size();
                std::string cur = h.mountpoint + rel.substr(0, next);
                pos = next + 1;
                if (::mkdir(cur.c_str(), 0755) == 0) {
                    made.push_back(cur);
                } else {
                    if (errno == ENOENT && pos > 1 && attempt < 20) {
                        vanished = true;
                        break;
                    }
                    if (errno == EACCES || errno == EPERM || errno == EROFS)
                        throw NotPermitted("create cgroup " + cur + ": " + std::strerror(errno));
                    if (errno != EEXIST) throw_errno("create cgroup " + cur);
                    // Not there a moment ago: someone else's now, not ours to use or remove.
                    if (cur == h.dir)
                        throw Error("linux.cgroupsPath: cgroup " + h.dir + " was created by someone else meanwhile");
                }
                if (cpuset) copy_cpuset_from_parent(cur);
            }
            if (!vanished) break;
        }
        h.created = true;
        if (layout_ == Layout::V2) enable_controllers(h.mountpoint, h.dir);
    }
}

void Manager::apply(const spec::Resources& r, bool initial) {
    if (!initial) validate(r);
    // As runc: systemd first, which would otherwise undo the cgroupfs writes when it next
    // applies the unit's settings (a daemon-reload), then the exact values through cgroupfs.
    if (uses_systemd() && !initial) {
        // The quota as systemd rounds it is then made exact through cgroupfs: both halves.
        spec::Resources full = with_cpu_in_force(r);
        // On v1, systemd rewrites the devices cgroup of the unit from scratch on every change
        // (deny all, then each allow): frozen meanwhile, the container never sees the gap.
        bool thaw_after = layout_ != Layout::V2 && find("freezer") && !frozen();
        if (thaw_after) freeze();
        try {
            set_unit_properties(full);
        } catch (...) {
            if (thaw_after) thaw();
            throw;
        }
        if (thaw_after) thaw();
        write(full, initial);
        return;
    }
    write(r, initial);
}

void Manager::write(const spec::Resources& r, bool devices) {
    bool initial = devices;
    if (layout_ == Layout::V2) {
        const Hierarchy* h = find("");
        if (!h) throw Error("cgroup v2 hierarchy not found");
        if (r.network && (r.network->class_id || !r.network->priorities.empty()))
            throw Error("linux.resources.network: cgroup v2 has no net_cls/net_prio controllers");
        std::string enabled = " " + read(h->dir, "cgroup.controllers").value_or("") + " ";
        for (const Controller* c : v2::controllers()) {
            if (!c->wanted(r)) continue;
            if (enabled.find(std::string(" ") + c->name + " ") == std::string::npos) throw Error(unavailable(*c));
            c->apply(r, h->dir);
        }
        v2::apply_unified(r.unified, h->dir);
        if (initial) v2::apply_devices(r.devices, h->dir);
        return;
    }
    if (!r.unified.empty())
        throw Error(std::string("invalid configuration: linux.resources.unified: needs cgroup v2, but this host's controllers are cgroup v1 (") +
                    layout_name(layout_) + ")");
    for (const Controller* c : v1::controllers()) {
        if (c == &v1::devices && !initial) continue;
        if (!c->wanted(r)) continue;
        const Hierarchy* h = find(c->name);
        if (!h) {
            // Without a devices hierarchy only explicit rules are an error; the defaults have
            // nothing to restrict.
            if (c == &v1::devices && r.devices.empty()) continue;
            throw Error(unavailable(*c));
        }
        c->apply(r, h->dir);
    }
}

nlohmann::json Manager::stats() const {
    Json out = Json::object();
    if (layout_ == Layout::V2) {
        if (const Hierarchy* h = find(""))
            for (const Controller* c : v2::controllers()) c->stats(h->dir, out);
        return out;
    }
    for (const Controller* c : v1::controllers())
        if (const Hierarchy* h = find(c->name)) c->stats(h->dir, out);
    return out;
}

std::string Manager::memory_dir() const {
    const Hierarchy* h = layout_ == Layout::V2 ? find("") : find("memory");
    return h ? h->dir : "";
}

int Manager::open_unified() const {
    if (uses_systemd()) return -1;  // the unit's cgroup is made around init, after the clone
    for (auto& h : hierarchies_)
        if (h.unified() && layout_ == Layout::V2) return ::open(h.dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    return -1;
}

void Manager::add(pid_t pid) {
    for (auto& h : hierarchies_) fs::write_file(h.dir + "/cgroup.procs", std::to_string(pid), O_WRONLY);
}

void Manager::destroy() {
    if (unit_started_) {
        // systemd stops a scope with SIGTERM, which a container's init (pid 1 of its
        // namespace, no handler) never sees: it would wait out the stop timeout.
        signal_all(SIGKILL);
        stop_unit();
    }
    for (auto& h : hierarchies_) {
        if (!h.created) continue;
        if (::rmdir(h.dir.c_str()) == 0 || errno == ENOENT) continue;
        // Cgroups the container made inside its own go with it, as with runc.
        std::vector<std::string> below;
        subdirs_deepest_first(h.dir, below);
        for (const auto& d : below) remove_cgroup_dir(d);
        remove_cgroup_dir(h.dir);
    }
}

}  // namespace husk::cgroups
