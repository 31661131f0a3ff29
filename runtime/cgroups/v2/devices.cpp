// cgroup v2 device rules: the kernel filters devices on v2 only through an eBPF program
// attached to the cgroup (BPF_CGROUP_DEVICE). husk compiles the rules into one itself.
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "runtime/cgroups/convert.hpp"
#include "controllers.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"

namespace husk::cgroups::v2 {
namespace {

const std::string kField = "linux.resources.devices";

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

// Registers: r1 the context on entry; r2 device type, r3 access bits, r4 major, r5 minor,
// r6 scratch.
enum : uint8_t { R0 = 0, R1, R2, R3, R4, R5, R6 };

uint8_t access_bits(const std::string& access) {
    uint8_t bits = 0;
    if (access.find('m') != std::string::npos) bits |= BPF_DEVCG_ACC_MKNOD;
    if (access.find('r') != std::string::npos) bits |= BPF_DEVCG_ACC_READ;
    if (access.find('w') != std::string::npos) bits |= BPF_DEVCG_ACC_WRITE;
    return bits;
}

// One rule: jumps to its end when the request does not match; returns the verdict when it does.
// An allow rule matches a request whose every access bit it allows; a deny rule matches one
// that asks for any access bit it denies.
std::vector<bpf_insn> rule_block(const spec::DeviceRule& d) {
    std::vector<bpf_insn> b;
    std::vector<size_t> to_end;  // jumps to patch
    auto jump_unless = [&](uint8_t reg, int32_t value) {
        to_end.push_back(b.size());
        b.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, reg, 0, 0, value));
    };
    if (d.type == "b" || d.type == "c") jump_unless(R2, d.type == "b" ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
    if (d.major && *d.major >= 0) jump_unless(R4, static_cast<int32_t>(*d.major));
    if (d.minor && *d.minor >= 0) jump_unless(R5, static_cast<int32_t>(*d.minor));
    int32_t bits = access_bits(d.access);
    b.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_X, R6, R3, 0, 0));
    b.push_back(insn(BPF_ALU64 | BPF_AND | BPF_K, R6, 0, 0, d.allow ? ~bits : bits));
    to_end.push_back(b.size());
    b.push_back(insn(BPF_JMP | (d.allow ? BPF_JNE : BPF_JEQ) | BPF_K, R6, 0, 0, 0));
    b.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, d.allow ? 1 : 0));
    b.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    for (size_t j : to_end) b[j].off = static_cast<int16_t>(b.size() - j - 1);
    return b;
}

long bpf(int cmd, bpf_attr& attr) { return ::syscall(SYS_bpf, cmd, &attr, sizeof attr); }

bool only_all_rules(const std::vector<spec::DeviceRule>& rules) {
    for (auto& d : rules)
        if (d.type != "a" || access_bits(d.access) != 7) return false;
    return true;
}

}  // namespace

std::vector<bpf_insn> device_program(const std::vector<spec::DeviceRule>& rules) {
    std::vector<bpf_insn> p = {
        insn(BPF_LDX | BPF_MEM | BPF_W, R2, R1, offsetof(bpf_cgroup_dev_ctx, access_type), 0),
        insn(BPF_ALU64 | BPF_MOV | BPF_X, R3, R2, 0, 0),
        insn(BPF_ALU64 | BPF_AND | BPF_K, R2, 0, 0, 0xffff),
        insn(BPF_ALU64 | BPF_RSH | BPF_K, R3, 0, 0, 16),
        insn(BPF_LDX | BPF_MEM | BPF_W, R4, R1, offsetof(bpf_cgroup_dev_ctx, major), 0),
        insn(BPF_LDX | BPF_MEM | BPF_W, R5, R1, offsetof(bpf_cgroup_dev_ctx, minor), 0),
    };
    // The last matching rule decides: test them from the end.
    for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
        auto b = rule_block(*it);
        p.insert(p.end(), b.begin(), b.end());
    }
    p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 0));
    p.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    return p;
}

void apply_devices(const std::vector<spec::DeviceRule>& rules, const std::string& dir) {
    auto program = device_program(effective_device_rules(rules));
    static const char license[] = "Apache-2.0";
    char log_buf[16384] = "";
    auto load = [&](bool with_log) {
        bpf_attr a{};
        a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        a.insns = reinterpret_cast<uint64_t>(program.data());
        a.insn_cnt = static_cast<uint32_t>(program.size());
        a.license = reinterpret_cast<uint64_t>(license);
        if (with_log) {
            a.log_buf = reinterpret_cast<uint64_t>(log_buf);
            a.log_size = sizeof log_buf;
            a.log_level = 1;
        }
        return static_cast<int>(bpf(BPF_PROG_LOAD, a));
    };
    UniqueFd prog(load(false));
    int err = errno;
    // Only a refused program is worth the verifier's log (which also fails once it overflows).
    if (!prog && (err == EINVAL || err == EACCES)) UniqueFd(load(true));
    UniqueFd cgroup(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cgroup) throw_errno(kField + ": open " + dir);
    if (prog) {
        bpf_attr attach{};
        attach.target_fd = static_cast<uint32_t>(cgroup.get());
        attach.attach_bpf_fd = static_cast<uint32_t>(prog.get());
        attach.attach_type = BPF_CGROUP_DEVICE;
        attach.attach_flags = BPF_F_ALLOW_MULTI;
        if (bpf(BPF_PROG_ATTACH, attach) == 0) return;
        err = errno;
    }
    std::string verifier = log_buf;
    if (verifier.size() > 400) verifier = "..." + verifier.substr(verifier.size() - 400);
    std::string why = std::string(prog ? "attach" : "load") + " the eBPF device filter to " + dir + ": " +
                      std::strerror(err) + (verifier.empty() ? "" : " (verifier: " + verifier + ")");
    // A kernel (or sandbox) without BPF cannot filter; for the rules that only say "deny all" or
    // "allow all" that is no worse than a host without a devices controller, so it is a warning.
    if (only_all_rules(rules)) {
        log::warn(kField + ": " + why + "; devices are not filtered");
        return;
    }
    throw Error(kField + ": " + why);
}

}  // namespace husk::cgroups::v2
