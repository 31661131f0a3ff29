#include "args.hpp"

#include <algorithm>
#include <cctype>

namespace husk::cli {

void Args::value(std::initializer_list<const char*> names, std::string* out, const char* arg, const char* help) {
    flags_.push_back({{names.begin(), names.end()}, Kind::Value, out, arg, help});
}
void Args::boolean(std::initializer_list<const char*> names, bool* out, const char* help) {
    flags_.push_back({{names.begin(), names.end()}, Kind::Bool, out, nullptr, help});
}
void Args::integer(std::initializer_list<const char*> names, int* out, const char* arg, const char* help) {
    flags_.push_back({{names.begin(), names.end()}, Kind::Int, out, arg, help});
}
void Args::repeated(std::initializer_list<const char*> names, std::vector<std::string>* out, const char* arg,
                    const char* help) {
    flags_.push_back({{names.begin(), names.end()}, Kind::Repeated, out, arg, help});
}

const Args::Flag* Args::find(const std::string& name) const {
    for (const auto& f : flags_)
        for (const auto& n : f.names)
            if (n == name) return &f;
    return nullptr;
}

std::vector<std::string> Args::parse() {
    std::vector<std::string> pos;
    size_t i = 0;
    for (; i < args_.size(); ++i) {
        const std::string& a = args_[i];
        if (a == "--") {
            ++i;
            break;
        }
        bool flag = a.size() >= 2 && a[0] == '-';
        if (!flag && !anywhere_) break;
        if (!flag) {
            pos.push_back(a);
            continue;
        }
        std::string body = a.substr(a[1] == '-' ? 2 : 1);
        std::string name = body, val;
        bool has_val = false;
        if (size_t eq = body.find('='); eq != std::string::npos) {
            name = body.substr(0, eq);
            val = body.substr(eq + 1);
            has_val = true;
        }
        if (name == "help" || name == "h") {
            help_ = true;
            continue;
        }
        const Flag* f = find(name);
        if (!f && !pos.empty()) {
            pos.push_back(a);
            continue;
        }
        if (!f) throw UsageError("flag provided but not defined: " + a);
        if (f->kind == Kind::Bool) {
            bool v = true;
            if (has_val) {
                if (val == "true" || val == "1") v = true;
                else if (val == "false" || val == "0") v = false;
                else throw UsageError("invalid boolean value \"" + val + "\" for flag " + a);
            }
            *static_cast<bool*>(f->out) = v;
            continue;
        }
        if (!has_val) {
            if (i + 1 >= args_.size()) throw UsageError("flag needs an argument: " + a);
            val = args_[++i];
        }
        if (f->kind == Kind::Value) {
            *static_cast<std::string*>(f->out) = val;
        } else if (f->kind == Kind::Repeated) {
            static_cast<std::vector<std::string>*>(f->out)->push_back(val);
        } else {
            char* end = nullptr;
            long n = std::strtol(val.c_str(), &end, 10);
            if (val.empty() || *end || n < 0 || n > 1 << 20)
                throw UsageError("invalid value \"" + val + "\" for flag " + a + ": expected a non-negative integer");
            *static_cast<int*>(f->out) = static_cast<int>(n);
        }
    }
    for (; i < args_.size(); ++i) pos.push_back(args_[i]);
    return pos;
}

void expect_args(const std::string& command, const std::vector<std::string>& pos, size_t min, size_t max) {
    if (pos.size() < min || pos.size() > max) {
        std::string want = min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
        throw UsageError("\"" + command + "\" requires " + want + " argument(s), got " + std::to_string(pos.size()));
    }
}

bool Args::takes_value(const std::string& name) const {
    const Flag* f = find(name);
    return f && f->kind != Kind::Bool;
}

std::string Args::flag_help() const {
    // Short names first, as the usual "-b, --bundle DIR"; a flag without a short name lines up
    // its long name with the others'.
    std::vector<std::pair<std::string, std::string>> rows;
    for (const auto& f : flags_) {
        std::string names;
        bool has_short = false;
        for (int pass = 0; pass < 2; ++pass)
            for (const auto& n : f.names) {
                if ((n.size() == 1) != (pass == 0)) continue;
                if (!names.empty()) names += ", ";
                names += (n.size() == 1 ? "-" : "--") + n;
                has_short |= n.size() == 1;
            }
        if (f.kind != Kind::Bool) names += std::string(" ") + (f.arg ? f.arg : "VALUE");
        rows.emplace_back((has_short ? "" : "    ") + names, f.help ? f.help : "(undocumented)");
    }
    rows.emplace_back("-h, --help", "print this help");
    size_t w = 0;
    for (const auto& r : rows) w = std::max(w, r.first.size());
    std::string out;
    for (const auto& r : rows) out += "  " + r.first + std::string(w - r.first.size() + 2, ' ') + r.second + "\n";
    return out;
}

std::string usage_text(const Args& a, const char* usage, const char* summary) {
    // runc's layout: NAME ("husk start - what it does"), USAGE, OPTIONS.
    std::string name = usage;
    name = name.substr(0, name.find(' '));
    std::string what = summary;
    if (!what.empty()) what[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(what[0])));
    if (!what.empty() && what.back() == '.') what.pop_back();
    return "NAME:\n   husk " + name + " - " + what + "\n\nUSAGE:\n   husk " + usage + "\n\nOPTIONS:\n" + a.flag_help();
}

std::string usage_error_message(const std::string& what, const std::string& command) {
    return what + " (see husk " + (command.empty() ? "" : command + " ") + "--help)";
}

}  // namespace husk::cli
