#include "args.hpp"

#include "error.hpp"

namespace husk::cli {

void Args::value(std::initializer_list<const char*> names, std::string* out) {
    flags_.push_back({{names.begin(), names.end()}, Kind::Value, out});
}
void Args::boolean(std::initializer_list<const char*> names, bool* out) {
    flags_.push_back({{names.begin(), names.end()}, Kind::Bool, out});
}
void Args::integer(std::initializer_list<const char*> names, int* out) {
    flags_.push_back({{names.begin(), names.end()}, Kind::Int, out});
}
void Args::repeated(std::initializer_list<const char*> names, std::vector<std::string>* out) {
    flags_.push_back({{names.begin(), names.end()}, Kind::Repeated, out});
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
        if (!f) throw Error("flag provided but not defined: " + a);
        if (f->kind == Kind::Bool) {
            bool v = true;
            if (has_val) {
                if (val == "true" || val == "1") v = true;
                else if (val == "false" || val == "0") v = false;
                else throw Error("invalid boolean value \"" + val + "\" for flag " + a);
            }
            *static_cast<bool*>(f->out) = v;
            continue;
        }
        if (!has_val) {
            if (i + 1 >= args_.size()) throw Error("flag needs an argument: " + a);
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
                throw Error("invalid value \"" + val + "\" for flag " + a + ": expected a non-negative integer");
            *static_cast<int*>(f->out) = static_cast<int>(n);
        }
    }
    for (; i < args_.size(); ++i) pos.push_back(args_[i]);
    return pos;
}

void expect_args(const std::string& command, const std::vector<std::string>& pos, size_t min, size_t max) {
    if (pos.size() < min || pos.size() > max) {
        std::string want = min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
        throw Error("\"" + command + "\" requires " + want + " argument(s), got " + std::to_string(pos.size()));
    }
}

}  // namespace husk::cli
