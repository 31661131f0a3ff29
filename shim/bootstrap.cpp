#include "bootstrap.hpp"

#include <fcntl.h>
#include <poll.h>
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
#include <vector>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "rootfs.hpp"
#include "serve.hpp"
#include "sha256.hpp"
#include "shim.pb.h"
#include "shim_options.hpp"
#include "ttrpc_server.hpp"
#include "common/unique_fd.hpp"
#include "common/unix_socket.hpp"
#include "wire.pb.h"

namespace husk::shim {
namespace {

constexpr const char* kSocketDir = "/run/containerd/s";

// A bundle without a readable config.json has no pod to share: group_id sees "" then.
std::string read_config(const std::string& bundle) {
    std::string out;
    if (!fs::try_read_file(bundle + "/config.json", out)) out.clear();
    return out;
}

std::string socket_path(const std::string& address) { return address.substr(std::strlen("unix://")); }

bool socket_alive(const std::string& path) {
    unix_socket::Address a = unix_socket::address(path);
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    return s && ::connect(s.get(), a.get(), a.len) == 0;
}

// containerd 2.x writes the runtime options (a protobuf Any) to `start`'s stdin and closes it;
// older releases leave stdin at /dev/null. Only a pipe or a file is read, and a pipe that stays
// silent (inherited from a shell or test runner) is given up on, so `start` never hangs on it.
std::string read_stdin() {
    struct stat st{};
    if (::fstat(0, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode))) return {};
    std::string out;
    char buf[4096];
    for (;;) {
        pollfd p{0, POLLIN, 0};
        if (S_ISFIFO(st.st_mode) && ::poll(&p, 1, 1000) <= 0) break;
        ssize_t n = ::read(0, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, size_t(n));
    }
    return out;
}

std::string self_dir() {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) throw_errno("readlink /proc/self/exe");
    std::string p(buf, size_t(n));
    return p.substr(0, p.find_last_of('/'));
}

// In the forked child: the gRPC server binary takes over with the listener as fd kListenFd.
[[noreturn]] void exec_grpc_server(const std::string& binary, int listener, const Flags& f,
                                   const std::string& bundle, const std::string& path) {
    if (listener == kListenFd) ::fcntl(listener, F_SETFD, 0);
    else if (::dup2(listener, kListenFd) < 0) ::_exit(127);
    std::vector<std::string> args{binary, "-namespace", f.ns, "-bundle", bundle, "-husk-socket", path};
    if (f.debug) args.push_back("-debug");
    args.push_back("serve");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
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
                         : name == "husk-socket" ? &f.socket_path
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

std::string choose_protocol(const std::string& options_any, const char* env) {
    std::string protocol = env ? env : "";
    husk::wire::Any any;
    if (!options_any.empty() && any.ParseFromString(options_any)) {
        ShimOptions o = options_from_any(any.type_url(), any.value(), kDefaultRuntime);
        if (!o.protocol.empty()) protocol = o.protocol;
    }
    return protocol == "grpc" ? "grpc" : "ttrpc";
}

std::string bootstrap_line(const std::string& address, const std::string& protocol) {
    if (protocol != "grpc") return address;
    // The path is kSocketDir and a hex digest: nothing in it needs JSON escaping.
    return R"({"version":3,"address":")" + socket_path(address) + R"(","protocol":"grpc"})";
}

int cmd_start(const Flags& f) {
    if (f.id.empty() || f.ns.empty()) throw Error("start: -id and -namespace are required");
    char cwd[4096];
    if (!::getcwd(cwd, sizeof cwd)) throw_errno("getcwd");
    std::string bundle = cwd;
    std::string address = socket_address(f.address, f.ns, group_id(read_config(bundle), f.id));
    std::string path = socket_path(address);
    std::string protocol = choose_protocol(read_stdin(), std::getenv("HUSK_SHIM_PROTOCOL"));

    if (socket_alive(path)) {
        std::ofstream(bundle + "/address", std::ios::trunc) << address;
        fs::write_all(1, bootstrap_line(address, protocol), "stdout");
        return 0;
    }
    std::string grpc_binary;
    if (protocol == "grpc") {
        grpc_binary = self_dir() + "/" + kGrpcServerBinary;
        if (::access(grpc_binary.c_str(), X_OK) != 0) throw_errno("gRPC was asked for: " + grpc_binary);
    }
    ::unlink(path.c_str());
    ::mkdir("/run/containerd", 0711);
    if (::mkdir(kSocketDir, 0711) != 0 && errno != EEXIST) throw_errno(std::string("mkdir ") + kSocketDir);
    unix_socket::Address a = unix_socket::address(path);
    UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock) throw_errno("socket");
    if (::bind(sock.get(), a.get(), a.len) != 0) throw_errno("bind " + path);
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
        if (!grpc_binary.empty()) exec_grpc_server(grpc_binary, sock.get(), f, bundle, path);
        ServeConfig sc{f.ns, bundle, path, f.debug};
        ::_exit(serve(sc, [&](EventLoop& loop, Dispatch d) {
            auto server = std::make_unique<TtrpcServer>(loop, std::move(d));
            server->listen(std::move(sock));
            return server;
        }));
    }
    std::ofstream(bundle + "/address", std::ios::trunc) << address;
    fs::write_all(1, bootstrap_line(address, protocol), "stdout");
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
        std::string path = socket_path(socket_address(f.address, f.ns, group_id(read_config(bundle), f.id)));
        if (!socket_alive(path)) ::unlink(path.c_str());
    }

    containerd::task::v2::DeleteResponse resp;
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    resp.set_exit_status(128 + 9);  // the shim died: report the container as killed
    resp.mutable_exited_at()->set_seconds(ts.tv_sec);
    resp.mutable_exited_at()->set_nanos(int32_t(ts.tv_nsec));
    fs::write_all(1, resp.SerializeAsString(), "stdout");
    return 0;
}

}  // namespace husk::shim
