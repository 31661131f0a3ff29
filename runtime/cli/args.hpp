// runc-compatible flag parsing: -f, --flag, -flag, "--flag value" and "--flag=value". As runc's
// parser, a command's flags may also follow its arguments ("update ID --memory 1g"); after "--"
// everything is positional, and so is an undefined "-x" once an argument was seen.
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
    // Flags only up to the first positional: the rest belongs to a command run in the container
    // (exec) or to ps(1) (runc's exec and ps do the same).
    void flags_before_args() { anywhere_ = false; }
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
    bool anywhere_ = true;
};

// Exact count of positionals, or a usage error naming the command.
void expect_args(const std::string& command, const std::vector<std::string>& pos, size_t min, size_t max);

}  // namespace husk::cli
