// config.json parsing: a thin typed reader over nlohmann::json that remembers the JSON path of
// every value so that each error says where the problem is.
#include "config.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <set>
#include <string_view>

#include <nlohmann/json.hpp>

namespace husk::spec {
namespace {

using nlohmann::json;

bool equal_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

const char* type_name(const json& j) {
    switch (j.type()) {
        case json::value_t::null: return "null";
        case json::value_t::boolean: return "a boolean";
        case json::value_t::string: return "a string";
        case json::value_t::array: return "an array";
        case json::value_t::object: return "an object";
        case json::value_t::number_float: return "a fractional number";
        default: return "a number";
    }
}

// A JSON object and its path; every accessor checks the type of what it reads.
class Obj {
public:
    Obj(const json& j, std::string path) : j_(j), path_(std::move(path)) {
        if (!j_.is_object()) throw InvalidConfig(where() + ": expected an object, got " + type_name(j_));
    }

    const std::string& path() const { return path_; }
    std::string where() const { return path_.empty() ? std::string("config") : path_; }
    std::string field(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

    [[noreturn]] void fail(const char* key, const std::string& problem) const {
        throw InvalidConfig(field(key) + ": " + problem);
    }

    // As Go's encoding/json, which runc decodes with: the exact key first, else one that
    // differs only in ASCII case ("CPU", "Cpus" for cpu, cpus).
    const json* get(const char* key) const {
        auto it = j_.find(key);
        if (it == j_.end()) {
            std::string_view want(key);
            for (auto i = j_.begin(); i != j_.end(); ++i)
                if (equal_ignoring_case(i.key(), want)) {
                    it = i;
                    break;
                }
        }
        if (it == j_.end() || it->is_null()) return nullptr;
        return &*it;
    }
    bool has(const char* key) const { return get(key) != nullptr; }

    std::optional<std::string> opt_str(const char* key) const {
        const json* v = get(key);
        if (!v) return std::nullopt;
        if (!v->is_string()) fail(key, std::string("expected a string, got ") + type_name(*v));
        return v->get<std::string>();
    }
    std::string str(const char* key, std::string def = {}) const { return opt_str(key).value_or(def); }
    std::string req_str(const char* key) const {
        auto v = opt_str(key);
        if (!v) fail(key, "is required");
        return *v;
    }

    std::optional<bool> opt_bool(const char* key) const {
        const json* v = get(key);
        if (!v) return std::nullopt;
        if (!v->is_boolean()) fail(key, std::string("expected a boolean, got ") + type_name(*v));
        return v->get<bool>();
    }
    bool boolean(const char* key, bool def = false) const { return opt_bool(key).value_or(def); }

    template <class T>
    std::optional<T> opt_int(const char* key) const {
        const json* v = get(key);
        if (!v) return std::nullopt;
        return to_int<T>(*v, field(key));
    }
    template <class T>
    T req_int(const char* key) const {
        auto v = opt_int<T>(key);
        if (!v) fail(key, "is required");
        return *v;
    }

    std::vector<std::string> strings(const char* key) const {
        std::vector<std::string> out;
        const json* v = get(key);
        if (!v) return out;
        if (!v->is_array()) fail(key, std::string("expected an array of strings, got ") + type_name(*v));
        for (size_t i = 0; i < v->size(); ++i) {
            if (!(*v)[i].is_string())
                throw InvalidConfig(field(key) + "[" + std::to_string(i) + "]: expected a string, got " +
                                    type_name((*v)[i]));
            out.push_back((*v)[i].get<std::string>());
        }
        return out;
    }

    std::map<std::string, std::string> string_map(const char* key) const {
        std::map<std::string, std::string> out;
        const json* v = get(key);
        if (!v) return out;
        if (!v->is_object()) fail(key, std::string("expected an object, got ") + type_name(*v));
        for (auto& [k, val] : v->items()) {
            if (!val.is_string())
                throw InvalidConfig(field(key) + "." + k + ": expected a string, got " + type_name(val));
            out[k] = val.get<std::string>();
        }
        return out;
    }

    std::optional<Obj> obj(const char* key) const {
        const json* v = get(key);
        if (!v) return std::nullopt;
        return Obj(*v, field(key));
    }

    template <class F>
    void each(const char* key, F&& f) const {
        const json* v = get(key);
        if (!v) return;
        if (!v->is_array()) fail(key, std::string("expected an array, got ") + type_name(*v));
        for (size_t i = 0; i < v->size(); ++i) f(Obj((*v)[i], field(key) + "[" + std::to_string(i) + "]"), i);
    }

    template <class F>
    void each_member(const char* key, F&& f) const {
        const json* v = get(key);
        if (!v) return;
        if (!v->is_object()) fail(key, std::string("expected an object, got ") + type_name(*v));
        for (auto& [k, val] : v->items()) f(k, val, field(key) + "." + k);
    }

    template <class T>
    static T to_int(const json& v, const std::string& where) {
        if (v.is_number_integer()) {
            if constexpr (std::is_signed_v<T>) {
                if (v.is_number_unsigned()) {
                    auto u = v.get<uint64_t>();
                    if (u > static_cast<uint64_t>(std::numeric_limits<T>::max()))
                        throw InvalidConfig(where + ": " + std::to_string(u) + " is out of range");
                    return static_cast<T>(u);
                }
                auto s = v.get<int64_t>();
                if (s < std::numeric_limits<T>::min() || s > std::numeric_limits<T>::max())
                    throw InvalidConfig(where + ": " + std::to_string(s) + " is out of range");
                return static_cast<T>(s);
            } else {
                if (!v.is_number_unsigned())
                    throw InvalidConfig(where + ": must not be negative, got " + std::to_string(v.get<int64_t>()));
                auto u = v.get<uint64_t>();
                if (u > std::numeric_limits<T>::max())
                    throw InvalidConfig(where + ": " + std::to_string(u) + " is out of range");
                return static_cast<T>(u);
            }
        }
        throw InvalidConfig(where + ": expected an integer, got " + type_name(v));
    }

private:
    const json& j_;
    std::string path_;
};

std::vector<IdMapping> parse_id_mappings(const Obj& o, const char* key) {
    std::vector<IdMapping> out;
    o.each(key, [&](const Obj& m, size_t) {
        IdMapping im;
        im.container_id = m.req_int<uint32_t>("containerID");
        im.host_id = m.req_int<uint32_t>("hostID");
        im.size = m.req_int<uint32_t>("size");
        if (im.size == 0) m.fail("size", "must be greater than 0");
        out.push_back(im);
    });
    return out;
}

bool is_absolute(const std::string& p) { return !p.empty() && p[0] == '/'; }

const std::set<std::string> kRlimits = {
    "RLIMIT_AS",     "RLIMIT_CORE",    "RLIMIT_CPU",        "RLIMIT_DATA",   "RLIMIT_FSIZE",
    "RLIMIT_LOCKS",  "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE",   "RLIMIT_NICE",   "RLIMIT_NOFILE",
    "RLIMIT_NPROC",  "RLIMIT_RSS",     "RLIMIT_RTPRIO",     "RLIMIT_RTTIME", "RLIMIT_SIGPENDING",
    "RLIMIT_STACK"};

const std::set<std::string> kNamespaces = {"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"};

const std::set<std::string> kSeccompActions = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE",        "SCMP_ACT_ALLOW",       "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY"};

const std::set<std::string> kSeccompOps = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
                                           "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};

Process parse_process_obj(const Obj& p) {
    Process proc;
    proc.terminal = p.boolean("terminal");
    if (auto cs = p.obj("consoleSize"))
        proc.console_size = ConsoleSize{cs->req_int<uint32_t>("height"), cs->req_int<uint32_t>("width")};
    if (auto u = p.obj("user")) {
        proc.user.uid = u->opt_int<uint32_t>("uid").value_or(0);
        proc.user.gid = u->opt_int<uint32_t>("gid").value_or(0);
        proc.user.umask = u->opt_int<uint32_t>("umask");
        if (const json* g = u->get("additionalGids")) {
            if (!g->is_array()) u->fail("additionalGids", std::string("expected an array, got ") + type_name(*g));
            for (size_t i = 0; i < g->size(); ++i)
                proc.user.additional_gids.push_back(
                    Obj::to_int<uint32_t>((*g)[i], u->field("additionalGids") + "[" + std::to_string(i) + "]"));
        }
        proc.user.username = u->str("username");
    }
    proc.args = p.strings("args");
    proc.command_line = p.str("commandLine");
    if (proc.args.empty() && proc.command_line.empty()) p.fail("args", "is required and must not be empty");
    proc.env = p.strings("env");
    for (size_t i = 0; i < proc.env.size(); ++i)
        if (proc.env[i].find('=') == std::string::npos)
            throw InvalidConfig(p.field("env") + "[" + std::to_string(i) + "]: \"" + proc.env[i] +
                                "\" is not of the form KEY=value");
    proc.cwd = p.req_str("cwd");
    if (!is_absolute(proc.cwd)) p.fail("cwd", "must be an absolute path, got \"" + proc.cwd + "\"");
    if (auto c = p.obj("capabilities")) {
        Capabilities caps;
        caps.bounding = c->strings("bounding");
        caps.effective = c->strings("effective");
        caps.inheritable = c->strings("inheritable");
        caps.permitted = c->strings("permitted");
        caps.ambient = c->strings("ambient");
        proc.capabilities = caps;
    }
    std::set<std::string> seen_rlimits;
    p.each("rlimits", [&](const Obj& r, size_t) {
        Rlimit rl;
        rl.type = r.req_str("type");
        if (!kRlimits.count(rl.type)) r.fail("type", "unknown rlimit \"" + rl.type + "\"");
        if (!seen_rlimits.insert(rl.type).second) r.fail("type", "duplicate rlimit \"" + rl.type + "\"");
        rl.soft = r.req_int<uint64_t>("soft");
        rl.hard = r.req_int<uint64_t>("hard");
        if (rl.soft > rl.hard) r.fail("soft", "is greater than hard");
        proc.rlimits.push_back(rl);
    });
    proc.no_new_privileges = p.boolean("noNewPrivileges");
    proc.apparmor_profile = p.str("apparmorProfile");
    proc.oom_score_adj = p.opt_int<int>("oomScoreAdj");
    if (proc.oom_score_adj && (*proc.oom_score_adj < -1000 || *proc.oom_score_adj > 1000))
        p.fail("oomScoreAdj", "must be between -1000 and 1000");
    proc.selinux_label = p.str("selinuxLabel");
    if (auto s = p.obj("scheduler")) {
        Scheduler sc;
        sc.policy = s->req_str("policy");
        static const std::set<std::string> policies = {"SCHED_OTHER", "SCHED_FIFO",  "SCHED_RR",
                                                       "SCHED_BATCH", "SCHED_ISO",   "SCHED_IDLE",
                                                       "SCHED_DEADLINE"};
        if (!policies.count(sc.policy)) s->fail("policy", "unknown scheduling policy \"" + sc.policy + "\"");
        sc.nice = s->opt_int<int32_t>("nice").value_or(0);
        sc.priority = s->opt_int<int32_t>("priority").value_or(0);
        sc.flags = s->strings("flags");
        sc.runtime = s->opt_int<uint64_t>("runtime").value_or(0);
        sc.deadline = s->opt_int<uint64_t>("deadline").value_or(0);
        sc.period = s->opt_int<uint64_t>("period").value_or(0);
        proc.scheduler = sc;
    }
    if (auto io = p.obj("ioPriority")) {
        IoPriority iop;
        iop.ioclass = io->req_str("class");
        if (iop.ioclass != "IOPRIO_CLASS_RT" && iop.ioclass != "IOPRIO_CLASS_BE" && iop.ioclass != "IOPRIO_CLASS_IDLE")
            io->fail("class", "unknown io priority class \"" + iop.ioclass + "\"");
        iop.priority = io->opt_int<int32_t>("priority").value_or(0);
        if (iop.priority < 0 || iop.priority > 7) io->fail("priority", "must be between 0 and 7");
        proc.io_priority = iop;
    }
    if (auto a = p.obj("execCPUAffinity"))
        proc.exec_cpu_affinity = CpuAffinity{a->str("initial"), a->str("final")};
    return proc;
}

std::vector<Hook> parse_hooks(const Obj& h, const char* key) {
    std::vector<Hook> out;
    h.each(key, [&](const Obj& o, size_t) {
        Hook hk;
        hk.path = o.req_str("path");
        if (!is_absolute(hk.path)) o.fail("path", "must be an absolute path, got \"" + hk.path + "\"");
        hk.args = o.strings("args");
        hk.env = o.strings("env");
        hk.has_env = o.has("env");
        hk.timeout = o.opt_int<int>("timeout");
        if (hk.timeout && *hk.timeout <= 0) o.fail("timeout", "must be greater than zero");
        out.push_back(std::move(hk));
    });
    return out;
}

std::string device_type_error(const std::string& t) { return "unknown device type \"" + t + "\""; }

Resources parse_resources_obj(const Obj& r) {
    Resources res;
    r.each("devices", [&](const Obj& d, size_t) {
        DeviceRule rule;
        if (!d.has("allow")) d.fail("allow", "is required");
        rule.allow = d.boolean("allow");
        rule.type = d.str("type", "a");
        if (rule.type != "a" && rule.type != "b" && rule.type != "c") d.fail("type", device_type_error(rule.type));
        rule.major = d.opt_int<int64_t>("major");
        rule.minor = d.opt_int<int64_t>("minor");
        // As runc: letters other than r, w and m are left out ("rwa" is "rw"); the caller warns.
        std::string access = d.str("access", "rwm");
        for (char c : access)
            (std::string_view("rwm").find(c) != std::string_view::npos ? rule.access : rule.ignored_access) += c;
        if (rule.access.empty())
            d.fail("access", "must be a combination of r, w and m, got \"" + access + "\"");
        res.devices.push_back(rule);
    });
    if (auto m = r.obj("memory")) {
        MemoryResources mem;
        mem.limit = m->opt_int<int64_t>("limit");
        mem.reservation = m->opt_int<int64_t>("reservation");
        mem.swap = m->opt_int<int64_t>("swap");
        mem.kernel = m->opt_int<int64_t>("kernel");
        mem.kernel_tcp = m->opt_int<int64_t>("kernelTCP");
        mem.swappiness = m->opt_int<uint64_t>("swappiness");
        if (mem.swappiness && *mem.swappiness > 100) m->fail("swappiness", "must be between 0 and 100");
        mem.disable_oom_killer = m->opt_bool("disableOOMKiller");
        mem.use_hierarchy = m->opt_bool("useHierarchy");
        mem.check_before_update = m->opt_bool("checkBeforeUpdate");
        res.memory = mem;
    }
    if (auto c = r.obj("cpu")) {
        CpuResources cpu;
        cpu.shares = c->opt_int<uint64_t>("shares");
        cpu.quota = c->opt_int<int64_t>("quota");
        cpu.burst = c->opt_int<int64_t>("burst");
        cpu.period = c->opt_int<uint64_t>("period");
        cpu.realtime_runtime = c->opt_int<int64_t>("realtimeRuntime");
        cpu.realtime_period = c->opt_int<uint64_t>("realtimePeriod");
        cpu.cpus = c->str("cpus");
        cpu.mems = c->str("mems");
        cpu.idle = c->opt_int<int64_t>("idle");
        res.cpu = cpu;
    }
    if (auto p = r.obj("pids")) res.pids_limit = p->req_int<int64_t>("limit");
    if (auto b = r.obj("blockIO")) {
        BlockIoResources bio;
        bio.weight = b->opt_int<uint16_t>("weight");
        bio.leaf_weight = b->opt_int<uint16_t>("leafWeight");
        b->each("weightDevice", [&](const Obj& d, size_t) {
            bio.weight_device.push_back({d.req_int<int64_t>("major"), d.req_int<int64_t>("minor"),
                                         d.opt_int<uint16_t>("weight"), d.opt_int<uint16_t>("leafWeight")});
        });
        auto throttle = [&](const char* key, std::vector<ThrottleDevice>& out) {
            b->each(key, [&](const Obj& d, size_t) {
                out.push_back({d.req_int<int64_t>("major"), d.req_int<int64_t>("minor"), d.req_int<uint64_t>("rate")});
            });
        };
        throttle("throttleReadBpsDevice", bio.throttle_read_bps);
        throttle("throttleWriteBpsDevice", bio.throttle_write_bps);
        throttle("throttleReadIOPSDevice", bio.throttle_read_iops);
        throttle("throttleWriteIOPSDevice", bio.throttle_write_iops);
        res.block_io = bio;
    }
    r.each("hugepageLimits", [&](const Obj& h, size_t) {
        res.hugepage_limits.push_back({h.req_str("pageSize"), h.req_int<uint64_t>("limit")});
    });
    if (auto n = r.obj("network")) {
        NetworkResources net;
        net.class_id = n->opt_int<uint32_t>("classID");
        n->each("priorities", [&](const Obj& p, size_t) {
            net.priorities.emplace_back(p.req_str("name"), p.req_int<uint32_t>("priority"));
        });
        res.network = net;
    }
    r.each_member("rdma", [&](const std::string& name, const json& v, const std::string& path) {
        Obj o(v, path);
        res.rdma[name] = RdmaLimit{o.opt_int<uint32_t>("hcaHandles"), o.opt_int<uint32_t>("hcaObjects")};
    });
    res.unified = r.string_map("unified");
    return res;
}

Seccomp parse_seccomp(const Obj& s) {
    Seccomp sc;
    sc.default_action = s.req_str("defaultAction");
    if (!kSeccompActions.count(sc.default_action))
        s.fail("defaultAction", "unknown seccomp action \"" + sc.default_action + "\"");
    sc.default_errno_ret = s.opt_int<uint32_t>("defaultErrnoRet");
    sc.architectures = s.strings("architectures");
    sc.flags = s.strings("flags");
    sc.listener_path = s.str("listenerPath");
    sc.listener_metadata = s.str("listenerMetadata");
    bool has_notify = sc.default_action == "SCMP_ACT_NOTIFY";
    s.each("syscalls", [&](const Obj& o, size_t) {
        SeccompSyscall call;
        call.names = o.strings("names");
        if (call.names.empty()) o.fail("names", "is required and must not be empty");
        call.action = o.req_str("action");
        if (!kSeccompActions.count(call.action)) o.fail("action", "unknown seccomp action \"" + call.action + "\"");
        has_notify = has_notify || call.action == "SCMP_ACT_NOTIFY";
        call.errno_ret = o.opt_int<uint32_t>("errnoRet");
        o.each("args", [&](const Obj& a, size_t) {
            SeccompArg arg;
            arg.index = a.req_int<uint32_t>("index");
            if (arg.index > 5) a.fail("index", "must be between 0 and 5, got " + std::to_string(arg.index));
            arg.value = a.req_int<uint64_t>("value");
            arg.value_two = a.opt_int<uint64_t>("valueTwo").value_or(0);
            arg.op = a.req_str("op");
            if (!kSeccompOps.count(arg.op)) a.fail("op", "unknown seccomp operator \"" + arg.op + "\"");
            call.args.push_back(arg);
        });
        sc.syscalls.push_back(std::move(call));
    });
    if (has_notify && sc.listener_path.empty())
        s.fail("listenerPath", "is required when an action is SCMP_ACT_NOTIFY");
    return sc;
}

Linux parse_linux(const Obj& l) {
    Linux lx;
    std::set<std::string> seen;
    l.each("namespaces", [&](const Obj& n, size_t) {
        Namespace ns;
        ns.type = n.req_str("type");
        if (!kNamespaces.count(ns.type)) n.fail("type", "unknown namespace \"" + ns.type + "\"");
        if (!seen.insert(ns.type).second) n.fail("type", "duplicate namespace \"" + ns.type + "\"");
        ns.path = n.str("path");
        if (!ns.path.empty() && !is_absolute(ns.path))
            n.fail("path", "must be an absolute path, got \"" + ns.path + "\"");
        lx.namespaces.push_back(ns);
    });
    lx.uid_mappings = parse_id_mappings(l, "uidMappings");
    lx.gid_mappings = parse_id_mappings(l, "gidMappings");
    l.each_member("timeOffsets", [&](const std::string& clock, const json& v, const std::string& path) {
        if (clock != "monotonic" && clock != "boottime")
            throw InvalidConfig(path + ": unknown clock \"" + clock + "\" (expected monotonic or boottime)");
        Obj o(v, path);
        lx.time_offsets[clock] = TimeOffset{o.opt_int<int64_t>("secs").value_or(0),
                                            o.opt_int<uint32_t>("nanosecs").value_or(0)};
    });
    l.each("devices", [&](const Obj& d, size_t) {
        Device dev;
        dev.type = d.req_str("type");
        if (dev.type != "c" && dev.type != "b" && dev.type != "u" && dev.type != "p")
            d.fail("type", device_type_error(dev.type));
        dev.path = d.req_str("path");
        if (!is_absolute(dev.path)) d.fail("path", "must be an absolute path, got \"" + dev.path + "\"");
        if (dev.type != "p") {
            // What the kernel's device numbers hold: 12 bits of major, 20 of minor.
            dev.major = d.req_int<int64_t>("major");
            dev.minor = d.req_int<int64_t>("minor");
            if (dev.major < 0 || dev.major > 4095) d.fail("major", std::to_string(dev.major) + " is out of range (0 to 4095)");
            if (dev.minor < 0 || dev.minor > 1048575)
                d.fail("minor", std::to_string(dev.minor) + " is out of range (0 to 1048575)");
        }
        dev.file_mode = d.opt_int<uint32_t>("fileMode");
        dev.uid = d.opt_int<uint32_t>("uid");
        dev.gid = d.opt_int<uint32_t>("gid");
        lx.devices.push_back(dev);
    });
    l.each_member("netDevices", [&](const std::string& host, const json& v, const std::string& path) {
        Obj o(v, path);
        lx.net_devices[host] = o.str("name", host);
    });
    lx.cgroups_path = l.str("cgroupsPath");
    if (auto r = l.obj("resources")) lx.resources = parse_resources_obj(*r);
    if (auto r = l.obj("intelRdt")) {
        IntelRdt rdt;
        rdt.clos_id = r->str("closID");
        rdt.l3_cache_schema = r->str("l3CacheSchema");
        rdt.mem_bw_schema = r->str("memBwSchema");
        rdt.enable_cmt = r->boolean("enableCMT");
        rdt.enable_mbm = r->boolean("enableMBM");
        lx.intel_rdt = rdt;
    }
    lx.rootfs_propagation = l.str("rootfsPropagation");
    if (!lx.rootfs_propagation.empty()) {
        static const std::set<std::string> props = {"private", "rprivate", "slave", "rslave",
                                                    "shared",  "rshared",  "unbindable", "runbindable"};
        if (!props.count(lx.rootfs_propagation))
            l.fail("rootfsPropagation", "unknown propagation \"" + lx.rootfs_propagation + "\"");
    }
    if (auto s = l.obj("seccomp")) lx.seccomp = parse_seccomp(*s);
    lx.sysctl = l.string_map("sysctl");
    lx.masked_paths = l.strings("maskedPaths");
    lx.readonly_paths = l.strings("readonlyPaths");
    lx.mount_label = l.str("mountLabel");
    if (auto p = l.obj("personality")) {
        Personality pers;
        pers.domain = p->req_str("domain");
        if (pers.domain != "LINUX" && pers.domain != "LINUX32")
            p->fail("domain", "unknown personality domain \"" + pers.domain + "\"");
        pers.flags = p->strings("flags");
        lx.personality = pers;
    }
    if (auto m = l.obj("memoryPolicy")) {
        MemoryPolicy mp;
        mp.mode = m->req_str("mode");
        mp.nodes = m->str("nodes");
        mp.flags = m->strings("flags");
        lx.memory_policy = mp;
    }
    return lx;
}

void validate_cross_fields(const Config& c) {
    if (!c.linux) return;
    const Linux& lx = *c.linux;
    const Namespace* user = lx.find_namespace("user");
    if (!lx.uid_mappings.empty() || !lx.gid_mappings.empty()) {
        if (!user) throw InvalidConfig("linux.uidMappings: mappings are set but there is no user namespace");
    }
    if (user && user->path.empty() && (lx.uid_mappings.empty() || lx.gid_mappings.empty()))
        throw InvalidConfig("linux.uidMappings: a new user namespace needs both uidMappings and gidMappings");
    if (!lx.time_offsets.empty()) {
        const Namespace* t = lx.find_namespace("time");
        if (!t || !t->path.empty())
            throw InvalidConfig("linux.timeOffsets: offsets need a new time namespace");
    }
    const Namespace* uts = lx.find_namespace("uts");
    if (!c.hostname.empty() && !uts)
        throw InvalidConfig("hostname: setting the hostname needs a new uts namespace");
    for (size_t i = 0; i < c.mounts.size(); ++i) {
        bool idmapped = !c.mounts[i].uid_mappings.empty() || !c.mounts[i].gid_mappings.empty();
        if (idmapped && (c.mounts[i].uid_mappings.empty() || c.mounts[i].gid_mappings.empty()))
            throw InvalidConfig("mounts[" + std::to_string(i) +
                                "].uidMappings: an idmapped mount needs both uidMappings and gidMappings");
    }
}

// Where parsing `text` stops with an error, as a JSON path ("process.rlimits[0].soft"): the
// parse again, this time following the keys (only once it has failed: it costs).
std::string path_of_failure(const std::string& text) {
    struct Level {
        bool array;
        std::string key;
        size_t index;
    };
    std::vector<Level> levels;
    auto track = [&](int, json::parse_event_t ev, json& parsed) {
        auto next_element = [&] {
            if (!levels.empty() && levels.back().array) ++levels.back().index;
        };
        switch (ev) {
            case json::parse_event_t::object_start: levels.push_back({false, "", 0}); break;
            case json::parse_event_t::array_start: levels.push_back({true, "", 0}); break;
            case json::parse_event_t::key: levels.back().key = parsed.get<std::string>(); break;
            case json::parse_event_t::object_end:
            case json::parse_event_t::array_end:
                levels.pop_back();
                next_element();
                break;
            case json::parse_event_t::value: next_element(); break;
        }
        return true;
    };
    try {
        (void)json::parse(text, track);
    } catch (const json::exception&) {
    }
    std::string path;
    for (const auto& l : levels) {
        if (l.array) path += "[" + std::to_string(l.index) + "]";
        else if (!l.key.empty()) path += (path.empty() ? "" : ".") + l.key;
    }
    return path;
}

// Objects whose keys are data (names, files), not fields: their keys keep their case.
bool is_map_field(std::string_view k) {
    return k == "annotations" || k == "sysctl" || k == "unified" || k == "netDevices" || k == "rdma";
}

// Go's decoder (runc's) fills a field from every key that names it in any case, in document
// order, merging objects: a config edited with `jq '.linux.resources.CPU |= ...'` adds to
// "cpu". nlohmann's objects are sorted, so the order is taken as the spec's spelling (lower
// case first) and then the others. Maps keep their keys as they are.
void merge_into(json& base, json&& over) {
    if (!base.is_object() || !over.is_object()) {
        base = std::move(over);
        return;
    }
    for (auto& [k, v] : over.items()) merge_into(base[k], std::move(v));
}

// Two keys of one object that differ only in case: rare, and found without allocating (every
// create parses config.json, and this runs over all of it).
bool has_case_twins(const json& j) {
    for (auto a = j.begin(); a != j.end(); ++a)
        for (auto b = std::next(a); b != j.end(); ++b)
            if (equal_ignoring_case(a.key(), b.key())) return true;
    return false;
}

void fold_key_case(json& j) {
    if (j.is_array()) {
        for (auto& e : j) fold_key_case(e);
        return;
    }
    if (!j.is_object()) return;
    for (auto& [k, v] : j.items())
        if ((v.is_object() || v.is_array()) && !is_map_field(k)) fold_key_case(v);
    if (!has_case_twins(j)) return;
    std::map<std::string, std::vector<std::string>> groups;
    for (auto& [k, v] : j.items()) {
        std::string low = k;
        for (char& c : low) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        groups[low].push_back(k);
    }
    for (auto& [low, keys] : groups) {
        if (keys.size() < 2) continue;
        // std::map order: upper case sorts first, so the spec's spelling is the last; it is the base.
        std::string base = keys.back();
        for (size_t i = 0; i + 1 < keys.size(); ++i) {
            merge_into(j[base], std::move(j[keys[i]]));
            j.erase(keys[i]);
        }
        // The merged halves were folded apart; together they may hold twins again.
        if (!is_map_field(base)) fold_key_case(j[base]);
    }
}

json parse_json(const std::string& text, const char* what) {
    try {
        json j = json::parse(text);
        fold_key_case(j);
        return j;
    } catch (const json::exception& e) {
        // "[json.exception.out_of_range.406] number overflow parsing '1e400'": the text after "] ".
        std::string msg = e.what();
        if (size_t end = msg.find("] "); msg[0] == '[' && end != std::string::npos) msg = msg.substr(end + 2);
        std::string path = path_of_failure(text);
        if (e.id == 406 && !path.empty()) throw InvalidConfig(path + ": " + msg);
        throw InvalidConfig(std::string(what) + " not valid JSON" + (path.empty() ? "" : " at " + path) + ": " + msg);
    }
}

}  // namespace

const Namespace* Linux::find_namespace(const std::string& type) const {
    for (const auto& ns : namespaces)
        if (ns.type == type) return &ns;
    return nullptr;
}

Config parse_config(const std::string& text) {
    json j = parse_json(text, "config.json is");
    Obj top(j, "");
    Config c;
    c.oci_version = top.req_str("ociVersion");
    if (auto r = top.obj("root")) {
        c.root.path = r->req_str("path");
        if (c.root.path.empty()) r->fail("path", "must not be empty");
        c.root.readonly = r->boolean("readonly");
    } else {
        top.fail("root", "is required");
    }
    top.each("mounts", [&](const Obj& m, size_t) {
        Mount mt;
        mt.destination = m.req_str("destination");
        if (mt.destination.empty()) m.fail("destination", "must not be empty");
        mt.type = m.str("type");
        mt.source = m.str("source");
        mt.options = m.strings("options");
        mt.uid_mappings = parse_id_mappings(m, "uidMappings");
        mt.gid_mappings = parse_id_mappings(m, "gidMappings");
        c.mounts.push_back(std::move(mt));
    });
    if (auto p = top.obj("process")) c.process = parse_process_obj(*p);
    c.hostname = top.str("hostname");
    c.domainname = top.str("domainname");
    for (auto [key, name] : {std::pair{"hostname", &c.hostname}, std::pair{"domainname", &c.domainname}}) {
        if (name->find('\0') != std::string::npos) top.fail(key, "must not contain a NUL character");
        if (name->size() > 64) top.fail(key, "is longer than 64 bytes");
    }
    if (auto h = top.obj("hooks")) {
        c.hooks.prestart = parse_hooks(*h, "prestart");
        c.hooks.create_runtime = parse_hooks(*h, "createRuntime");
        c.hooks.create_container = parse_hooks(*h, "createContainer");
        c.hooks.start_container = parse_hooks(*h, "startContainer");
        c.hooks.poststart = parse_hooks(*h, "poststart");
        c.hooks.poststop = parse_hooks(*h, "poststop");
    }
    c.annotations = top.string_map("annotations");
    if (auto l = top.obj("linux")) c.linux = parse_linux(*l);
    validate_cross_fields(c);
    return c;
}

Process parse_process(const std::string& text) {
    json j = parse_json(text, "process.json is");
    return parse_process_obj(Obj(j, "process"));
}

Resources parse_resources(const std::string& text) {
    json j = parse_json(text, "resources are");
    return parse_resources_obj(Obj(j, "resources"));
}

}  // namespace husk::spec
