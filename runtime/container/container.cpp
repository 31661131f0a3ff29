#include "container.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <functional>

#include "runtime/cgroups/manager.hpp"
#include "spec/config.hpp"
#include "console.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "handle.hpp"
#include "hooks.hpp"
#include "init.hpp"
#include "common/log.hpp"
#include "namespaces.hpp"
#include "net_devices.hpp"
#include "userdb.hpp"
#include "validate.hpp"
#include "common/proc.hpp"
#include "rootfs.hpp"
#include "seccomp.hpp"
#include "sync.hpp"
#include "common/unix_socket.hpp"

namespace husk::container {
namespace {

// Undo steps of a create that did not finish, newest first.
class Rollback {
public:
    void add(std::function<void()> f) { steps_.push_back(std::move(f)); }
    void run() noexcept {
        for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
            try {
                (*it)();
            } catch (const std::exception& e) {
                log::warn(std::string("cleanup after failed create: ") + e.what());
            }
        }
        steps_.clear();
    }

private:
    std::vector<std::function<void()>> steps_;
};

std::string owner_name() {
    auto entry = userdb::lookup_uid("/etc/passwd", ::geteuid());
    return entry ? entry->name : std::to_string(::geteuid());
}

std::string resolve_rootfs(const std::string& bundle, const spec::Root& root) {
    std::string path = root.path;
    if (path[0] != '/') {
        std::string rel = fs::clean(path);
        if (rel == ".." || rel.rfind("../", 0) == 0)
            throw Error("root.path: \"" + root.path + "\" escapes the bundle directory");
        path = bundle + "/" + rel;
    }
    char real[PATH_MAX];
    if (!::realpath(path.c_str(), real)) throw_errno("root.path: " + path);
    struct stat st;
    if (::stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) throw Error("root.path: " + path + " is not a directory");
    return real;
}

void write_pid_file(const std::string& path, pid_t pid) {
    std::string tmp = path + ".husk-tmp";
    fs::write_file(tmp, std::to_string(pid), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        throw_errno("--pid-file: rename to " + path);
    }
}

constexpr const char* kSync = "sync with container init";

// Whether linux.resources asks for anything but device rules.
bool wants_limits(const spec::Resources& r) {
    return r.memory || r.cpu || r.pids_limit || r.block_io || !r.hugepage_limits.empty() || r.network ||
           !r.rdma.empty() || !r.unified.empty();
}

// Starts init. New namespaces belong to the user namespace of the process that makes them, so
// with a user namespace joined by path and others to create, a helper joins it first and clones
// init from inside it, as its sibling (CLONE_PARENT): init is still our child. As runc's stages.
pid_t clone_init(uint64_t flags, int cgfd, init::Context& ctx, UniqueFd& parent_sock, UniqueFd& child_sock,
                 int& pidfd) {
    const ns::Join* user = nullptr;
    for (auto& j : ctx.ns->joins)
        if (j.flag == CLONE_NEWUSER) user = &j;
    constexpr uint64_t kOwned = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID;
    if (!user || !(flags & kOwned)) {
        pid_t pid = proc::clone3(flags, &pidfd, cgfd);
        if (pid == 0) {
            parent_sock.reset();
            init::run(ctx);
        }
        return pid;
    }
    ctx.user_joined = true;
    int helper_fd = -1;
    pid_t helper = proc::clone3(0, &helper_fd);
    if (helper < 0) return -1;
    if (helper == 0) {
        parent_sock.reset();
        try {
            // husk's image inside a user namespace other processes may share: not theirs to
            // ptrace or to open /proc/<pid>/exe of (CVE-2019-5736), here and in init.
            if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) throw_errno("prctl(PR_SET_DUMPABLE)");
            ::close(ctx.lock_fd);
            if (::setns(user->fd.get(), CLONE_NEWUSER) != 0) throw_errno("join user namespace");
            int fd = -1;
            pid_t pid = proc::clone3(flags | CLONE_PARENT, &fd, cgfd);
            if (pid < 0) throw_errno("clone3 container init");
            if (pid == 0) init::run(ctx);
            sync::send(child_sock.get(), sync::Msg::Started, {}, fd, kSync);
        } catch (const std::exception& e) {
            sync::send_quietly(child_sock.get(), sync::Msg::Error, e.what());
        }
        _exit(0);
    }
    UniqueFd helper_pidfd(helper_fd);
    child_sock.reset();  // ours: the helper's and init's copies are the ones in use
    // The helper reports, then exits. Its report is queued before its exit is seen, so an exit
    // with nothing to read means it died first (killed; init, if cloned, then waits on a parent
    // that gives up: it goes when our socket end closes, or with PDEATHSIG).
    pollfd p[2] = {{parent_sock.get(), POLLIN, 0}, {helper_pidfd.get(), POLLIN, 0}};
    for (;;) {
        if (::poll(p, 2, -1) < 0 && errno != EINTR) throw_errno("wait for the container init helper");
        if (p[0].revents) break;
        if (p[1].revents) {
            pollfd again{parent_sock.get(), POLLIN, 0};
            if (::poll(&again, 1, 0) > 0) break;
            ::waitpid(helper, nullptr, 0);
            throw Error("the helper that starts container init in its user namespace died");
        }
    }
    sync::Message m;
    try {
        m = sync::recv(parent_sock.get(), kSync);
    } catch (...) {
        ::waitpid(helper, nullptr, 0);
        throw;
    }
    ::waitpid(helper, nullptr, 0);
    if (m.type == sync::Msg::Error) throw Error(m.text);
    if (m.type != sync::Msg::Started || !m.fd) throw Error("container init was not started");
    UniqueFd& got = m.fd;
    // The helper may sit in a pid namespace joined by path, where clone3 numbered init; the
    // pidfd tells us its number here (init is our unreaped child: it keeps a number even dead).
    pid_t pid = proc::pid_of_pidfd(got.get());
    if (pid <= 0) {
        ::syscall(SYS_pidfd_send_signal, got.get(), SIGKILL, nullptr, 0);
        throw Error("cannot read container init's pid from its pidfd (/proc/self/fdinfo of this husk)");
    }
    pidfd = got.release();
    return pid;
}

}  // namespace

spec::State make_state(const Record& r, Status status) {
    spec::State s;
    s.id = r.id;
    s.status = std::string(to_string(status));
    s.pid = r.pid;
    s.bundle = r.bundle;
    s.rootfs = r.rootfs;
    s.created = r.created;
    s.owner = r.owner;
    s.annotations = r.annotations;
    return s;
}

namespace {

std::optional<spec::Config> saved_config(const ContainerDir& dir) {
    std::string text;
    if (!fs::try_read_file(dir.file("config.json"), text)) return std::nullopt;
    try {
        return spec::parse_config(text);
    } catch (const std::exception& e) {
        log::warn(std::string("saved config: ") + e.what());
        return std::nullopt;
    }
}

// Why init went away before it reported ready; its memory limit, where that killed it.
std::string death_during_setup(pid_t pid, const cgroups::Manager& cg, const spec::Linux* lx) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string what = "container init " + proc::describe_status(status) + " during setup";
    const auto* mem = lx && lx->resources && lx->resources->memory ? &*lx->resources->memory : nullptr;
    if (!mem || !mem->limit || !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) return what;
    std::string dir = cg.memory_dir(), text;
    if (dir.empty() || !(fs::try_read_file(dir + "/memory.events", text) || fs::try_read_file(dir + "/memory.oom_control", text)))
        return what;
    size_t at = text.find("oom_kill ");
    if (at == std::string::npos || std::atoll(text.c_str() + at + 9) == 0) return what;
    return what + ": out of memory (linux.resources.memory.limit is " + std::to_string(*mem->limit) +
           " bytes, too little to start)";
}

// Undoes what a create that died part way made, from what it recorded: its processes (an init
// may be waiting on exec.fifo for a start that cannot come), cgroups, host mounts, directory.
void remove_incomplete(ContainerDir& dir) {
    Record r = dir.load();
    cgroups::Manager cg = cgroups::Manager::restore(r.cgroup);
    for (int i = 0; i < 100 && !cg.pids().empty(); ++i) {
        cg.signal_all(SIGKILL);
        ::usleep(10000);
    }
    if (r.host_mounts && !r.rootfs.empty()) rootfs::unmount_under(r.rootfs);
    cg.destroy();
    dir.remove();
}

// The container's directory, new. One that a create killed part way left is cleared first, as
// `delete` would clear it: the id is free again.
ContainerDir claim_dir(const std::string& root, const std::string& id) {
    try {
        return ContainerDir::create(root, id);
    } catch (const AlreadyExists&) {
        std::optional<ContainerDir> old;
        try {
            old = ContainerDir::try_open(root, id);
        } catch (const Error&) {
            return ContainerDir::create(root, id);  // deleted meanwhile
        }
        if (!old || old->complete()) throw;
        remove_incomplete(*old);
    }
    return ContainerDir::create(root, id);
}

UniqueFd open_pidfd(const Record& r) {
    UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, r.pid, 0)));
    if (!fd || !proc::alive(r.pid, r.pid_start)) return UniqueFd();
    return fd;
}

bool wait_gone(int pidfd, int timeout_ms) {
    pollfd p{pidfd, POLLIN, 0};
    int n;
    while ((n = ::poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
    }
    return n > 0;
}

}  // namespace

UniqueFd connect_pidfd_socket(const std::string& path) {
    if (path.empty()) return UniqueFd();
    try {
        return unix_socket::connect(path);
    } catch (const std::exception& e) {
        throw Error(std::string("--pidfd-socket: ") + e.what());
    }
}

Status status_of(const ContainerDir& dir, const Record& r) {
    if (!r.complete || !proc::alive(r.pid, r.pid_start)) return Status::Stopped;
    if (fs::exists(dir.file("exec.fifo"))) return Status::Created;
    if (!r.cgroup.empty() && cgroups::Manager::restore(r.cgroup).frozen()) return Status::Paused;
    return Status::Running;
}

namespace {

// One create in progress: what each step makes and the next one uses. Not movable: the
// rollback steps and init's context point into it.
struct Creation {
    explicit Creation(const CreateOptions& o) : opt(o) {}
    Creation(const Creation&) = delete;
    Creation& operator=(const Creation&) = delete;

    const CreateOptions& opt;
    std::string bundle;
    std::string text;  // config.json as read
    spec::Config config;
    std::string rootfs;
    ns::Plan plan;
    UniqueFd pidfd_sock, console_sock, console_peer;
    Rollback rollback;
    ContainerDir dir;
    UniqueFd fifo;  // exec.fifo's read end, init's
    Record rec;
    cgroups::Manager cg;
    bool use_cgroups = true;
    UniqueFd parent_sock;
    pid_t pid = -1;
    Created out;

    const spec::Linux* lx() const { return config.linux ? &*config.linux : nullptr; }
    // Records the cgroup's intent in creating.json before it is made.
    void record_cgroup(const nlohmann::json& intent) {
        rec.cgroup = intent;
        dir.save_intent(rec);
    }
};

// Reads and checks everything create needs, making nothing.
void prepare(Creation& c) {
    const CreateOptions& opt = c.opt;
    validate_id(opt.id);
    char real_bundle[PATH_MAX];
    if (!::realpath(opt.bundle.c_str(), real_bundle)) throw_errno("bundle " + opt.bundle);
    c.bundle = real_bundle;
    if (!fs::try_read_file(c.bundle + "/config.json", c.text)) throw_errno("bundle " + c.bundle + ": read config.json");
    c.config = spec::parse_config(c.text);
    // Every check of the config, before anything is made.
    validate(c.config);
    c.rootfs = resolve_rootfs(c.bundle, c.config.root);
    c.plan = ns::plan(c.lx());

    c.pidfd_sock = connect_pidfd_socket(opt.pidfd_socket);
    if (c.config.process->terminal) {
        auto cs = console::open_socket(opt.console_socket, opt.foreground);
        c.console_sock = std::move(cs.sock);
        c.console_peer = std::move(cs.peer);
    } else if (!opt.console_socket.empty()) {
        throw Error("--console-socket given but process.terminal is false");
    }
}

// The state dir with config.json and exec.fifo, and creating.json's first record.
void claim(Creation& c) {
    c.dir = claim_dir(c.opt.root, c.opt.id);
    c.rollback.add([&c] { c.dir.remove(); });
    ContainerDir& dir = c.dir;
    fs::write_file(dir.file("config.json"), c.text, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    // Owner only: whoever can open it for writing starts the container.
    if (::mkfifo(dir.file("exec.fifo").c_str(), 0600) != 0 || ::chmod(dir.file("exec.fifo").c_str(), 0600) != 0)
        throw_errno("mkfifo " + dir.file("exec.fifo"));
    // Init waits on the read end, opened here (a reader needs no writer with O_NONBLOCK) so that
    // it exists from the start whatever user init becomes; `start` writes into it and is done.
    c.fifo.reset(::open(dir.file("exec.fifo").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!c.fifo) throw_errno("open " + dir.file("exec.fifo"));

    // What `delete` needs to undo this create if it dies part way, in creating.json before the
    // cgroups exist (init is in them before it could outlive us).
    Record& rec = c.rec;
    const ns::Plan& plan = c.plan;
    rec.id = c.opt.id;
    rec.bundle = c.bundle;
    rec.rootfs = c.rootfs;
    rec.created = log::now_rfc3339();
    rec.owner = owner_name();
    rec.annotations = c.config.annotations;
    rec.own_pid_ns = plan.new_flags & CLONE_NEWPID;
    rec.poststart_hooks = !c.config.hooks.poststart.empty();
    rec.poststop_hooks = !c.config.hooks.poststop.empty();
    rec.host_mounts = !(plan.new_flags & CLONE_NEWNS) && !plan.joined(CLONE_NEWNS);
}

// The cgroup, made and limited before init exists (systemd's unit comes with init: place()).
void make_cgroup(Creation& c) {
    const CreateOptions& opt = c.opt;
    const spec::Linux* lx = c.lx();
    std::string cgroups_path = lx ? lx->cgroups_path : "";
    c.cg = opt.systemd_cgroup ? cgroups::Manager::plan_systemd(cgroups_path, opt.id, opt.rootless)
                              : cgroups::Manager::plan(cgroups_path, opt.id);
    cgroups::Manager& cg = c.cg;
    try {
        // systemd's unit is made around init, once it exists (start_init).
        if (!cg.uses_systemd()) cg.create([&c](const nlohmann::json& intent) { c.record_cgroup(intent); });
    } catch (const cgroups::NotPermitted& e) {
        // Only for a rootless husk that truly lacks the rights: as real root, a container
        // without its device cgroup could reach the host's disks (in a user namespace the
        // kernel refuses device nodes anyway).
        if (!opt.rootless || (::geteuid() == 0 && proc::in_initial_user_ns())) throw;
        // Device rules need no cgroup here: an unprivileged user namespace cannot mknod.
        if (lx && lx->resources && wants_limits(*lx->resources))
            throw Error(std::string("linux.resources: a rootless container needs cgroups for its limits: ") + e.what());
        log::debug(std::string("rootless: running without cgroups: ") + e.what());
        cg = cgroups::Manager::restore(nlohmann::json::object());
        c.use_cgroups = false;
        c.rec.cgroup = nlohmann::json::object();
    }
    c.rollback.add([cg]() mutable { cg.destroy(); });
    if (c.use_cgroups && lx && lx->resources && !cg.uses_systemd()) cg.apply(*lx->resources);
}

// Clones init (into the cgroup where the kernel can) and holds it until sync().
void start_init(Creation& c) {
    const CreateOptions& opt = c.opt;
    const ns::Plan& plan = c.plan;
    // Sockets passed by systemd-style activation go to the container too.
    int preserve = opt.preserve_fds;
    std::vector<std::string> extra_env;
    if (const char* lf = std::getenv("LISTEN_FDS")) {
        int n = std::atoi(lf);
        if (n > 0) {
            preserve += n;
            extra_env = {"LISTEN_FDS=" + std::to_string(n), "LISTEN_PID=1"};
        }
    }

    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw_errno("socketpair");
    UniqueFd child_sock(sv[1]);
    c.parent_sock.reset(sv[0]);

    for (auto& j : plan.joins)
        if (j.flag == CLONE_NEWPID && ::setns(j.fd.get(), CLONE_NEWPID) != 0) throw_errno("join pid namespace");
    uint64_t flags = static_cast<uint64_t>(plan.new_flags) & ~static_cast<uint64_t>(CLONE_NEWCGROUP | CLONE_NEWTIME);
    UniqueFd cgfd(c.cg.open_unified());

    init::Context ctx;
    ctx.config = &c.config;
    ctx.id = opt.id;
    ctx.rootfs = c.rootfs;
    ctx.ns = &plan;
    ctx.cgroup = &c.cg;
    ctx.sync_fd = child_sock.get();
    ctx.fifo_fd = c.fifo.get();
    ctx.console_fd = c.console_sock.get();
    ctx.lock_fd = c.dir.lock_fd();
    ctx.cgroup_fd = cgfd.get();
    ctx.preserve_fds = preserve;
    ctx.no_pivot = opt.no_pivot;
    ctx.no_new_keyring = opt.no_new_keyring;
    ctx.join_cgroup_ns = plan.new_flags & CLONE_NEWCGROUP;
    ctx.extra_env = extra_env;
    std::map<size_t, UniqueFd> idmapped = rootfs::make_idmapped_mounts(c.config, c.rootfs);
    ctx.idmapped = &idmapped;

    int pidfd = -1;
    pid_t pid = clone_init(flags, cgfd.get(), ctx, c.parent_sock, child_sock, pidfd);
    if (pid < 0) throw_errno("clone3 container init");
    c.pid = pid;
    c.out.pid = pid;
    c.out.pidfd.reset(pidfd);
    if (!(plan.new_flags & CLONE_NEWNS) && !plan.joined(CLONE_NEWNS))
        c.rollback.add([rootfs = c.rootfs] { rootfs::unmount_under(rootfs); });
    // Our own unreaped child: its pid cannot be reused before the waitpid.
    c.rollback.add([pid] {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    });
    child_sock.reset();
    c.console_sock.reset();

    // What init waits for before Go: its id maps, network devices and cgroup.
    const spec::Linux* lx = c.lx();
    cgroups::Manager& cg = c.cg;
    if (plan.new_user()) ns::write_id_maps(pid, lx->uid_mappings, lx->gid_mappings);
    if (lx) net_devices::move_into(*lx, pid);
    if (cg.uses_systemd()) {
        cg.start_unit(pid, lx && lx->resources ? &*lx->resources : nullptr, c.config.annotations,
                      "husk container " + opt.id, [&c](const nlohmann::json& intent) { c.record_cgroup(intent); });
        c.rollback.add([cg]() mutable { cg.destroy(); });
    } else if (!cgfd) {
        cg.add(pid);
    } else
        for (auto& h : cg.hierarchies())
            if (!h.unified()) fs::write_file(h.dir + "/cgroup.procs", std::to_string(pid), O_WRONLY);

    c.rec.pid = pid;
    if (c.use_cgroups) c.rec.cgroup = cg.save();
}

// Lets init go and serves it (hooks, the seccomp notify fd) until it is ready.
void sync_with_init(Creation& c) {
    const ns::Plan& plan = c.plan;
    const spec::Linux* lx = c.lx();
    pid_t pid = c.pid;
    if ((plan.new_user() || plan.joined(CLONE_NEWUSER)) && (plan.new_flags & CLONE_NEWNS)) {
        for (auto& [index, fd] : rootfs::open_bind_sources(c.config, c.rootfs, pid))
            sync::send(c.parent_sock.get(), sync::Msg::BindSource, std::to_string(index), fd.get(), kSync);
    }
    try {
        sync::send(c.parent_sock.get(), sync::Msg::Go, {}, -1, kSync);
    } catch (const Error&) {
        throw Error(death_during_setup(pid, c.cg, lx));
    }

    for (;;) {
        sync::Message m;
        try {
            m = sync::recv(c.parent_sock.get(), kSync);
        } catch (const Error&) {
            m.type = sync::Msg::Closed;  // the socket reset: init died, which says more
        }
        if (m.type == sync::Msg::RunHooks) {
            std::string creating = spec::state_to_oci_json(make_state(c.rec, Status::Creating));
            hooks::run_all("prestart", c.config.hooks.prestart, creating);
            hooks::run_all("createRuntime", c.config.hooks.create_runtime, creating);
            sync::send(c.parent_sock.get(), sync::Msg::HooksDone,
                       spec::state_to_oci_json(make_state(c.rec, Status::Created)), -1, kSync);
        } else if (m.type == sync::Msg::SeccompFd) {
            if (!m.fd) throw Error("linux.seccomp: container init sent no notify fd");
            seccomp::send_to_listener(*lx->seccomp, m.fd.get(), pid,
                                      spec::state_to_oci_json(make_state(c.rec, Status::Creating)));
            m.fd.reset();
            sync::send(c.parent_sock.get(), sync::Msg::SeccompDone, {}, -1, kSync);
        } else if (m.type == sync::Msg::Ready) {
            break;
        } else if (m.type == sync::Msg::Error) {
            throw Error(m.text);
        } else {
            throw Error(death_during_setup(pid, c.cg, lx));
        }
    }
}

// state.json, --pid-file and --pidfd-socket: the container is created.
// As runc: a container with user and cgroup namespaces of its own and a writable cgroupfs is
// delegated its cgroup v2 directory, owned by its root (uid 0 and gid 0 inside).
void delegate_cgroup(Creation& c) {
    const spec::Linux* lx = c.lx();
    if (!c.use_cgroups || !lx || !lx->find_namespace("user") || !lx->find_namespace("cgroup")) return;
    bool writable = false;
    for (const auto& m : c.config.mounts) {
        if (m.type != "cgroup" && m.type != "cgroup2") continue;
        bool ro = false;
        for (const auto& o : m.options) ro = o == "ro" ? true : o == "rw" ? false : ro;
        writable = writable || !ro;
    }
    auto root_of = [](const std::vector<spec::IdMapping>& map) -> std::optional<uint32_t> {
        for (const auto& m : map)
            if (m.container_id == 0 && m.size > 0) return m.host_id;
        return std::nullopt;
    };
    auto uid = root_of(lx->uid_mappings), gid = root_of(lx->gid_mappings);
    if (writable && uid && gid) c.cg.delegate_to(*uid, *gid);
}

void record(Creation& c) {
    pid_t pid = c.pid;
    delegate_cgroup(c);
    auto start = proc::start_time(pid);
    if (!start) throw Error("container init exited during setup");
    c.rec.pid_start = *start;
    if (c.console_peer) {
        c.out.console_master = unix_socket::recv_fd(c.console_peer.get());
        if (!c.out.console_master) throw Error("no console received from the container");
    }
    c.dir.save(c.rec);
    if (!c.opt.pid_file.empty()) write_pid_file(c.opt.pid_file, pid);
    if (c.pidfd_sock) unix_socket::send_fd(c.pidfd_sock.get(), c.out.pidfd.get(), "pidfd");
    // Init may be past this already (started by a quick `husk start`): then nobody reads it.
    char recorded = static_cast<char>(sync::Msg::Recorded);
    ::send(c.parent_sock.get(), &recorded, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

}  // namespace

Created create(const CreateOptions& opt) {
    Creation c(opt);
    prepare(c);
    try {
        claim(c);
        make_cgroup(c);
        start_init(c);
        sync_with_init(c);
        record(c);
    } catch (...) {
        c.rollback.run();
        throw;
    }
    return std::move(c.out);
}

void start(const std::string& root, const std::string& id) {
    Container c = Container::load(root, id);
    c.require(Op::Start);
    ContainerDir& dir = c.dir();
    const Record& r = c.record();
    // Init holds exec.fifo's only read end: with no reader (ENXIO) init has exited. Once open,
    // init starts whatever happens to this process (closing the write end wakes it too), so the
    // fifo goes first and the byte last: init, woken, tends to take this CPU at once.
    UniqueFd fifo(::open(dir.file("exec.fifo").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fifo && errno == ENXIO) {
        if (!proc::alive(r.pid, r.pid_start))
            throw Error("cannot start container \"" + id + "\": its init process exited");
        // Init no longer waits: a start that died after opening the fifo started it already.
        ::unlink(dir.file("exec.fifo").c_str());
        throw Error("cannot start container \"" + id + "\": it is running, not created");
    }
    if (!fifo) throw_errno("open " + dir.file("exec.fifo"));
    ::unlink(dir.file("exec.fifo").c_str());
    // Init dying between the open and the write would raise SIGPIPE: an error, not our death.
    struct sigaction ignore{}, old{};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &old);
    ssize_t n = ::write(fifo.get(), "0", 1);
    int err = errno;
    ::sigaction(SIGPIPE, &old, nullptr);
    if (n != 1 && err == EPIPE) throw Error("cannot start container \"" + id + "\": its init process exited");
    if (n != 1) throw_errno("write " + dir.file("exec.fifo"), err);
    // The container runs now (no fifo): others may take the lock while we wait for execve,
    // a startContainer hook calling `husk state` included.
    dir.unlock();
    // As runc, start returns once the container's program has replaced init: a signal sent
    // right after must find the program, not init's last steps (where a pid 1 without a
    // handler drops it). Init keeps its read end open through the exec stub, which closes it
    // at the program's execve; the last reader going away (POLLERR on this end; events 0
    // waits for nothing else) means execve has happened, or init has died. Poststart hooks
    // come after that too.
    pollfd p{fifo.get(), 0, 0};
    while (::poll(&p, 1, -1) < 0)
        if (errno != EINTR) throw_errno("wait for the container process to start");
    if (auto cfg = r.poststart_hooks ? saved_config(dir) : std::nullopt) {
        try {
            hooks::run_all("poststart", cfg->hooks.poststart, spec::state_to_oci_json(make_state(r, Status::Running)));
        } catch (const std::exception& e) {
            // As runc: a failed poststart hook fails start, and the container goes.
            log::debug(std::string("poststart failed, removing the container: ") + e.what());
            try {
                remove(root, id, true);
            } catch (const std::exception& re) {
                log::warn(std::string("remove after a failed poststart hook: ") + re.what());
            }
            throw;
        }
    }
}

spec::State state(const std::string& root, const std::string& id) { return Container::load(root, id).state(); }

std::vector<spec::State> list(const std::string& root) {
    std::vector<spec::State> out;
    for (const auto& id : ContainerDir::list(root)) {
        try {
            auto dir = ContainerDir::try_open(root, id);
            if (dir) {
                Record r = dir->load();
                out.push_back(make_state(r, status_of(*dir, r)));
            } else if (fs::exists(root + "/" + id + "/state.json")) {
                out.push_back(state(root, id));  // another command has it for a moment
            } else if (auto r = ContainerDir::peek_creating(root, id)) {
                out.push_back(make_state(*r, Status::Creating));  // not waited for: hooks can take long
            }
        } catch (const std::exception&) {
            // Deleted while we listed.
        }
    }
    return out;
}

void kill(const std::string& root, const std::string& id, int sig, bool all) {
    Container c = Container::load(root, id);
    if (!all) c.require(Op::Kill);
    if (all && c.cgroup()) {
        c.cgroup()->signal_all(sig);
        return;
    }
    UniqueFd pidfd = open_pidfd(c.record());
    if (!pidfd) throw Error("cannot kill container \"" + id + "\": it is not running");
    if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) != 0) throw_errno("kill container " + id);
}

void remove(const std::string& root, const std::string& id, bool force) {
    validate_id(id);
    // As runc: a forced delete of a container that does not exist succeeds (one deleted by a
    // concurrent delete too). Callers such as the runc shim's cleanup rely on it.
    std::optional<ContainerDir> opened;
    try {
        opened.emplace(ContainerDir::open(root, id));
    } catch (const Error&) {
        if (!force || fs::exists(root + "/" + id)) throw;
        ContainerDir::remove_stale_temporaries(root, id);
        return;
    }
    ContainerDir& dir = *opened;
    if (!dir.complete()) {
        remove_incomplete(dir);
        return;
    }
    Record r = dir.load();
    Status st = status_of(dir, r);
    cgroups::Manager cg = cgroups::Manager::restore(r.cgroup);
    if (!force) require(Op::Delete, st, id);
    if (st != Status::Stopped) {
        UniqueFd pidfd = open_pidfd(r);
        if (st == Status::Paused) cg.thaw();
        if (pidfd) ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
        if (!r.own_pid_ns) cg.signal_all(SIGKILL);
        if (pidfd && !wait_gone(pidfd.get(), 10000)) throw Error("delete container \"" + id + "\": init did not exit");
    }
    // Without its own pid namespace, processes of the container can outlive its init.
    if (!r.own_pid_ns && !cg.pids().empty()) cg.signal_all(SIGKILL);
    if (auto cfg = r.poststop_hooks ? saved_config(dir) : std::nullopt) {
        try {
            hooks::run_all("poststop", cfg->hooks.poststop, spec::state_to_oci_json(make_state(r, Status::Stopped)));
        } catch (const std::exception& e) {
            log::warn(e.what());
        }
    }
    if (r.host_mounts) rootfs::unmount_under(r.rootfs);
    cg.destroy();
    dir.remove();
}

void pause(const std::string& root, const std::string& id) {
    Container c = Container::load(root, id);
    c.require(Op::Pause);
    if (!c.cgroup()) throw Error("cannot pause container \"" + id + "\": it has no cgroup (rootless)");
    c.cgroup()->freeze();
}

void resume(const std::string& root, const std::string& id) {
    Container c = Container::load(root, id);
    c.require(Op::Resume);
    cgroups::Manager::restore(c.record().cgroup).thaw();
}

}  // namespace husk::container
