#include "properties.hpp"

#include <cctype>
#include <cmath>
#include <limits>
#include <sstream>

#include "runtime/cgroups/controller.hpp"
#include "runtime/cgroups/convert.hpp"
#include "common/error.hpp"
#include "common/log.hpp"

namespace husk::cgroups::systemd {
namespace {

using dbus::Value;

constexpr uint64_t kInfinity = std::numeric_limits<uint64_t>::max();  // systemd's "infinity"
constexpr uint64_t kDefaultPeriod = 100000;                            // the kernel's CFS period, us

uint64_t or_infinity(int64_t v) { return v == -1 ? kInfinity : static_cast<uint64_t>(v); }

void add(Properties& p, const std::string& name, Value v) { p.emplace_back(name, std::move(v)); }

Value mask(const std::string& list, const std::string& field) {
    std::vector<Value> bytes;
    for (uint8_t b : id_list_mask(list, field)) bytes.push_back(Value::byte(b));
    return Value::array("y", std::move(bytes));
}

// CPUQuotaPerSecUSec is CPU time per wall-clock second; systemd keeps it as whole percents,
// so it is rounded up to 10 ms, and the exact quota is written to the cgroup afterwards.
void add_cpu_quota(Properties& p, const spec::CpuResources& c, const Host& host) {
    int64_t quota = c.quota.value_or(0);
    uint64_t period = c.period.value_or(0);
    if (period != 0 && host.version >= kCpuQuotaPeriodSince) add(p, "CPUQuotaPeriodUSec", Value::uint64(period));
    if (quota == 0 && period == 0) return;
    uint64_t per_sec = kInfinity;
    if (quota > 0) {
        uint64_t base = period ? period : kDefaultPeriod;
        per_sec = static_cast<uint64_t>(quota) * 1000000 / base;
        if (per_sec % 10000) per_sec = (per_sec / 10000 + 1) * 10000;
    }
    add(p, "CPUQuotaPerSecUSec", Value::uint64(per_sec));
}

void add_cpuset(Properties& p, const spec::CpuResources& c, const Host& host) {
    if (c.cpus.empty() && c.mems.empty()) return;
    if (host.version < kAllowedCpusSince) {
        log::debug("systemd " + std::to_string(host.version) + " has no AllowedCPUs; cpuset is set through cgroupfs only");
        return;
    }
    if (!c.cpus.empty()) add(p, "AllowedCPUs", mask(c.cpus, "linux.resources.cpu.cpus"));
    if (!c.mems.empty()) add(p, "AllowedMemoryNodes", mask(c.mems, "linux.resources.cpu.mems"));
}

// TasksMax: -1 is infinity; 0 (runtime-spec 1.3: a limit, not "unset") cannot be said to
// systemd, which reads 0 as no limit at all: 1, as runc does.
void add_pids(Properties& p, const spec::Resources& r) {
    if (!r.pids_limit) return;
    int64_t n = *r.pids_limit;
    add(p, "TasksMax", Value::uint64(n < 0 ? kInfinity : n == 0 ? 1 : static_cast<uint64_t>(n)));
}

// linux.resources.unified keys systemd has properties for, so that systemd does not undo
// them when it next applies the unit's settings.
void add_unified(Properties& p, const std::map<std::string, std::string>& unified) {
    auto number = [](const std::string& v, uint64_t& out) {
        if (v == "max") {
            out = kInfinity;
            return true;
        }
        if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 19) return false;
        out = std::stoull(v);
        return true;
    };
    static const std::map<std::string, std::string> kNames = {
        {"memory.min", "MemoryMin"}, {"memory.low", "MemoryLow"},         {"memory.high", "MemoryHigh"},
        {"memory.max", "MemoryMax"}, {"memory.swap.max", "MemorySwapMax"}, {"pids.max", "TasksMax"},
        {"cpu.weight", "CPUWeight"}};
    for (const auto& [key, value] : unified) {
        uint64_t n = 0;
        if (auto it = kNames.find(key); it != kNames.end()) {
            if (number(value, n)) add(p, it->second, Value::uint64(n));
        } else if (key == "cpu.max") {
            auto f = split(value, ' ');
            uint64_t quota = 0, period = kDefaultPeriod;
            if (f.empty() || !number(f[0], quota) || (f.size() > 1 && (!number(f[1], period) || period == 0))) continue;
            spec::CpuResources c;
            c.quota = quota == kInfinity ? -1 : static_cast<int64_t>(quota);
            c.period = period;
            add_cpu_quota(p, c, Host{true, kCpuQuotaPeriodSince, ""});
        }
    }
}

// The major's driver name in /proc/devices, for "char-<name>" / "block-<name>".
std::string driver_name(const std::string& proc_devices, char type, int64_t major) {
    std::string section = type == 'c' ? "Character devices:" : "Block devices:";
    bool in = false;
    std::istringstream lines(proc_devices);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty()) continue;
        if (line.back() == ':') {
            in = line == section;
            continue;
        }
        if (!in) continue;
        std::istringstream f(line);
        int64_t m = -1;
        std::string name;
        if (f >> m >> name && m == major) return name;
    }
    return "";
}

struct Entry {
    char type;
    int64_t major, minor;  // -1: any
    std::string access;
};

std::string merge_access(const std::string& a, const std::string& b) {
    std::string out;
    for (char c : std::string("rwm"))
        if (a.find(c) != std::string::npos || b.find(c) != std::string::npos) out += c;
    return out;
}

std::string remove_access(const std::string& a, const std::string& gone) {
    std::string out;
    for (char c : a)
        if (gone.find(c) == std::string::npos) out += c;
    return out;
}

}  // namespace

std::vector<uint8_t> id_list_mask(const std::string& list, const std::string& field) {
    if (!valid_id_list(list)) throw Error(field + ": invalid list \"" + list + "\"");
    std::vector<uint8_t> out;
    for (const auto& part : split(list, ',')) {
        size_t dash = part.find('-');
        unsigned long lo = std::stoul(part.substr(0, dash));
        unsigned long hi = dash == std::string::npos ? lo : std::stoul(part.substr(dash + 1));
        if (hi >= 65536) throw Error(field + ": " + std::to_string(hi) + " is out of range");
        if (out.size() < hi / 8 + 1) out.resize(hi / 8 + 1, 0);
        for (unsigned long i = lo; i <= hi; ++i) out[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
    }
    return out;
}

bool needs_version(const spec::Resources& r) {
    if (r.cpu && ((r.cpu->period && *r.cpu->period) || !r.cpu->cpus.empty() || !r.cpu->mems.empty())) return true;
    return false;
}

Properties resource_properties(const spec::Resources& r, const Host& host, bool devices) {
    Properties p;
    if (devices) p = device_properties(r.devices, host.proc_devices);
    if (r.memory) {
        const auto& m = *r.memory;
        int64_t limit = m.limit.value_or(0), swap = m.swap.value_or(0);
        if (host.v2) {
            if (limit) add(p, "MemoryMax", Value::uint64(or_infinity(limit)));
            if (m.reservation && *m.reservation) add(p, "MemoryLow", Value::uint64(or_infinity(*m.reservation)));
            // Swap alone (an update) converts against the limit in force, which the cgroupfs
            // step reads; systemd is told when both are known.
            if (limit || swap <= 0) {
                int64_t v2 = swap_to_v2(swap, limit);
                if (v2) add(p, "MemorySwapMax", Value::uint64(or_infinity(v2)));
            }
        } else if (limit) {
            add(p, "MemoryLimit", Value::uint64(or_infinity(limit)));
        }
    }
    if (r.cpu) {
        const auto& c = *r.cpu;
        if (c.shares && *c.shares) {
            if (host.v2) add(p, "CPUWeight", Value::uint64(shares_to_weight(*c.shares)));
            else add(p, "CPUShares", Value::uint64(*c.shares));
        }
        add_cpu_quota(p, c, host);
        add_cpuset(p, c, host);
    }
    if (!host.v2 && r.block_io && r.block_io->weight && *r.block_io->weight)
        add(p, "BlockIOWeight", Value::uint64(*r.block_io->weight));
    add_pids(p, r);
    if (host.v2) add_unified(p, r.unified);
    return p;
}

Properties device_properties(const std::vector<spec::DeviceRule>& rules, const std::string& proc_devices) {
    // Replay the rules as the devices cgroup would: an allow list unless an "a" rule allows all.
    bool allow_all = false;
    std::vector<Entry> entries;  // allowed ones; with allow_all, the denied ones
    for (const auto& r : effective_device_rules(rules)) {
        if (r.type == "a") {
            allow_all = r.allow;
            entries.clear();
            continue;
        }
        Entry e{r.type[0], r.major.value_or(-1), r.minor.value_or(-1), r.access};
        // Listed in the same sense as the mode (an allow in an allow list, a deny in a deny
        // list) it joins the list; in the other, it takes its access off an equal entry.
        bool joins = r.allow != allow_all;
        auto same = [&](const Entry& x) { return x.type == e.type && x.major == e.major && x.minor == e.minor; };
        bool found = false;
        for (auto it = entries.begin(); it != entries.end();) {
            if (!same(*it)) {
                ++it;
                continue;
            }
            found = true;
            it->access = joins ? merge_access(it->access, e.access) : remove_access(it->access, e.access);
            if (it->access.empty()) it = entries.erase(it);
            else ++it;
        }
        if (joins && !found) entries.push_back(e);
    }
    Properties p;
    if (allow_all && entries.empty()) {
        add(p, "DevicePolicy", Value::string("auto"));
        add(p, "DeviceAllow", Value::array("(ss)", {Value::structure({Value::string("char-*"), Value::string("rwm")}),
                                                    Value::structure({Value::string("block-*"), Value::string("rwm")})}));
        return p;
    }
    add(p, "DevicePolicy", Value::string("strict"));
    std::vector<Value> allow;
    if (allow_all) {
        // systemd has no deny list: it denies everything until the cgroupfs rules come.
        log::warn("linux.resources.devices: systemd cannot express deny rules after an allow-all rule; "
                  "its unit denies all devices, husk's cgroup rules apply");
        entries.clear();
    }
    for (const auto& e : entries) {
        std::string kind = e.type == 'c' ? "char" : "block", path;
        if (e.major == -1 && e.minor == -1) {
            path = kind + "-*";
        } else if (e.major == -1) {
            log::debug("linux.resources.devices: systemd has no rule for minor " + std::to_string(e.minor) +
                       " of every major; left to the cgroupfs rules");
            continue;
        } else if (e.minor == -1) {
            std::string name = driver_name(proc_devices, e.type, e.major);
            if (name.empty()) {
                log::debug("linux.resources.devices: no driver for " + kind + " major " + std::to_string(e.major) +
                           " in /proc/devices; left to the cgroupfs rules");
                continue;
            }
            path = kind + "-" + name;
        } else {
            path = "/dev/" + kind + "/" + std::to_string(e.major) + ":" + std::to_string(e.minor);
        }
        allow.push_back(Value::structure({Value::string(path), Value::string(e.access)}));
    }
    add(p, "DeviceAllow", Value::array("(ss)", std::move(allow)));
    return p;
}

namespace {

// GVariant text format, the part annotations need: booleans, numbers, strings, arrays, type
// keywords ("uint64 5") and type annotations ("@t 5", "@as []").
class GVariantParser {
public:
    GVariantParser(const std::string& text, const std::string& field) : s_(text), field_(field) {}

    Value parse() {
        Value v = value("");
        skip_ws();
        if (pos_ != s_.size()) fail("unexpected \"" + s_.substr(pos_) + "\"");
        return v;
    }

private:
    [[noreturn]] void fail(const std::string& why) const {
        throw Error(field_ + ": cannot parse \"" + s_ + "\" as a GVariant value: " + why);
    }
    void skip_ws() {
        while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    std::string word() {
        size_t start = pos_;
        while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_' ||
                                    s_[pos_] == '(' || s_[pos_] == ')' || s_[pos_] == '{' || s_[pos_] == '}'))
            ++pos_;
        return s_.substr(start, pos_ - start);
    }

    Value value(std::string want) {
        skip_ws();
        if (pos_ >= s_.size()) fail("a value is missing");
        char c = s_[pos_];
        if (c == '@') {
            ++pos_;
            std::string sig = word();
            if (sig.empty()) fail("empty type after @");
            if (!want.empty() && want != sig) fail("type " + sig + " where " + want + " is wanted");
            return value(sig);
        }
        if (c == '[') return array(want);
        if (c == '\'' || c == '"') return string(want);
        if (std::isalpha(static_cast<unsigned char>(c))) {
            size_t save = pos_;
            std::string w = word();
            if (w == "true" || w == "false") {
                if (!want.empty() && want != "b") fail("a boolean where " + want + " is wanted");
                return Value::boolean(w == "true");
            }
            static const std::map<std::string, std::string> kKeywords = {
                {"boolean", "b"}, {"byte", "y"},   {"int16", "n"},  {"uint16", "q"},  {"int32", "i"},
                {"uint32", "u"},  {"handle", "h"}, {"int64", "x"},  {"uint64", "t"},  {"double", "d"},
                {"string", "s"},  {"objectpath", "o"}, {"signature", "g"}};
            auto it = kKeywords.find(w);
            if (it == kKeywords.end()) {
                pos_ = save;
                fail("unknown word \"" + w + "\"");
            }
            if (!want.empty() && want != it->second) fail(w + " where " + want + " is wanted");
            return value(it->second);
        }
        return number(want);
    }

    Value array(const std::string& want) {
        if (!want.empty() && want[0] != 'a') fail("an array where " + want + " is wanted");
        std::string elem = want.empty() ? "" : want.substr(1);
        ++pos_;
        std::vector<Value> items;
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == ']') {
            ++pos_;
            if (elem.empty()) fail("the type of an empty array is unknown (write @as [])");
            return Value::array(elem, {});
        }
        for (;;) {
            items.push_back(value(elem));
            if (elem.empty()) elem = items.back().signature();
            skip_ws();
            if (pos_ < s_.size() && s_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < s_.size() && s_[pos_] == ']') {
                ++pos_;
                break;
            }
            fail("expected , or ] in an array");
        }
        return Value::array(elem, std::move(items));
    }

    Value string(const std::string& want) {
        char quote = s_[pos_++];
        std::string out;
        for (;;) {
            if (pos_ >= s_.size()) fail("unterminated string");
            char c = s_[pos_++];
            if (c == quote) break;
            if (c == '\\') {
                if (pos_ >= s_.size()) fail("unterminated string");
                char e = s_[pos_++];
                switch (e) {
                    case 'n': out += '\n'; break;
                    case 't': out += '\t'; break;
                    case 'r': out += '\r'; break;
                    default: out += e;
                }
                continue;
            }
            out += c;
        }
        if (want.empty() || want == "s") return Value::string(out);
        if (want == "o") return Value::object_path(out);
        if (want == "g") return Value::signature(out);
        fail("a string where " + want + " is wanted");
    }

    Value number(const std::string& want) {
        size_t start = pos_;
        if (pos_ < s_.size() && (s_[pos_] == '-' || s_[pos_] == '+')) ++pos_;
        while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.')) ++pos_;
        std::string t = s_.substr(start, pos_ - start);
        if (t.empty()) fail("unexpected \"" + s_.substr(start) + "\"");
        bool is_float = t.find_first_of(".eE") != std::string::npos && t.rfind("0x", 0) != 0;
        if (want == "d" || (want.empty() && is_float)) {
            size_t used = 0;
            double d = 0;
            try {
                d = std::stod(t, &used);
            } catch (const std::exception&) {
            }
            if (used != t.size()) fail("\"" + t + "\" is not a number");
            return Value::dbl(d);
        }
        if (is_float) fail("\"" + t + "\" is not an integer");
        bool negative = t[0] == '-';
        std::string digits = t.substr(t[0] == '-' || t[0] == '+' ? 1 : 0);
        int base = digits.rfind("0x", 0) == 0 ? 16 : 10;
        if (base == 16) digits = digits.substr(2);
        if (digits.empty() || digits.find_first_not_of(base == 16 ? "0123456789abcdefABCDEF" : "0123456789") !=
                                  std::string::npos)
            fail("\"" + t + "\" is not a number");
        unsigned long long mag = 0;
        try {
            mag = std::stoull(digits, nullptr, base);
        } catch (const std::exception&) {
            fail("\"" + t + "\" is out of range");
        }
        auto in = [&](long double lo, long double hi) {
            long double v = negative ? -static_cast<long double>(mag) : static_cast<long double>(mag);
            if (v < lo || v > hi) fail("\"" + t + "\" is out of range for " + (want.empty() ? "int32" : want));
            return v;
        };
        std::string type = want.empty() ? "i" : want;
        switch (type[0]) {
            case 'y': return Value::byte(static_cast<uint8_t>(in(0, 255)));
            case 'n': return Value::int16(static_cast<int16_t>(in(-32768, 32767)));
            case 'q': return Value::uint16(static_cast<uint16_t>(in(0, 65535)));
            case 'i': return Value::int32(static_cast<int32_t>(in(-2147483648.0L, 2147483647.0L)));
            case 'u': case 'h': return Value::uint32(static_cast<uint32_t>(in(0, 4294967295.0L)));
            case 'x': {
                if (!negative && mag > static_cast<unsigned long long>(std::numeric_limits<int64_t>::max())) fail("out of range for int64");
                if (negative && mag > static_cast<unsigned long long>(std::numeric_limits<int64_t>::max()) + 1) fail("out of range for int64");
                return Value::int64(negative ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag));
            }
            case 't':
                if (negative && mag) fail("out of range for uint64");
                return Value::uint64(mag);
        }
        fail("a number where " + want + " is wanted");
    }

    const std::string& s_;
    std::string field_;
    size_t pos_ = 0;
};

// Seconds as microseconds, for a ...Sec annotation that systemd takes as ...USec.
Value sec_to_usec(const Value& v, const std::string& field) {
    switch (v.type()) {
        case 'y': case 'q': case 'u': case 't': return Value::uint64(v.as_uint() * 1000000);
        case 'n': case 'i': case 'x':
            if (v.as_int() < 0) throw Error(field + ": a time must not be negative");
            return Value::uint64(static_cast<uint64_t>(v.as_int()) * 1000000);
        case 'd':
            if (v.as_double() < 0) throw Error(field + ": a time must not be negative");
            return Value::uint64(static_cast<uint64_t>(v.as_double() * 1000000));
    }
    throw Error(field + ": a ...Sec property takes a number of seconds");
}

}  // namespace

Value parse_gvariant(const std::string& text, const std::string& field) { return GVariantParser(text, field).parse(); }

Properties annotation_properties(const std::map<std::string, std::string>& annotations) {
    const std::string prefix = "org.systemd.property.";
    Properties p;
    for (const auto& [key, text] : annotations) {
        if (key.rfind(prefix, 0) != 0) continue;
        std::string name = key.substr(prefix.size()), field = "annotations." + key;
        bool ok = !name.empty() && std::isupper(static_cast<unsigned char>(name[0]));
        for (unsigned char c : name) ok = ok && std::isalnum(c);
        if (!ok) throw Error(field + ": \"" + name + "\" is not a systemd property name (letters and digits, a capital first)");
        Value v = parse_gvariant(text, field);
        if (name.size() > 4 && name.compare(name.size() - 3, 3, "Sec") == 0 &&
            std::islower(static_cast<unsigned char>(name[name.size() - 4]))) {
            name = name.substr(0, name.size() - 3) + "USec";
            v = sec_to_usec(v, field);
        }
        add(p, name, std::move(v));
    }
    return p;
}

Value to_dbus(const Properties& props) {
    std::vector<Value> items;
    for (const auto& [name, value] : props) items.push_back(Value::structure({Value::string(name), Value::variant(value)}));
    return Value::array("(sv)", std::move(items));
}

}  // namespace husk::cgroups::systemd
