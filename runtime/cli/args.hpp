// runc-compatible flag parsing: -f, --flag, -flag, "--flag value" and "--flag=value". As runc's
// parser, a command's flags may also follow its arguments ("update ID --memory 1g"); after "--"
// everything is positional, and so is an undefined "-x" once an argument was seen.
// The flags a command declares are also its --help: one table drives both.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace husk::cli {

// A mistake in the command line (unknown flag, missing argument, wrong number of arguments):
// reported with a pointer to the command's --help.
struct UsageError : Error {
    using Error::Error;
};

class Args {
public:
    explicit Args(std::vector<std::string> args) : args_(std::move(args)) {}

    // names: long name first, then short ones ("bundle", "b"). arg: what the value is, for the
    // help ("DIR"). help: one line; a flag declared without one shows as "(undocumented)", which
    // the help test refuses.
    void value(std::initializer_list<const char*> names, std::string* out, const char* arg = "VALUE",
               const char* help = nullptr);
    void boolean(std::initializer_list<const char*> names, bool* out, const char* help = nullptr);
    void integer(std::initializer_list<const char*> names, int* out, const char* arg = "N", const char* help = nullptr);
    void repeated(std::initializer_list<const char*> names, std::vector<std::string>* out, const char* arg = "VALUE",
                  const char* help = nullptr);

    // Parses the declared flags; returns the positionals. Throws UsageError on unknown flags.
    std::vector<std::string> parse();
    // Flags only up to the first positional: the rest belongs to a command run in the container
    // (exec) or to ps(1) (runc's exec and ps do the same).
    void flags_before_args() { anywhere_ = false; }
    bool help() const { return help_; }

    // Whether a declared flag takes a value (for scanning ahead of parse()).
    bool takes_value(const std::string& name) const;
    // One line per declared flag, "--help" last: "  -b, --bundle DIR   the bundle ...".
    std::string flag_help() const;

private:
    enum class Kind { Value, Bool, Int, Repeated };
    struct Flag {
        std::vector<std::string> names;
        Kind kind;
        void* out;
        const char* arg;
        const char* help;
    };
    const Flag* find(const std::string& name) const;

    std::vector<std::string> args_;
    std::vector<Flag> flags_;
    bool help_ = false;
    bool anywhere_ = true;
};

// Exact count of positionals, or a usage error naming the command.
void expect_args(const std::string& command, const std::vector<std::string>& pos, size_t min, size_t max);

// NAME, USAGE and OPTIONS (the flag table) in runc's layout: what `husk COMMAND --help` prints.
std::string usage_text(const Args& a, const char* usage, const char* summary);

// A usage error's message with the pointer to help appended.
std::string usage_error_message(const std::string& what, const std::string& command);

}  // namespace husk::cli
