#include "manager.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <sstream>
#include <thread>

#include "convert.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "v1/controllers.hpp"
#include "v2/controllers.hpp"

namespace husk::cgroups {
namespace {

bool is_cgroup2(const std::string& path) {
    struct statfs st;
    return ::statfs(path.c_str(), &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

std::string trim(const std::string& s) {
    size_t e = s.find_last_not_of(" \n\t");
    return e == std::string::npos ? std::string() : s.substr(0, e + 1);
}

// The v1 hierarchies mounted under root, from mountinfo: (controllers, mountpoint).
std::vector<std::pair<std::string, std::string>> v1_mounts(const std::string& root) {
    std::vector<std::pair<std::string, std::string>> out;
    std::string info;
    if (!fs::try_read_file("/proc/self/mountinfo", info)) return out;
    for (const auto& line : split(info, '\n')) {
        // id parent major:minor root mountpoint options... - fstype source superoptions
        size_t dash = line.find(" - ");
        if (dash == std::string::npos) continue;
        auto pre = split(line.substr(0, dash), ' ');
        auto post = split(line.substr(dash + 3), ' ');
        if (pre.size() < 5 || post.size() < 3 || post[0] != "cgroup" || pre[4].rfind(root + "/", 0) != 0) continue;
        std::string controllers;
        for (const auto& o : split(post[2], ',')) {
            if (o == "rw" || o == "ro" || o == "clone_children" || o == "noprefix" || o.rfind("release_agent", 0) == 0 ||
                o == "xattr")
                continue;
            controllers += (controllers.empty() ? "" : ",") + o;
        }
        out.emplace_back(controllers, pre[4]);
    }
    return out;
}

// The directories right below dir (cgroups made inside it); none if dir is gone meanwhile.
std::vector<std::string> child_dirs(const std::string& dir) {
    std::vector<std::string> children;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return children;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        bool is_dir = e->d_type == DT_DIR;
        if (e->d_type == DT_UNKNOWN) {
            struct stat st;
            is_dir = ::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
        }
        if (is_dir) children.push_back(dir + "/" + name);
    }
    ::closedir(d);
    return children;
}

// Whether a v1 cgroup or any cgroup below it has processes (v1 has no "populated" file).
bool has_processes_below(const std::string& dir, int depth = 0) {
    std::string text;
    if (fs::try_read_file(dir + "/cgroup.procs", text) && !split(text, '\n').empty()) return true;
    if (depth > 64) throw Error("cgroup " + dir + ": nested too deep to check for processes");
    for (const auto& c : child_dirs(dir))
        if (has_processes_below(c, depth + 1)) return true;
    return false;
}

// The directories below dir (cgroups made inside the container's), deepest first.
void subdirs_deepest_first(const std::string& dir, std::vector<std::string>& out, int depth = 0) {
    if (depth > 64) throw Error("cgroup " + dir + ": nested too deep");
    for (const auto& c : child_dirs(dir)) {
        subdirs_deepest_first(c, out, depth + 1);
        out.push_back(c);
    }
}

void read_pids(const std::string& dir, std::vector<pid_t>& out) {
    std::string text;
    if (!fs::try_read_file(dir + "/cgroup.procs", text)) return;
    std::istringstream in(text);
    pid_t p;
    while (in >> p) out.push_back(p);
}

// A cgroup whose last task has just exited can be briefly busy.
void remove_cgroup_dir(const std::string& dir) {
    for (int i = 0; i < 100; ++i) {
        if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
        if (errno != EBUSY) throw_errno("remove cgroup " + dir);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw_errno("remove cgroup " + dir, EBUSY);
}

// This process's cgroup in each hierarchy (/proc/self/cgroup: "id:controllers:path"), keyed by
// the controllers field ("" for the v2 hierarchy).
std::map<std::string, std::string> own_cgroups() {
    std::map<std::string, std::string> own;
    std::string text;
    if (!fs::try_read_file("/proc/self/cgroup", text)) return own;
    for (const auto& line : split(text, '\n')) {
        size_t a = line.find(':'), b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        own[line.substr(a + 1, b - a - 1)] = line.substr(b + 1);
    }
    return own;
}

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

Layout detect_layout(const std::string& mountpoint) {
    if (is_cgroup2(mountpoint)) return Layout::V2;
    if (is_cgroup2(mountpoint + "/unified")) return Layout::Hybrid;
    return Layout::V1;
}

const char* layout_name(Layout l) {
    switch (l) {
        case Layout::V1: return "v1";
        case Layout::V2: return "v2";
        case Layout::Hybrid: return "hybrid";
    }
    return "?";
}

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

Manager Manager::restore(const nlohmann::json& saved) {
    Manager m;
    if (!saved.is_object()) return m;  // a container without cgroups (rootless)
    std::string layout = saved.value("layout", "v2");
    m.layout_ = layout == "v1" ? Layout::V1 : layout == "hybrid" ? Layout::Hybrid : Layout::V2;
    m.path_ = saved.value("path", "");
    for (auto& h : saved.value("hierarchies", nlohmann::json::array()))
        m.hierarchies_.push_back({h.value("controllers", ""), h.value("mountpoint", ""), h.value("dir", ""),
                                  h.value("created", false)});
    if (auto sd = saved.find("systemd"); sd != saved.end() && sd->is_object()) {
        m.unit_ = sd->value("unit", "");
        m.slice_ = sd->value("slice", "");
        m.user_manager_ = sd->value("manager", "system") == "user";
        m.unit_started_ = sd->value("started", false);
    }
    return m;
}

nlohmann::json Manager::save() const {
    nlohmann::json j;
    j["layout"] = layout_name(layout_);
    j["path"] = path_;
    j["hierarchies"] = nlohmann::json::array();
    for (auto& h : hierarchies_)
        j["hierarchies"].push_back(
            {{"controllers", h.controllers}, {"mountpoint", h.mountpoint}, {"dir", h.dir}, {"created", h.created}});
    if (uses_systemd())
        j["systemd"] = {{"unit", unit_}, {"slice", slice_}, {"manager", user_manager_ ? "user" : "system"},
                        {"started", unit_started_}};
    return j;
}

const Hierarchy* Manager::find(const std::string& controller) const {
    for (auto& h : hierarchies_) {
        if (controller.empty() ? h.unified() : false) return &h;
        for (const auto& c : split(h.controllers, ','))
            if (c == controller) return &h;
    }
    return nullptr;
}

bool Manager::frozen_now(const Hierarchy& h) const {
    if (h.unified()) {
        // cgroup.events' frozen is the effective state: a frozen ancestor counts.
        for (const auto& line : split(read(h.dir, "cgroup.events").value_or(""), '\n'))
            if (line == "frozen 1") return true;
        return false;
    }
    bool freezer = h.controllers == "freezer" || h.controllers.rfind("freezer,", 0) == 0 ||
                   h.controllers.find(",freezer") != std::string::npos;
    return freezer && read(h.dir, "freezer.state").value_or("THAWED") != "THAWED";
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
    validate(r);
    // As runc: systemd first, which would otherwise undo the cgroupfs writes when it next
    // applies the unit's settings (a daemon-reload), then the exact values through cgroupfs.
    if (uses_systemd() && !initial) set_unit_properties(r);
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
        throw Error(std::string("linux.resources.unified: needs cgroup v2, but this host's controllers are cgroup v1 (") +
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

void Manager::freeze() {
    if (const Hierarchy* f = find("freezer")) {
        fs::write_file(f->dir + "/freezer.state", "FROZEN", O_WRONLY);
        for (int i = 0; i < 1000; ++i) {
            std::string st;
            fs::try_read_file(f->dir + "/freezer.state", st);
            if (trim(st) == "FROZEN") return;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        throw Error("freeze cgroup " + f->dir + ": timed out");
    }
    for (auto& h : hierarchies_) {
        if (!h.unified()) continue;
        fs::write_file(h.dir + "/cgroup.freeze", "1", O_WRONLY);
        for (int i = 0; i < 1000; ++i) {
            std::string ev;
            fs::try_read_file(h.dir + "/cgroup.events", ev);
            if (ev.find("frozen 1") != std::string::npos) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        throw Error("freeze cgroup " + h.dir + ": timed out");
    }
    throw Error("pause: the host has no freezer cgroup");
}

void Manager::thaw() {
    if (const Hierarchy* f = find("freezer")) {
        fs::write_file(f->dir + "/freezer.state", "THAWED", O_WRONLY);
        return;
    }
    for (auto& h : hierarchies_)
        if (h.unified()) fs::write_file(h.dir + "/cgroup.freeze", "0", O_WRONLY);
}

bool Manager::frozen() const {
    std::string st;
    if (const Hierarchy* f = find("freezer")) {
        return fs::try_read_file(f->dir + "/freezer.state", st) && trim(st) != "THAWED";
    }
    for (auto& h : hierarchies_)
        if (h.unified() && fs::try_read_file(h.dir + "/cgroup.freeze", st)) return trim(st) == "1";
    return false;
}

std::vector<pid_t> Manager::pids() const {
    std::vector<pid_t> out;
    const Hierarchy* h = layout_ == Layout::V2 ? find("") : find("pids");
    if (!h && !hierarchies_.empty()) h = &hierarchies_.front();
    if (!h) return out;
    read_pids(h->dir, out);
    // And those of cgroups the container made inside its own (runc counts them too).
    std::vector<std::string> below;
    subdirs_deepest_first(h->dir, below);
    for (const auto& d : below) read_pids(d, out);
    return out;
}

void Manager::signal_all(int sig) const {
    if (sig == SIGKILL && layout_ == Layout::V2) {
        const Hierarchy* h = find("");
        if (h && has(h->dir, "cgroup.kill")) {
            // The cgroup may be removed meanwhile (systemd removes an emptied scope's): open or
            // write then fail with ENOENT, and there is nothing left to kill.
            std::string path = h->dir + "/cgroup.kill";
            UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
            if (fd && ::write(fd.get(), "1", 1) == 1) return;
            if (errno == ENOENT) return;
            throw_errno("kill --all: write \"1\" to " + path);
        }
    }
    for (pid_t p : pids()) ::kill(p, sig);
}

}  // namespace husk::cgroups
