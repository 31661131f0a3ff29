#include "tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "controller.hpp"

namespace husk::cgroups {

std::string trim(const std::string& s) {
    size_t e = s.find_last_not_of(" \n\t");
    return e == std::string::npos ? std::string() : s.substr(0, e + 1);
}

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

bool has_processes_below(const std::string& dir, int depth) {
    std::string text;
    if (fs::try_read_file(dir + "/cgroup.procs", text) && !split(text, '\n').empty()) return true;
    if (depth > 64) throw Error("cgroup " + dir + ": nested too deep to check for processes");
    for (const auto& c : child_dirs(dir))
        if (has_processes_below(c, depth + 1)) return true;
    return false;
}

void subdirs_deepest_first(const std::string& dir, std::vector<std::string>& out, int depth) {
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

void remove_cgroup_dir(const std::string& dir) {
    for (int i = 0; i < 100; ++i) {
        if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
        if (errno != EBUSY) throw_errno("remove cgroup " + dir);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw_errno("remove cgroup " + dir, EBUSY);
}

}  // namespace husk::cgroups
