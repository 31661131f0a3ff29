#include "fs.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "error.hpp"

namespace husk::fs {

std::string read_file(const std::string& path) {
    std::string out;
    if (!try_read_file(path, out)) throw_errno("read " + path);
    return out;
}

bool try_read_file(const std::string& path, std::string& out) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return false;
    return try_read_fd(fd.get(), out);
}

bool try_read_fd(int fd, std::string& out) {
    out.clear();
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (n == 0) break;
        out.append(buf, n);
    }
    return true;
}

void write_all(int fd, std::string_view data, const std::string& what) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("write " + what);
        }
        data.remove_prefix(n);
    }
}

void write_file(const std::string& path, std::string_view data, int flags, mode_t mode) {
    if (flags == 0) flags = O_WRONLY | O_CREAT | O_TRUNC;
    UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC, mode));
    if (!fd) throw_errno("open " + path);
    write_all(fd.get(), data, path);
}

void write_at(int dirfd, const std::string& name, std::string_view data) {
    UniqueFd fd(::openat(dirfd, name.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) throw_errno("open " + name);
    write_all(fd.get(), data, name);
}

void mkdir_all(const std::string& path, mode_t mode) {
    std::string cur;
    size_t pos = 0;
    while (pos <= path.size()) {
        size_t next = path.find('/', pos);
        if (next == std::string::npos) next = path.size();
        cur = path.substr(0, next);
        if (!cur.empty() && ::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) throw_errno("mkdir " + cur);
        pos = next + 1;
    }
}

bool exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

static std::vector<std::string> split_components(const std::string& path) {
    std::vector<std::string> parts;
    size_t pos = 0;
    while (pos < path.size()) {
        size_t next = path.find('/', pos);
        if (next == std::string::npos) next = path.size();
        std::string c = path.substr(pos, next - pos);
        if (!c.empty() && c != ".") parts.push_back(c);
        pos = next + 1;
    }
    return parts;
}

std::string clean(const std::string& path) {
    bool abs = !path.empty() && path[0] == '/';
    std::vector<std::string> out;
    for (auto& c : split_components(path)) {
        if (c == "..") {
            if (!out.empty() && out.back() != "..") out.pop_back();
            else if (!abs) out.push_back(c);
        } else {
            out.push_back(c);
        }
    }
    std::string r = abs ? "/" : "";
    for (size_t i = 0; i < out.size(); ++i) r += (i ? "/" : "") + out[i];
    return r.empty() ? "." : r;
}

std::string join(const std::string& a, const std::string& b) {
    if (b.empty()) return a;
    if (a.empty() || b[0] == '/') return a.empty() ? b : clean(a + "/" + b);
    return clean(a + "/" + b);
}

int openat2(int dirfd, const char* path, const open_how& how) {
    // The kernel gives up on a lookup only when another rename or mount raced it, so another
    // try usually succeeds; the bound is for a machine renaming without pause.
    for (int attempt = 0;; ++attempt) {
        int fd = static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
        if (fd >= 0 || errno != EAGAIN || attempt == 1000) return fd;
    }
}

UniqueFd open_dir(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_errno("open " + path);
    return fd;
}

UniqueFd open_in_root(int rootfd, const std::string& path, int flags, bool allow_missing) {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    std::string rel = clean("/" + path);
    int fd = openat2(rootfd, rel.c_str(), how);
    if (fd < 0) {
        if (allow_missing && errno == ENOENT) return UniqueFd();
        throw_errno("open " + rel + " in the container rootfs");
    }
    return UniqueFd(fd);
}

bool has_symlink_in_root(int rootfd, const std::string& path) {
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS;
    std::string rel = clean("/" + path);
    int fd = openat2(rootfd, rel.c_str(), how);
    if (fd >= 0) ::close(fd);
    return fd < 0 && errno == ELOOP;
}

static UniqueFd mkdir_all_in_root_at(int rootfd, const std::string& path, Kind last, mode_t mode, int depth) {
    if (depth > 40) throw Error("resolve " + path + " in the container rootfs: too many levels of symbolic links");
    auto parts = split_components(clean("/" + path));
    UniqueFd cur(::fcntl(rootfd, F_DUPFD_CLOEXEC, 3));
    std::string sofar;
    for (size_t i = 0; i < parts.size(); ++i) {
        std::string parent = sofar.empty() ? "/" : sofar;
        sofar += "/" + parts[i];
        UniqueFd next = open_in_root(rootfd, sofar, O_PATH, true);
        if (!next) {
            bool is_last = i + 1 == parts.size();
            int made;
            if (is_last && last == Kind::File) {
                made = ::openat(cur.get(), parts[i].c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (made >= 0) ::close(made);
            } else {
                made = ::mkdirat(cur.get(), parts[i].c_str(), mode);
            }
            if (made < 0 && errno != EEXIST) throw_errno("create " + sofar + " in the container rootfs");
            if (made < 0) {
                // A dangling symlink: create its target, resolved inside the root, instead.
                char target[4096];
                ssize_t n = ::readlinkat(cur.get(), parts[i].c_str(), target, sizeof target - 1);
                if (n < 0) throw_errno("create " + sofar + " in the container rootfs");
                target[n] = '\0';
                std::string rest;
                for (size_t k = i + 1; k < parts.size(); ++k) rest += "/" + parts[k];
                std::string resolved = target[0] == '/' ? std::string(target) : parent + "/" + target;
                return mkdir_all_in_root_at(rootfd, resolved + rest, last, mode, depth + 1);
            }
            next = open_in_root(rootfd, sofar, O_PATH);
        }
        cur = std::move(next);
    }
    return cur;
}

UniqueFd mkdir_all_in_root(int rootfd, const std::string& path, Kind last, mode_t mode) {
    return mkdir_all_in_root_at(rootfd, path, last, mode, 0);
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

}  // namespace husk::fs
