#include "rootfs.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "mounts.hpp"
#include "namespaces.hpp"
#include "common/proc.hpp"
#include "procfs.hpp"
#include "syscalls.hpp"

namespace husk::rootfs {
namespace {

int sys_mount_setattr(int fd, const char* path, unsigned flags, mount_attr* attr) {
    return static_cast<int>(::syscall(SYS_mount_setattr, fd, path, flags, attr, sizeof(mount_attr)));
}

void set_attrs(int mfd, uint64_t set, uint64_t clr, bool recursive, const std::string& what) {
    if (set == 0 && clr == 0) return;
    mount_attr a{};
    a.attr_set = set;
    a.attr_clr = clr;
    if (sys_mount_setattr(mfd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a) != 0)
        throw_errno("set mount options of " + what);
}

void set_propagation(int mfd, unsigned long prop, const std::string& what) {
    mount_attr a{};
    a.propagation = prop & ~MS_REC;
    if (sys_mount_setattr(mfd, "", AT_EMPTY_PATH | ((prop & MS_REC) ? AT_RECURSIVE : 0), &a) != 0)
        throw_errno("set propagation of " + what);
}

void attach(int mfd, int target_fd, const std::string& what) {
    if (::move_mount(mfd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
        throw_errno("mount " + what);
}

// A detached mount of a new filesystem instance.
UniqueFd make_fs(const std::string& type, const std::string& source, const mounts::Options& o, const std::string& what) {
    UniqueFd fsfd(::fsopen(type.c_str(), FSOPEN_CLOEXEC));
    if (!fsfd) throw_errno("mount " + what + ": filesystem type \"" + type + "\"");
    if (!source.empty() && ::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, "source", source.c_str(), 0) != 0)
        throw_errno("mount " + what + ": source \"" + source + "\"");
    for (const auto& f : o.sb_flags)
        if (::fsconfig(fsfd.get(), FSCONFIG_SET_FLAG, f.c_str(), nullptr, 0) != 0)
            throw_errno("mount " + what + ": option \"" + f + "\"");
    for (const auto& d : o.data) {
        size_t eq = d.find('=');
        int r = eq == std::string::npos
                    ? ::fsconfig(fsfd.get(), FSCONFIG_SET_FLAG, d.c_str(), nullptr, 0)
                    : ::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, d.substr(0, eq).c_str(), d.substr(eq + 1).c_str(), 0);
        if (r != 0) throw_errno("mount " + what + ": option \"" + d + "\"");
    }
    if (::fsconfig(fsfd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) throw_errno("mount " + what);
    uint64_t attrs = o.attr_set & ~MOUNT_ATTR__ATIME;
    if (o.attr_set & MOUNT_ATTR__ATIME) attrs |= o.attr_set & MOUNT_ATTR__ATIME;
    if (o.readonly) attrs |= MOUNT_ATTR_RDONLY;
    UniqueFd mfd(::fsmount(fsfd.get(), FSMOUNT_CLOEXEC, static_cast<unsigned>(attrs)));
    if (!mfd) throw_errno("mount " + what);
    return mfd;
}

// A detached copy of an existing tree (bind or rbind).
UniqueFd make_bind(const std::string& source, bool recursive, const std::string& what) {
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
    UniqueFd mfd(::open_tree(AT_FDCWD, source.c_str(), flags));
    if (!mfd) throw_errno("bind mount " + what + ": source " + source);
    return mfd;
}

// The same from an fd of the source (opened by the parent, see open_bind_sources).
UniqueFd clone_tree(int source_fd, bool recursive, const std::string& what) {
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
    UniqueFd mfd(::open_tree(source_fd, "", flags));
    if (!mfd) throw_errno("bind mount " + what);
    return mfd;
}

bool is_dir(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Against procfs write redirection: only a procfs goes at /proc (a new one, or a bind of one:
// checked on the mount itself, see require_procfs_mount), and over /proc/* only the few files
// runc allows (lxcfs-style tools).
void check_proc_destination(const spec::Mount& m, bool bind, const std::string& dest) {
    if (dest != "/proc" && dest.rfind("/proc/", 0) != 0) return;
    if (dest == "/proc") {
        if (!bind && m.type != "proc")
            throw Error("mount " + dest + ": only a proc filesystem may be mounted at /proc, not \"" + m.type + "\"");
        return;
    }
    static const char* allowed[] = {"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",
                                    "/proc/swaps",   "/proc/uptime",    "/proc/loadavg", "/proc/slabinfo",
                                    "/proc/net/dev", "/proc/sys/kernel/ns_last_pid"};
    for (const char* a : allowed)
        if (dest == a) return;
    throw Error("mount " + dest + ": mounting over /proc is not allowed except for " +
                "cpuinfo, diskstats, meminfo, stat, swaps, uptime, loadavg, slabinfo, net/dev");
}

// The cgroup mount type: cgroup2 on a v2 host; on v1 and hybrid hosts a tmpfs with each
// hierarchy's container directory bound into it, as runc lays it out. A rootless container
// without cgroups of its own sees the host's tree read-only, as its user does.
void mount_cgroup(int rootfd, const std::string& dest, const mounts::Options& o, const cgroups::Manager* cg) {
    UniqueFd target = fs::mkdir_all_in_root(rootfd, dest, fs::Kind::Directory);
    if (cg && cg->hierarchies().empty()) {
        UniqueFd b = make_bind("/sys/fs/cgroup", true, dest);
        set_attrs(b.get(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0, true, dest);
        attach(b.get(), target.get(), dest);
        return;
    }
    if (!cg || cg->layout() == cgroups::Layout::V2) {
        mounts::Options fo = o;
        fo.data.clear();
        UniqueFd mfd;
        try {
            mfd = make_fs("cgroup2", "cgroup2", fo, dest);
        } catch (const Error& e) {
            // In a user namespace without a cgroup namespace of its own the kernel refuses a
            // new cgroup2 mount: as runc, the container's own cgroup is bound there instead.
            const cgroups::Hierarchy* h = cg ? cg->find("") : nullptr;
            if ((e.code != EPERM && e.code != EBUSY) || !h) throw;
            mfd = make_bind(h->dir, false, dest);
            set_attrs(mfd.get(), fo.attr_set | (o.readonly ? MOUNT_ATTR_RDONLY : 0), 0, false, dest);
        }
        attach(mfd.get(), target.get(), dest);
        return;
    }
    mounts::Options tmp;
    tmp.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    tmp.data = {"mode=755"};
    UniqueFd tfd = make_fs("tmpfs", "tmpfs", tmp, dest);
    attach(tfd.get(), target.get(), dest);
    // The tmpfs is new and ours alone, so its directories are made and opened through tfd
    // directly, with no walk from the rootfs (and no symlink to meet).
    for (const auto& h : cg->hierarchies()) {
        std::string name = h.unified() ? "unified" : h.mountpoint.substr(h.mountpoint.rfind('/') + 1);
        std::string sub = dest + "/" + name;
        if (::mkdirat(tfd.get(), name.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("mkdir " + sub);
        UniqueFd t(::openat(tfd.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!t) throw_errno("open " + sub);
        UniqueFd b = make_bind(h.dir, false, sub);
        set_attrs(b.get(), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | (o.readonly ? MOUNT_ATTR_RDONLY : 0),
                  0, false, sub);
        attach(b.get(), t.get(), sub);
        // cpu,cpuacct is also reachable as cpu and cpuacct.
        for (size_t pos = 0, c; name.find(',') != std::string::npos && pos < name.size(); pos = c + 1) {
            c = std::min(name.find(',', pos), name.size());
            std::string alias = name.substr(pos, c - pos);
            if (::symlinkat(name.c_str(), tfd.get(), alias.c_str()) != 0 && errno != EEXIST)
                throw_errno("symlink " + dest + "/" + alias);
        }
    }
    if (o.readonly) set_attrs(tfd.get(), MOUNT_ATTR_RDONLY, 0, false, dest);
}

UniqueFd open_null_device() {
    UniqueFd fd(::open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw_errno("linux.maskedPaths: open /dev/null");
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) throw_errno("linux.maskedPaths: stat /dev/null");
    if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
        throw Error("linux.maskedPaths: /dev/null in the container is not the null device (a symlink or another "
                    "file): refusing to mount it over masked paths");
    return fd;
}

bool wants_idmap(const spec::Mount& m, const mounts::Options& o) {
    return o.idmap || o.ridmap || !m.uid_mappings.empty() || !m.gid_mappings.empty();
}

// A relative bind source is relative to the bundle (the rootfs's parent), as in runc.
std::string bind_source(const spec::Mount& m, const std::string& rootfs) {
    if (!m.source.empty() && m.source[0] != '/') return fs::join(fs::clean(rootfs + "/.."), m.source);
    return m.source;
}

// A user namespace with the given maps, held by a short-lived child; returns its ns fd.
UniqueFd make_userns(const std::vector<spec::IdMapping>& uids, const std::vector<spec::IdMapping>& gids) {
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) throw_errno("pipe");
    UniqueFd rd(pipefd[0]), wr(pipefd[1]);
    pid_t pid = proc::clone3(CLONE_NEWUSER);
    if (pid < 0) throw_errno("create a user namespace for an idmapped mount");
    if (pid == 0) {
        wr.reset();
        char c;
        while (::read(rd.get(), &c, 1) < 0 && errno == EINTR) {
        }
        _exit(0);
    }
    rd.reset();
    UniqueFd ns;
    try {
        ns::write_id_maps(pid, uids, gids);
        ns.reset(::open(("/proc/" + std::to_string(pid) + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
        if (!ns) throw_errno("open the user namespace of an idmapped mount");
    } catch (...) {
        wr.reset();
        ::waitpid(pid, nullptr, 0);
        throw;
    }
    wr.reset();
    ::waitpid(pid, nullptr, 0);
    return ns;
}

// A tmpfs without mode= over an existing directory takes that directory's mode, setuid, setgid
// and sticky bits included (runc's behaviour), rather than tmpfs' 1777.
void keep_covered_mode(int rootfd, const std::string& dest, mounts::Options& o) {
    for (const auto& d : o.data)
        if (d.rfind("mode=", 0) == 0) return;
    UniqueFd covered = fs::open_in_root(rootfd, dest, O_PATH, true);
    struct stat st;
    if (!covered || ::fstat(covered.get(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
    char mode[16];
    std::snprintf(mode, sizeof mode, "mode=%o", st.st_mode & 07777);
    o.data.push_back(mode);
}

// The config's own /dev mount is read-only (and not a bind of the host's).
bool dev_readonly(const spec::Config& c) {
    for (const auto& m : c.mounts) {
        if (fs::clean("/" + m.destination) != "/dev") continue;
        auto o = mounts::parse(m.options);
        return !(o.bind || m.type == "bind") && o.readonly;
    }
    return false;
}

void require_procfs_mount(int mfd, const std::string& dest) {
    if (dest != "/proc") return;
    struct statfs sfs;
    if (::fstatfs(mfd, &sfs) != 0) throw_errno("mount " + dest);
    if (sfs.f_type != PROC_SUPER_MAGIC) throw Error("mount " + dest + ": a bind at /proc must be of a proc filesystem");
}

void do_mount(int rootfd, size_t index, const spec::Mount& m, const Setup& s) {
    std::string dest = fs::clean("/" + m.destination);
    mounts::Options o = mounts::parse(m.options);
    bool bind = o.bind || m.type == "bind";
    // Where a /proc mount may go was checked before create began (check_mount_destinations).
    if (m.type == "cgroup" && !bind) {
        mount_cgroup(rootfd, dest, o, s.cgroup);
        return;
    }
    // A procfs or sysfs reached through a symlink of the image is where later writes to
    // /proc and /sys would be redirected (CVE-2019-19921): refuse it, as runc does.
    if ((m.type == "proc" || m.type == "sysfs") && fs::has_symlink_in_root(rootfd, dest))
        throw Error("mount " + dest + ": the destination of a " + m.type + " mount must not be a symlink");
    std::string source = bind ? bind_source(m, s.rootfs) : m.source;
    const UniqueFd* opened = s.bind_sources && s.bind_sources->count(index) ? &s.bind_sources->at(index) : nullptr;
    fs::Kind kind = fs::Kind::Directory;
    struct stat st;
    if (bind && !(opened ? ::fstat(opened->get(), &st) == 0 && S_ISDIR(st.st_mode) : is_dir(source)))
        kind = fs::Kind::File;
    if (m.type == "tmpfs" && !bind) keep_covered_mode(rootfd, dest, o);
    // As runc: a read-only /dev is made read-only only once its devices, /dev/pts and the
    // console are in place (finish()).
    if (dest == "/dev" && !bind) o.readonly = false;
    UniqueFd target = fs::mkdir_all_in_root(rootfd, dest, kind);
    if (s.idmapped && s.idmapped->count(index)) {
        require_procfs_mount(s.idmapped->at(index).get(), dest);
        attach(s.idmapped->at(index).get(), target.get(), dest);
        return;
    }
    UniqueFd mfd;
    if (bind) {
        mfd = opened ? clone_tree(opened->get(), o.recursive, dest) : make_bind(source, o.recursive, dest);
        require_procfs_mount(mfd.get(), dest);
        uint64_t set = o.attr_set | (o.readonly ? MOUNT_ATTR_RDONLY : 0);
        uint64_t clr = o.attr_clr;
        set_attrs(mfd.get(), set, clr, false, dest);
    } else {
        std::string type = m.type.empty() ? "none" : m.type;
        mfd = make_fs(type, m.source, o, dest);
    }
    set_attrs(mfd.get(), o.rec_attr_set, o.rec_attr_clr, true, dest);
    attach(mfd.get(), target.get(), dest);
    if (!o.propagation.empty()) {
        UniqueFd mounted = fs::open_in_root(rootfd, dest, O_PATH);
        for (unsigned long p : o.propagation) set_propagation(mounted.get(), p, dest);
    }
}

struct DefaultDevice {
    const char* path;
    unsigned major, minor;
};
constexpr DefaultDevice kDefaultDevices[] = {{"/dev/null", 1, 3},    {"/dev/zero", 1, 5},
                                             {"/dev/full", 1, 7},    {"/dev/random", 1, 8},
                                             {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};

// mknod, or a bind of the host's node where mknod is not allowed (user namespaces).
void make_device(int rootfd, const std::string& given, mode_t type, unsigned major, unsigned minor, mode_t perm,
                 uid_t uid, gid_t gid, bool bind_only) {
    // "/dev/x/" is /dev/x, as with runc (the last component is the node's name).
    const std::string path = fs::clean("/" + given);
    std::string parent = path.substr(0, path.rfind('/'));
    UniqueFd dir = fs::mkdir_all_in_root(rootfd, parent.empty() ? "/" : parent, fs::Kind::Directory);
    UniqueFd dirfd = fs::open_in_root(rootfd, parent.empty() ? "/" : parent, O_PATH | O_DIRECTORY);
    std::string name = path.substr(path.rfind('/') + 1);
    // Re-open through /proc so that mknodat gets a real directory fd.
    UniqueFd real(::openat(dirfd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!real) throw_errno("open " + parent);
    struct stat st;
    if (::fstatat(real.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
        ::unlinkat(real.get(), name.c_str(), 0);
    if (!bind_only && type != 0) {
        if (::mknodat(real.get(), name.c_str(), type | perm, makedev(major, minor)) == 0) {
            if (::fchownat(real.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
                throw_errno("chown device " + path);
            if (::fchmodat(real.get(), name.c_str(), perm, 0) != 0) throw_errno("chmod device " + path);
            return;
        }
        if (errno != EPERM) throw_errno("mknod " + path);
    }
    int f = ::openat(real.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (f < 0 && errno != EEXIST) throw_errno("create " + path);
    if (f >= 0) ::close(f);
    UniqueFd target = fs::open_in_root(rootfd, path, O_PATH);
    UniqueFd mfd = make_bind(path, false, path);
    attach(mfd.get(), target.get(), path);
}

bool binds_host_dev(const spec::Config& c) {
    for (const auto& m : c.mounts) {
        if (fs::clean("/" + m.destination) != "/dev") continue;
        auto o = mounts::parse(m.options);
        if (o.bind || m.type == "bind") return true;
    }
    return false;
}

void setup_dev(int rootfd, const Setup& s) {
    const spec::Config& c = s.config;
    if (!binds_host_dev(c)) {
        for (const auto& d : kDefaultDevices)
            make_device(rootfd, d.path, S_IFCHR, d.major, d.minor, 0666, 0, 0, s.user_ns);
        UniqueFd devdir = fs::mkdir_all_in_root(rootfd, "/dev", fs::Kind::Directory);
        UniqueFd dev(::openat(devdir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        const std::pair<const char*, const char*> links[] = {{"/proc/self/fd", "fd"},
                                                             {"/proc/self/fd/0", "stdin"},
                                                             {"/proc/self/fd/1", "stdout"},
                                                             {"/proc/self/fd/2", "stderr"},
                                                             {"pts/ptmx", "ptmx"}};
        for (auto& [target, name] : links) {
            if (std::string(name) == "ptmx") ::unlinkat(dev.get(), name, 0);
            if (::symlinkat(target, dev.get(), name) != 0 && errno != EEXIST) throw_errno(std::string("symlink /dev/") + name);
        }
    }
    if (!c.linux) return;
    for (size_t i = 0; i < c.linux->devices.size(); ++i) {
        const auto& d = c.linux->devices[i];
        mode_t type = d.type == "b" ? S_IFBLK : d.type == "p" ? S_IFIFO : S_IFCHR;
        mode_t perm = d.file_mode.value_or(0666) & 07777;
        make_device(rootfd, d.path, type, static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor), perm,
                    d.uid.value_or(0), d.gid.value_or(0), s.user_ns && d.type != "p");
    }
}

unsigned long propagation_flag(const std::string& p) {
    if (p == "shared") return MS_SHARED;
    if (p == "rshared") return MS_SHARED | MS_REC;
    if (p == "slave") return MS_SLAVE;
    if (p == "rslave") return MS_SLAVE | MS_REC;
    if (p == "private") return MS_PRIVATE;
    if (p == "rprivate") return MS_PRIVATE | MS_REC;
    if (p == "unbindable") return MS_UNBINDABLE;
    if (p == "runbindable") return MS_UNBINDABLE | MS_REC;
    return 0;
}

// Whether the mount with this id (statx's stx_mnt_id) is shared, from /proc/self/mountinfo:
// the optional fields between the mount options and " - " hold "shared:N" for one.
bool mount_is_shared(uint64_t mnt_id) {
    UniqueFd proc = procfs::root();
    std::string info = procfs::read(proc.get(), "thread-self/mountinfo");
    std::string id = std::to_string(mnt_id) + " ";
    for (size_t pos = 0; pos < info.size();) {
        size_t end = std::min(info.find('\n', pos), info.size());
        std::string_view line(info.data() + pos, end - pos);
        pos = end + 1;
        if (line.substr(0, id.size()) != id) continue;
        std::string_view head = line.substr(0, line.find(" - "));
        return head.find(" shared:") != std::string_view::npos;
    }
    return false;
}

// Makes the mount that `path` lies on private, if it is shared (as runc does for the rootfs's
// parent): a mount made on a shared mount is copied to its peers, the host's among them.
void make_private_if_shared(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_errno("open rootfs " + path);
    struct statx stx;
    if (::statx(fd.get(), "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) != 0) throw_errno("statx " + path);
    uint64_t mnt_id = stx.stx_mnt_id;
    if (!mount_is_shared(mnt_id)) return;
    // A mount's propagation is set through its root: walk up to it, within the same mount.
    while (!(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
        fd.reset(::openat(fd.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!fd) throw_errno("open a parent of " + path);
        if (::statx(fd.get(), "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) != 0) throw_errno("statx a parent of " + path);
        if (stx.stx_mnt_id != mnt_id) throw Error("find the mount holding " + path + ": left it walking up");
    }
    set_propagation(fd.get(), MS_PRIVATE, "the mount holding " + path);
}

// The mount points of whole procfs and sysfs mounts (their root is the filesystem's root)
// outside `rootfs`, from /proc/self/mountinfo.
std::vector<std::string> outer_procfs_sysfs(const std::string& rootfs) {
    std::vector<std::string> out;
    std::string info = fs::read_file("/proc/self/mountinfo");
    for (size_t pos = 0; pos < info.size();) {
        size_t end = std::min(info.find('\n', pos), info.size());
        std::string_view line(info.data() + pos, end - pos);
        pos = end + 1;
        // id parent major:minor root mountpoint options... - fstype source superoptions
        size_t dash = line.find(" - ");
        if (dash == std::string_view::npos) continue;
        std::string_view type = line.substr(dash + 3);
        type = type.substr(0, type.find(' '));
        if (type != "proc" && type != "sysfs") continue;
        std::vector<std::string_view> f;
        for (size_t a = 0; a < dash && f.size() < 5;) {
            size_t b = std::min(line.find(' ', a), dash);
            f.push_back(line.substr(a, b - a));
            a = b + 1;
        }
        if (f.size() < 5 || f[3] != "/") continue;
        std::string point(f[4]);
        // Octal escapes (\040 for a space) are left alone: such a path is skipped below.
        if (point == rootfs || point.rfind(rootfs + "/", 0) == 0 || point.find('\\') != std::string::npos) continue;
        out.push_back(point);
    }
    return out;
}

// --no-pivot keeps the host's mounts in the container's mount namespace, under the rootfs that
// is moved over them. The kernel lets a user namespace mount procfs or sysfs where a whole one
// is already visible in its mount namespace, and counts those hidden ones too: a process of
// the container that makes a user namespace of its own (where the container's masked /proc no
// longer counts) could mount a bare /proc. So each is covered with an empty tmpfs, which a
// namespace made inside the container gets as a locked mount over it, as runc covers those it
// may not unmount. Covered, not unmounted: an unmount propagates to the peers of the mount it
// sits on (the host's `/`, with rootfsPropagation shared); the covering mount sits on the
// procfs itself, made a slave first so that it reaches nothing of the host's.
void hide_outer_procfs_sysfs(const std::string& rootfs) {
    for (const auto& point : outer_procfs_sysfs(rootfs)) {
        if (::mount(nullptr, point.c_str(), nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
            if (errno == ENOENT) continue;  // under one already covered
            throw_errno("--no-pivot: make " + point + " a slave before covering it");
        }
        if (::mount("tmpfs", point.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
            throw_errno("--no-pivot: cover " + point);
    }
}

}  // namespace

void check_mount_destinations(const spec::Config& c) {
    for (const spec::Mount& m : c.mounts) {
        mounts::Options o = mounts::parse(m.options);
        check_proc_destination(m, o.bind || m.type == "bind", fs::clean("/" + m.destination));
    }
}

std::map<size_t, UniqueFd> make_idmapped_mounts(const spec::Config& c, const std::string& rootfs) {
    std::map<size_t, UniqueFd> out;
    for (size_t i = 0; i < c.mounts.size(); ++i) {
        const spec::Mount& m = c.mounts[i];
        mounts::Options o = mounts::parse(m.options);
        if (!wants_idmap(m, o)) continue;
        std::string field = "mounts[" + std::to_string(i) + "]";
        if (!(o.bind || m.type == "bind")) throw Error(field + ".options: idmapped mounts must be bind mounts");
        auto uids = m.uid_mappings, gids = m.gid_mappings;
        if (uids.empty() && c.linux) {
            uids = c.linux->uid_mappings;
            gids = c.linux->gid_mappings;
        }
        if (uids.empty() || gids.empty())
            throw Error(field + ".uidMappings: an idmapped mount needs mappings, on the mount or on the container's user namespace");
        UniqueFd userns = make_userns(uids, gids);
        std::string dest = fs::clean("/" + m.destination);
        bool recursive = o.recursive || o.ridmap;
        UniqueFd mfd = make_bind(bind_source(m, rootfs), recursive, dest);
        mount_attr a{};
        a.attr_set = MOUNT_ATTR_IDMAP;
        a.userns_fd = static_cast<uint64_t>(userns.get());
        if (sys_mount_setattr(mfd.get(), "", AT_EMPTY_PATH | (o.ridmap ? AT_RECURSIVE : 0), &a) != 0)
            throw_errno(field + ": idmap " + dest);
        // Everything else must be set here too: the child does not own this detached mount.
        set_attrs(mfd.get(), o.attr_set | (o.readonly ? MOUNT_ATTR_RDONLY : 0), o.attr_clr, false, dest);
        set_attrs(mfd.get(), o.rec_attr_set, o.rec_attr_clr, true, dest);
        out.emplace(i, std::move(mfd));
    }
    return out;
}

std::map<size_t, UniqueFd> open_bind_sources(const spec::Config& c, const std::string& rootfs, pid_t pid) {
    std::map<size_t, UniqueFd> out;
    std::vector<size_t> binds;
    for (size_t i = 0; i < c.mounts.size(); ++i) {
        const spec::Mount& m = c.mounts[i];
        mounts::Options o = mounts::parse(m.options);
        if ((o.bind || m.type == "bind") && !wants_idmap(m, o) && !m.source.empty()) binds.push_back(i);
    }
    if (binds.empty()) return out;
    UniqueFd own(::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC));
    UniqueFd cwd(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    UniqueFd theirs(::open(("/proc/" + std::to_string(pid) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
    if (!own || !cwd || !theirs) throw_errno("open the mount namespaces to open bind sources in");
    // Only where husk may come back: re-entering its own namespace asks the same rights of it
    // (which root of a user namespace, over the host's mount namespace, lacks). Without them,
    // or without the right to enter the container's (rootless), init opens the sources itself.
    if (::setns(own.get(), CLONE_NEWNS) != 0 || ::setns(theirs.get(), CLONE_NEWNS) != 0) {
        int err = errno;
        if (::fchdir(cwd.get()) != 0) throw_errno("return to husk's working directory");
        if (err == EPERM) return out;
        throw_errno("enter the container's mount namespace to open bind sources", err);
    }
    for (size_t i : binds) {
        UniqueFd fd(::open(bind_source(c.mounts[i], rootfs).c_str(), O_PATH | O_CLOEXEC));
        if (fd) out.emplace(i, std::move(fd));
    }
    // Back home, cwd and all (setns moved both to the namespace's root): a relative --pid-file
    // is still to be written.
    if (::setns(own.get(), CLONE_NEWNS) != 0 || ::fchdir(cwd.get()) != 0)
        throw_errno("return to husk's mount namespace");
    return out;
}

UniqueFd prepare(const Setup& s) {
    const spec::Config& c = s.config;
    if (s.own_mount_ns) {
        // `/` takes the configured propagation (rslave by default) before any mount, as with
        // runc: under rshared, a bind of a shared host mount joins that mount's peer group, so
        // that what the container mounts below it reaches the host (Kubernetes' Bidirectional).
        std::string prop = c.linux ? c.linux->rootfs_propagation : "";
        unsigned long root_prop = prop.empty() ? (MS_SLAVE | MS_REC) : propagation_flag(prop);
        if (::mount(nullptr, "/", nullptr, root_prop, nullptr) != 0) throw_errno("set propagation of /");
        // The container's own mounts must not reach it: the rootfs bind, which all of them
        // sit under, lands on the mount that holds the rootfs, so that one is kept to itself.
        // After a recursive slave or private `/` (the default) no mount is shared any more.
        if ((root_prop & MS_SHARED) || !(root_prop & MS_REC)) make_private_if_shared(s.rootfs);
    }
    // pivot_root needs the rootfs to be a mount point, and so does a read-only root.
    if ((s.own_mount_ns || c.root.readonly) &&
        ::mount(s.rootfs.c_str(), s.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
        throw_errno("bind mount rootfs " + s.rootfs);
    UniqueFd rootfd(::open(s.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!rootfd) throw_errno("open rootfs " + s.rootfs);
    for (size_t i = 0; i < c.mounts.size(); ++i) do_mount(rootfd.get(), i, c.mounts[i], s);
    setup_dev(rootfd.get(), s);
    return rootfd;
}

void enter(int rootfd, Entry how, const std::string& rootfs) {
    if (how == Entry::MoveRoot) hide_outer_procfs_sysfs(rootfs);
    sys::Syscalls& sys = sys::current();
    if (sys.fchdir(rootfd) != 0) throw_errno("chdir to rootfs");
    if (how == Entry::Chroot) {
        if (sys.chroot(".") != 0) throw_errno("chroot");
    } else if (how == Entry::MoveRoot) {
        // A mount moved onto a shared `/` (rootfsPropagation shared) would be copied onto its
        // peers, the host's `/` among them; `/` is covered by the rootfs from here on anyway.
        if (sys.mount(nullptr, "/", nullptr, MS_PRIVATE, nullptr) != 0) throw_errno("make / private");
        if (sys.mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) throw_errno("move rootfs to /");
        if (sys.chroot(".") != 0) throw_errno("chroot");
    } else {
        UniqueFd old_root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!old_root) throw_errno("open /");
        if (sys.pivot_root(".", ".") != 0) throw_errno("pivot_root");
        // The old root is now stacked on the new one. It is made a slave so that detaching it
        // does not unmount anything on the host, and reached through its own fd: "." is the
        // new root, whose mounts keep the propagation they were given.
        if (sys.fchdir(old_root.get()) != 0) throw_errno("chdir to the old root");
        if (sys.mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) throw_errno("make old root slave");
        if (sys.umount2(".", MNT_DETACH) != 0) throw_errno("unmount old root");
    }
    if (sys.chdir("/") != 0) throw_errno("chdir /");
}

void finish(const spec::Config& c) {
    if (c.linux) {
        for (const auto& p : c.linux->readonly_paths) {
            UniqueFd mfd(::open_tree(AT_FDCWD, p.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
            if (!mfd) {
                if (errno == ENOENT) continue;
                throw_errno("linux.readonlyPaths: " + p);
            }
            set_attrs(mfd.get(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0, true, p);
            UniqueFd target(::open(p.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
            if (!target) throw_errno("linux.readonlyPaths: " + p);
            attach(mfd.get(), target.get(), p);
        }
        // Masked files get the container's /dev/null, opened once and checked to be the null
        // device: by path, a /dev/null swapped for a symlink (a /dev from the rootfs is the
        // host's to change during create) would bind its target instead (CVE-2025-31133).
        UniqueFd null_dev;
        for (const auto& p : c.linux->masked_paths) {
            UniqueFd target(::open(p.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
            if (!target) {
                if (errno == ENOENT) continue;
                throw_errno("linux.maskedPaths: " + p);
            }
            struct stat st;
            if (::fstat(target.get(), &st) != 0) throw_errno("linux.maskedPaths: stat " + p);
            UniqueFd mfd;
            if (S_ISDIR(st.st_mode)) {
                mounts::Options o;
                o.readonly = true;
                mfd = make_fs("tmpfs", "tmpfs", o, p);
            } else {
                if (!null_dev) null_dev = open_null_device();
                mfd.reset(::open_tree(null_dev.get(), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
                if (!mfd) throw_errno("linux.maskedPaths: bind /dev/null over " + p);
            }
            attach(mfd.get(), target.get(), p);
        }
    }
    if (dev_readonly(c)) {
        UniqueFd dev(::open("/dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!dev) throw_errno("open /dev");
        set_attrs(dev.get(), MOUNT_ATTR_RDONLY, 0, false, "/dev");
    }
    if (c.root.readonly) {
        UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
        mount_attr a{};
        a.attr_set = MOUNT_ATTR_RDONLY;
        if (sys_mount_setattr(root.get(), "", AT_EMPTY_PATH, &a) != 0) throw_errno("make rootfs read-only");
    }
    if (c.linux && !c.linux->rootfs_propagation.empty()) {
        unsigned long p = propagation_flag(c.linux->rootfs_propagation);
        if (sys::current().mount(nullptr, "/", nullptr, p, nullptr) != 0) throw_errno("linux.rootfsPropagation: set on /");
    }
}

void unmount_under(const std::string& rootfs) {
    std::string info;
    if (!fs::try_read_file("/proc/self/mountinfo", info)) return;
    std::vector<std::string> points;
    size_t pos = 0;
    while (pos < info.size()) {
        size_t end = info.find('\n', pos);
        if (end == std::string::npos) end = info.size();
        std::string line = info.substr(pos, end - pos);
        pos = end + 1;
        // Field 5 is the mount point (octal escapes for spaces are left as they are).
        size_t f = 0;
        for (int i = 0; i < 4 && f != std::string::npos; ++i) f = line.find(' ', f + 1);
        if (f == std::string::npos) continue;
        size_t e = line.find(' ', f + 1);
        std::string mp = line.substr(f + 1, e - f - 1);
        if (mp == rootfs || mp.rfind(rootfs + "/", 0) == 0) points.push_back(mp);
    }
    for (auto it = points.rbegin(); it != points.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
}

void bind_console(int slave_fd) {
    int f = ::open("/dev/console", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (f >= 0) ::close(f);
    UniqueFd target(::open("/dev/console", O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!target) throw_errno("open /dev/console");
    // The pty goes over this very inode, which must be a plain file or a device node: never a
    // symlink's target, nor a directory standing in for it (CVE-2025-52565).
    struct stat st;
    if (::fstat(target.get(), &st) != 0) throw_errno("stat /dev/console");
    if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
        throw Error("/dev/console in the container is not a file or a device: refusing to bind the console over it");
    UniqueFd mfd(::open_tree(slave_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
    if (!mfd) throw_errno("bind console");
    attach(mfd.get(), target.get(), "/dev/console");
}

}  // namespace husk::rootfs
