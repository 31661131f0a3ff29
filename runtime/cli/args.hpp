// runc-compatible flag parsing: -f, --flag, -flag, "--flag value" and "--flag=value", flags up
// to the first positional argument (everything after it, or after "--", is positional).
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

namespace husk::cli {

class Args {
public:
    explicit Args(std::vector<std::string> args) : args_(std::move(args)) {}

    void value(std::initializer_list<const char*> names, std::string* out);
    void boolean(std::initializer_list<const char*> names, bool* out);
    void integer(std::initializer_list<const char*> names, int* out);
    void repeated(std::initializer_list<const char*> names, std::vector<std::string>* out);

    // Parses the declared flags; returns the positionals. Throws husk::Error on unknown flags.
    std::vector<std::string> parse();
    bool help() const { return help_; }


private:
    enum class Kind { Value, Bool, Int, Repeated };
    struct Flag {
        std::vector<std::string> names;
        Kind kind;
        void* out;
    };
    const Flag* find(const std::string& name) const;

    std::vector<std::string> args_;
    std::vector<Flag> flags_;
    bool help_ = false;
};

// Exact count of positionals, or a usage error naming the command.
void expect_args(const std::string& command, const std::vector<std::string>& pos, size_t min, size_t max);

}  // namespace husk::cli
