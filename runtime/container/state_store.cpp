#include "state_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/fs.h>
#include <unistd.h>

#include <algorithm>

#include "common/error.hpp"
#include "common/fs.hpp"

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

namespace {

// The directory's lock; without `wait`, an empty fd if another command holds it.
UniqueFd lock_dir(const std::string& dir, bool wait) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_errno("open " + dir);
    while (::flock(fd.get(), LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
        if (!wait && errno == EWOULDBLOCK) return UniqueFd();
        if (errno != EINTR) throw_errno("lock " + dir);
    }
    return fd;
}

nlohmann::json to_json(const Record& r) {
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
    return j;
}

Record from_json(const nlohmann::json& j) {
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

// Written whole or not at all: a create killed mid-write leaves the old file or none.
void write_atomically(const std::string& path, const nlohmann::json& j) {
    std::string tmp = path + ".tmp";
    fs::write_file(tmp, j.dump(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw_errno("rename " + tmp);
}

// What a create that never finished recorded; its process, if any, is not ours to name.
Record incomplete_record(const std::string& id, const std::string& creating_json) {
    Record r;
    std::string text;
    if (fs::try_read_file(creating_json, text)) {
        try {
            r = from_json(nlohmann::json::parse(text));
        } catch (const nlohmann::json::exception&) {
            // Killed before its first record was whole: nothing was made yet.
        }
    }
    r.id = id;
    r.pid = 0;
    r.pid_start = 0;
    r.poststart_hooks = r.poststop_hooks = false;
    r.complete = false;
    return r;
}

}  // namespace

ContainerDir ContainerDir::create(const std::string& root, const std::string& id) {
    validate_id(id);
    fs::mkdir_all(root, 0711);
    // Made and locked under a name no id can have ('~'), then renamed: no other command ever
    // sees the directory unlocked and mistakes it for what a dead create left.
    std::string tmp = root + "/" + id + "~" + std::to_string(::getpid());
    if (::mkdir(tmp.c_str(), 0711) != 0) {
        if (errno != EEXIST) throw_errno("create " + tmp);
        remove_stale_temporaries(root, id);
        if (::mkdir(tmp.c_str(), 0711) != 0) throw_errno("create " + tmp);
    }
    ContainerDir d;
    d.dir_ = root + "/" + id;
    try {
        d.lock_ = lock_dir(tmp, true);
    } catch (...) {
        ::rmdir(tmp.c_str());
        throw;
    }
    if (::syscall(SYS_renameat2, AT_FDCWD, tmp.c_str(), AT_FDCWD, d.dir_.c_str(), RENAME_NOREPLACE) != 0) {
        int err = errno;
        ::rmdir(tmp.c_str());
        if (err == EEXIST) throw AlreadyExists("container \"" + id + "\" already exists");
        throw_errno("create " + d.dir_, err);
    }
    return d;
}

std::optional<ContainerDir> ContainerDir::open_dir(const std::string& root, const std::string& id, bool wait) {
    validate_id(id);
    ContainerDir d;
    d.dir_ = root + "/" + id;
    struct stat st;
    if (::stat(d.dir_.c_str(), &st) != 0) throw Error("container \"" + id + "\" does not exist");
    d.lock_ = lock_dir(d.dir_, wait);
    if (!d.lock_) return std::nullopt;
    if (::stat((d.dir_ + "/state.json").c_str(), &st) == 0) return d;
    // Without state.json: removed by a delete while we waited, or a create that died.
    if (::fstat(d.lock_.get(), &st) != 0 || st.st_nlink == 0) throw Error("container \"" + id + "\" does not exist");
    d.complete_ = false;
    return d;
}

ContainerDir ContainerDir::open(const std::string& root, const std::string& id) { return *open_dir(root, id, true); }

std::optional<ContainerDir> ContainerDir::try_open(const std::string& root, const std::string& id) {
    return open_dir(root, id, false);
}

std::vector<std::string> ContainerDir::list(const std::string& root) {
    std::vector<std::string> ids;
    DIR* dir = ::opendir(root.c_str());
    if (!dir) return ids;
    while (dirent* e = ::readdir(dir)) {
        std::string name = e->d_name;
        if (name == "." || name == ".." || name.find('~') != std::string::npos) continue;
        if (e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && fs::exists(root + "/" + name + "/.")))
            ids.push_back(name);
    }
    ::closedir(dir);
    std::sort(ids.begin(), ids.end());
    return ids;
}

std::optional<Record> ContainerDir::peek_creating(const std::string& root, const std::string& id) {
    std::string dir = root + "/" + id;
    if (!fs::exists(dir)) return std::nullopt;
    return incomplete_record(id, dir + "/creating.json");
}

void ContainerDir::remove_stale_temporaries(const std::string& root, const std::string& id) {
    DIR* dir = ::opendir(root.c_str());
    if (!dir) return;
    std::vector<std::string> stale;
    std::string prefix = id + "~";
    while (dirent* e = ::readdir(dir)) {
        std::string name = e->d_name;
        if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size()) continue;
        if (name.find_first_not_of("0123456789", prefix.size()) != std::string::npos) continue;
        stale.push_back(root + "/" + name);
    }
    ::closedir(dir);
    for (const auto& path : stale) {
        // Locked: a create is between its mkdir and its rename right now.
        try {
            if (UniqueFd lock = lock_dir(path, false)) ::rmdir(path.c_str());
        } catch (const Error&) {
        }
    }
}

void ContainerDir::save(const Record& r) const {
    write_atomically(file("state.json"), to_json(r));
    ::unlink(file("creating.json").c_str());
}

void ContainerDir::save_intent(const Record& r) const { write_atomically(file("creating.json"), to_json(r)); }

Record ContainerDir::load() const {
    if (!complete_) return incomplete_record(dir_.substr(dir_.rfind('/') + 1), file("creating.json"));
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(fs::read_file(file("state.json")));
    } catch (const nlohmann::json::exception& e) {
        throw Error("corrupt state " + file("state.json") + ": " + e.what());
    }
    return from_json(j);
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
