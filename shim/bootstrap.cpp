#include "bootstrap.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "error.hpp"
#include "rootfs.hpp"
#include "serve.hpp"
#include "sha256.hpp"
#include "shim.pb.h"
#include "shim_options.hpp"
#include "unique_fd.hpp"

namespace husk::shim {
namespace {

constexpr const char* kSocketDir = "/run/containerd/s";

std::string read_file(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string socket_path(const std::string& address) { return address.substr(std::strlen("unix://")); }

sockaddr_un unix_addr(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) throw Error("socket path is too long: " + path);
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    return a;
}

bool socket_alive(const std::string& path) {
    sockaddr_un a = unix_addr(path);
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    return s && ::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

void write_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::write(fd, s.data() + off, s.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw_errno("write");
        off += size_t(n);
    }
}

}  // namespace

Flags parse_flags(int argc, char** argv) {
    Flags f;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a.size() < 2 || a[0] != '-') {
            if (!f.action.empty()) throw Error("unexpected argument " + a);
            f.action = a;
            continue;
        }
        std::string name = a.substr(a[1] == '-' ? 2 : 1), val;
        bool has_val = false;
        if (auto eq = name.find('='); eq != std::string::npos) {
            val = name.substr(eq + 1);
            name.resize(eq);
            has_val = true;
        }
        if (name == "debug" || name == "v") {
            if (name == "debug") f.debug = !has_val || val == "true" || val == "1";
            else f.action = "version";
            continue;
        }
        std::string* out = name == "namespace" ? &f.ns
                         : name == "address" ? &f.address
                         : name == "publish-binary" ? &f.publish_binary
                         : name == "id" ? &f.id
                         : name == "bundle" ? &f.bundle
                         : nullptr;
        // Flags of newer containerd releases (-socket, -ttrpc-address...) carry nothing we need.
        if (!has_val) {
            if (i + 1 >= argc) throw Error("flag needs an argument: " + a);
            val = argv[++i];
        }
        if (out) *out = val;
    }
    return f;
}

std::string socket_address(const std::string& containerd_address, const std::string& ns, const std::string& group) {
    return std::string("unix://") + kSocketDir + "/" + sha256_hex(containerd_address + "/" + ns + "/" + group);
}

std::string group_id(const std::string& config_json, const std::string& id) {
    auto j = nlohmann::json::parse(config_json, nullptr, false);
    if (j.is_object() && j.contains("annotations") && j["annotations"].is_object()) {
        const auto& a = j["annotations"];
        for (const char* key : {"io.kubernetes.cri.sandbox-id", "io.containerd.runc.v2.group"})
            if (a.contains(key) && a[key].is_string() && !a[key].get<std::string>().empty())
                return a[key].get<std::string>();
    }
    return id;
}

int cmd_start(const Flags& f) {
    if (f.id.empty() || f.ns.empty()) throw Error("start: -id and -namespace are required");
    char cwd[4096];
    if (!::getcwd(cwd, sizeof cwd)) throw_errno("getcwd");
    std::string bundle = cwd;
    std::string address = socket_address(f.address, f.ns, group_id(read_file(bundle + "/config.json"), f.id));
    std::string path = socket_path(address);

    if (socket_alive(path)) {
        std::ofstream(bundle + "/address", std::ios::trunc) << address;
        write_all(1, address);
        return 0;
    }
    ::unlink(path.c_str());
    ::mkdir("/run/containerd", 0711);
    if (::mkdir(kSocketDir, 0711) != 0 && errno != EEXIST) throw_errno(std::string("mkdir ") + kSocketDir);
    sockaddr_un a = unix_addr(path);
    UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock) throw_errno("socket");
    if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw_errno("bind " + path);
    if (::listen(sock.get(), 64) != 0) throw_errno("listen " + path);

    pid_t pid = ::fork();
    if (pid < 0) {
        ::unlink(path.c_str());
        throw_errno("fork");
    }
    if (pid == 0) {
        // The server must not hold containerd's output pipe: containerd reads `start` to EOF.
        ::setsid();
        int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(null, 2);
        if (null > 2) ::close(null);
        ServeConfig sc{f.ns, bundle, path, f.debug};
        ::_exit(serve(std::move(sock), sc));
    }
    std::ofstream(bundle + "/address", std::ios::trunc) << address;
    write_all(1, address);
    return 0;
}

int cmd_delete(const Flags& f) {
    if (f.id.empty() || f.ns.empty()) throw Error("delete: -id and -namespace are required");
    std::string bundle = f.bundle;
    if (bundle.empty()) {
        char cwd[4096];
        if (!::getcwd(cwd, sizeof cwd)) throw_errno("getcwd");
        bundle = cwd;
    }
    ShimOptions o = load_options(bundle, kDefaultRuntime);
    RuntimeConfig rc = o.runtime_config(f.ns, bundle);
    run_runtime(rc, {"delete", "--force", f.id});
    unmount_all(bundle + "/rootfs");
    // A shim that died leaves its socket file; remove it unless another task's shim is alive.
    if (!f.address.empty()) {
        std::string path = socket_path(socket_address(f.address, f.ns, group_id(read_file(bundle + "/config.json"), f.id)));
        if (!socket_alive(path)) ::unlink(path.c_str());
    }

    containerd::task::v2::DeleteResponse resp;
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    resp.set_exit_status(128 + 9);  // the shim died: report the container as killed
    resp.mutable_exited_at()->set_seconds(ts.tv_sec);
    resp.mutable_exited_at()->set_nanos(int32_t(ts.tv_nsec));
    write_all(1, resp.SerializeAsString());
    return 0;
}

}  // namespace husk::shim
