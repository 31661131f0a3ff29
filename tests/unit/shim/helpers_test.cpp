// The shim's pure helpers: socket naming, flag parsing, grouping, mount options, options Any,
// runtime log errors, protocol choice.
#include <doctest/doctest.h>

#include "shim/bootstrap.hpp"
#include "shim/process_io.hpp"
#include "shim/rootfs.hpp"
#include "runc_options.pb.h"
#include "runtime_options.pb.h"
#include "shim/runtime_cli.hpp"
#include "shim/sha256.hpp"
#include "shim/shim_options.hpp"
#include "wire.pb.h"

#include <sys/mount.h>

using namespace husk::shim;

TEST_CASE("sha256 matches the FIPS 180-2 test vectors") {
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("socket address is a unix:// path under /run/containerd/s named by a sha256") {
    std::string a = socket_address("/run/containerd/containerd.sock", "default", "c1");
    CHECK(a == "unix:///run/containerd/s/" + sha256_hex("/run/containerd/containerd.sock/default/c1"));
    CHECK(a != socket_address("/run/containerd/containerd.sock", "other", "c1"));
}

TEST_CASE("containers of one CRI pod share the sandbox's shim") {
    CHECK(group_id(R"({"annotations":{"io.kubernetes.cri.sandbox-id":"pod1"}})", "c1") == "pod1");
    CHECK(group_id(R"({"annotations":{}})", "c1") == "c1");
    CHECK(group_id("not json", "c1") == "c1");
}

TEST_CASE("flags parse the way containerd passes them") {
    const char* argv[] = {"shim", "-namespace", "k8s.io", "-address", "/run/c.sock", "-publish-binary",
                          "/usr/bin/containerd", "-id", "abc", "-debug", "-bundle=/b", "start"};
    Flags f = parse_flags(12, const_cast<char**>(argv));
    CHECK(f.ns == "k8s.io");
    CHECK(f.address == "/run/c.sock");
    CHECK(f.id == "abc");
    CHECK(f.bundle == "/b");
    CHECK(f.debug);
    CHECK(f.action == "start");
}

TEST_CASE("overlay mount options become data; flag words become MS_ flags") {
    MountFlags m = parse_mount_options({"index=off", "lowerdir=/l", "upperdir=/u", "workdir=/w", "ro", "nosuid"});
    CHECK(m.data == "index=off,lowerdir=/l,upperdir=/u,workdir=/w");
    CHECK(m.flags == (MS_RDONLY | MS_NOSUID));
    MountFlags b = parse_mount_options({"rbind", "rw"});
    CHECK(b.flags == (MS_BIND | MS_REC));
    CHECK(b.data.empty());
}

TEST_CASE("runc options in the Create Any pick the runtime binary and root") {
    containerd::runc::v1::Options o;
    o.set_binary_name("/usr/sbin/runc");
    o.set_root("/run/x");
    o.set_systemd_cgroup(true);
    ShimOptions s = options_from_any("containerd.runc.v1.Options", o.SerializeAsString(), "husk");
    CHECK(s.binary == "/usr/sbin/runc");
    RuntimeConfig rc = s.runtime_config("default", "/bundle");
    CHECK(rc.root == "/run/x/default");
    CHECK(rc.log == "/bundle/log.json");
    CHECK(rc.systemd_cgroup);
    CHECK(runtime_argv(rc, {"start", "id"}) ==
          std::vector<std::string>{"/usr/sbin/runc", "--root", "/run/x/default", "--log", "/bundle/log.json",
                                   "--log-format", "json", "--systemd-cgroup", "start", "id"});
    ShimOptions d = options_from_any("", "", "husk");
    CHECK(d.binary == "husk");
    CHECK(d.runtime_config("ns", "/b").root == "/run/containerd/husk/ns");
}

TEST_CASE("the runtime's last logged error becomes the RPC error") {
    std::string log = R"({"level":"info","msg":"x"})" "\n" R"({"level":"error","msg":"first"})" "\n"
                      R"({"level":"error","msg":"linux.resources: bad"})" "\n";
    CHECK(last_log_error(log) == "linux.resources: bad");
    CHECK(last_log_error("garbage\n").empty());
}

TEST_CASE("runtimeoptions config (CRI, ctr --runtime-config-path) sets BinaryName and friends") {
    runtimeoptions::v1::Options ro;
    ro.set_config_body("# husk shim\nBinaryName = \"/usr/sbin/runc\"\nSystemdCgroup = true\nRoot = '/run/r'\nOther = 1\n");
    ShimOptions s = options_from_any("runtimeoptions.v1.Options", ro.SerializeAsString(), "husk");
    CHECK(s.binary == "/usr/sbin/runc");
    CHECK(s.systemd_cgroup);
    CHECK(s.root == "/run/r");
    ShimOptions d;
    apply_config_text(d, "garbage\nIoUid = 1000\n");
    CHECK(d.io_uid == 1000);
}

TEST_CASE("binary:// log URIs become the logging binary's argv") {
    CHECK(binary_log_argv("binary:///usr/bin/logger") == std::vector<std::string>{"/usr/bin/logger"});
    CHECK(binary_log_argv("binary:///bin/l?--driver=awslogs&--flag&x=a%20b") ==
          std::vector<std::string>{"/bin/l", "--driver", "awslogs", "--flag", "x", "a b"});
}

TEST_CASE("start picks gRPC from the runtime options on stdin, else from the environment") {
    runtimeoptions::v1::Options ro;
    ro.set_config_body("BinaryName = \"husk\"\nProtocol = \"grpc\"\n");
    husk::wire::Any any;
    any.set_type_url("runtimeoptions.v1.Options");
    any.set_value(ro.SerializeAsString());
    CHECK(choose_protocol(any.SerializeAsString(), nullptr) == "grpc");
    CHECK(choose_protocol(any.SerializeAsString(), "ttrpc") == "grpc");
    ro.set_config_body("Protocol = \"ttrpc\"\n");
    any.set_value(ro.SerializeAsString());
    CHECK(choose_protocol(any.SerializeAsString(), "grpc") == "ttrpc");
    CHECK(choose_protocol("", "grpc") == "grpc");
    CHECK(choose_protocol("", nullptr) == "ttrpc");
    CHECK(choose_protocol("", "quic") == "ttrpc");
    CHECK(choose_protocol("\xff\xff", nullptr) == "ttrpc");
}

TEST_CASE("start prints a plain address for ttrpc and version-3 bootstrap JSON for gRPC") {
    CHECK(bootstrap_line("unix:///run/containerd/s/ab", "ttrpc") == "unix:///run/containerd/s/ab");
    CHECK(bootstrap_line("unix:///run/containerd/s/ab", "grpc") ==
          R"({"version":3,"address":"/run/containerd/s/ab","protocol":"grpc"})");
}
