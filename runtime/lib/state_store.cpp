#include "state_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "error.hpp"
#include "fs.hpp"

namespace husk {

void validate_id(const std::string& id) {
    if (id.empty()) throw Error("container id must not be empty");
    if (id.size() > 1024) throw Error("container id is too long");
    if (id == "." || id == "..") throw Error("invalid container id \"" + id + "\"");
    for (char c : id) {
        bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '-' || c == '.';
        if (!ok) throw Error("invalid container id \"" + id + "\": only letters, digits, _ + - and . are allowed");
    }
}

static UniqueFd lock_dir(const std::string& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_errno("open " + dir);
    while (::flock(fd.get(), LOCK_EX) != 0) {
        if (errno != EINTR) throw_errno("lock " + dir);
    }
    return fd;
}

ContainerDir ContainerDir::create(const std::string& root, const std::string& id) {
    validate_id(id);
    fs::mkdir_all(root, 0711);
    ContainerDir d;
    d.dir_ = root + "/" + id;
    if (::mkdir(d.dir_.c_str(), 0711) != 0) {
        if (errno == EEXIST) throw Error("container \"" + id + "\" already exists");
        throw_errno("create " + d.dir_);
    }
    d.lock_ = lock_dir(d.dir_);
    return d;
}

ContainerDir ContainerDir::open(const std::string& root, const std::string& id) {
    validate_id(id);
    ContainerDir d;
    d.dir_ = root + "/" + id;
    struct stat st;
    if (::stat(d.dir_.c_str(), &st) != 0) throw Error("container \"" + id + "\" does not exist");
    d.lock_ = lock_dir(d.dir_);
    // A concurrent delete may have removed it while we waited for the lock.
    if (::stat((d.dir_ + "/state.json").c_str(), &st) != 0) throw Error("container \"" + id + "\" does not exist");
    return d;
}

ContainerDir ContainerDir::open_incomplete(const std::string& root, const std::string& id) {
    validate_id(id);
    ContainerDir d;
    d.dir_ = root + "/" + id;
    d.lock_ = lock_dir(d.dir_);
    return d;
}

std::vector<std::string> ContainerDir::list(const std::string& root) {
    std::vector<std::string> ids;
    DIR* dir = ::opendir(root.c_str());
    if (!dir) return ids;
    while (dirent* e = ::readdir(dir)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        if (fs::exists(root + "/" + name + "/state.json")) ids.push_back(name);
    }
    ::closedir(dir);
    std::sort(ids.begin(), ids.end());
    return ids;
}

void ContainerDir::save(const Record& r) const {
    nlohmann::json j;
    j["id"] = r.id;
    j["pid"] = r.pid;
    j["pid_start"] = r.pid_start;
    j["bundle"] = r.bundle;
    j["rootfs"] = r.rootfs;
    j["created"] = r.created;
    j["owner"] = r.owner;
    j["annotations"] = r.annotations;
    j["own_pid_ns"] = r.own_pid_ns;
    j["host_mounts"] = r.host_mounts;
    j["poststart_hooks"] = r.poststart_hooks;
    j["poststop_hooks"] = r.poststop_hooks;
    j["cgroup"] = r.cgroup;
    std::string tmp = file("state.json.tmp");
    fs::write_file(tmp, j.dump(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (::rename(tmp.c_str(), file("state.json").c_str()) != 0) throw_errno("rename " + tmp);
}

Record ContainerDir::load() const {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(fs::read_file(file("state.json")));
    } catch (const nlohmann::json::exception& e) {
        throw Error("corrupt state " + file("state.json") + ": " + e.what());
    }
    Record r;
    r.id = j.value("id", "");
    r.pid = j.value("pid", 0);
    r.pid_start = j.value("pid_start", uint64_t{0});
    r.bundle = j.value("bundle", "");
    r.rootfs = j.value("rootfs", "");
    r.created = j.value("created", "");
    r.owner = j.value("owner", "");
    r.annotations = j.value("annotations", std::map<std::string, std::string>{});
    r.own_pid_ns = j.value("own_pid_ns", false);
    r.host_mounts = j.value("host_mounts", false);
    r.poststart_hooks = j.value("poststart_hooks", true);
    r.poststop_hooks = j.value("poststop_hooks", true);
    r.cgroup = j.value("cgroup", nlohmann::json::object());
    return r;
}

void ContainerDir::remove() {
    DIR* dir = ::opendir(dir_.c_str());
    if (dir) {
        while (dirent* e = ::readdir(dir)) {
            std::string name = e->d_name;
            if (name != "." && name != "..") ::unlink((dir_ + "/" + name).c_str());
        }
        ::closedir(dir);
    }
    if (::rmdir(dir_.c_str()) != 0 && errno != ENOENT) throw_errno("remove " + dir_);
    lock_.reset();
}

}  // namespace husk
