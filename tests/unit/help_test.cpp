// Every command's --help against its parser: each flag the help lists is accepted (with its
// value when it shows one), each flag the parser accepts is in the help, every flag has a line
// of its own; usage errors point to --help.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "runtime/cli/args.hpp"
#include "runtime/cli/commands.hpp"

using namespace husk::cli;

namespace {

// Runs f with stdout going to a temporary file; returns what it printed.
template <typename F>
std::string capture_stdout(F f) {
    std::fflush(stdout);
    FILE* tmp = std::tmpfile();
    REQUIRE(tmp);
    int saved = ::dup(1);
    ::dup2(::fileno(tmp), 1);
    try {
        f();
    } catch (...) {
        std::fflush(stdout);
        ::dup2(saved, 1);
        ::close(saved);
        std::fclose(tmp);
        throw;
    }
    std::fflush(stdout);
    ::dup2(saved, 1);
    ::close(saved);
    std::rewind(tmp);
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, tmp)) > 0) out.append(buf, n);
    std::fclose(tmp);
    return out;
}

struct HelpFlag {
    std::vector<std::string> spellings;  // "-b", "--bundle"
    bool takes_value = false;
    std::string text;
};

// The lines after "OPTIONS:" (or "GLOBAL OPTIONS:"): "  -b, --bundle DIR   text".
std::vector<HelpFlag> help_flags(const std::string& help, const std::string& heading) {
    std::vector<HelpFlag> flags;
    std::istringstream in(help);
    std::string line;
    bool in_options = false;
    static const std::regex row(R"(^  +((?:-[A-Za-z], )?--[a-z][a-z0-9-]*(?:, --[a-z][a-z0-9-]*)?)( \S+)?  +(\S.*)$)");
    while (std::getline(in, line)) {
        if (line == heading) {
            in_options = true;
            continue;
        }
        if (!in_options) continue;
        if (line.empty()) break;
        std::smatch m;
        INFO("help line: " << line);
        REQUIRE(std::regex_match(line, m, row));
        HelpFlag f;
        std::string names = m[1].str();
        for (size_t at = 0; at != std::string::npos;) {
            size_t comma = names.find(", ", at);
            f.spellings.push_back(names.substr(at, comma == std::string::npos ? comma : comma - at));
            at = comma == std::string::npos ? comma : comma + 2;
        }
        f.takes_value = m[2].matched;
        f.text = m[3].str();
        flags.push_back(f);
    }
    return flags;
}

std::string run_help(const CommandInfo& c, std::vector<std::string> argv) {
    Globals g;
    g.root = "/nonexistent/husk-help-test";
    int rc = -1;
    std::string out = capture_stdout([&] { rc = c.run(g, std::move(argv)); });
    CHECK(rc == 0);
    return out;
}

// Flag names to try against every parser: runc's, whichever command they belong to.
const char* kRuncFlags[] = {"bundle", "b", "console-socket", "pid-file", "pidfd-socket", "no-pivot", "no-new-keyring",
                            "preserve-fds", "detach", "d", "keep", "no-subreaper", "tty", "t", "env", "e", "cwd",
                            "user", "u", "additional-gids", "g", "process", "p", "cap", "c", "no-new-privs",
                            "apparmor", "process-label", "cgroup", "ignore-paused", "all", "a", "force", "f",
                            "format", "quiet", "q", "stats", "interval", "rootless", "resources", "r", "memory",
                            "memory-swap", "memory-reservation", "kernel-memory", "kernel-memory-tcp", "cpu-share",
                            "cpu-shares", "cpu-period", "cpu-quota", "cpu-burst", "cpu-rt-period", "cpu-rt-runtime",
                            "cpuset-cpus", "cpuset-mems", "cpu-idle", "pids-limit", "blkio-weight", "l3-cache-schema",
                            "mem-bw-schema", "image-path", "work-path", "leave-running", "root", "log", "debug",
                            "criu", "systemd-cgroup", "version", "v", "signal", "s", "timeout"};

}  // namespace

TEST_CASE("every command's help lists exactly the flags its parser takes") {
    std::set<std::string> universe(std::begin(kRuncFlags), std::end(kRuncFlags));
    std::map<std::string, std::vector<HelpFlag>> per_command;
    for (const auto& c : commands()) {
        std::string help = run_help(c, {"--help"});
        INFO("husk " << c.name << " --help:\n" << help);
        // runc's layout: NAME ("husk start - ..."), then USAGE.
        CHECK(help.rfind(std::string("NAME:\n   husk ") + c.name + " - ", 0) == 0);
        CHECK(help.find(std::string("\n\nUSAGE:\n   husk ") + c.name) != std::string::npos);
        CHECK(help.find("(undocumented)") == std::string::npos);
        // A usage line of flags elided with "..." was how update's help hid most of them.
        size_t at = help.find("USAGE:\n") + 7;
        std::string usage = help.substr(at, help.find('\n', at) - at);
        CHECK(usage.find(" ...") == std::string::npos);
        per_command[c.name] = help_flags(help, "OPTIONS:");
        for (const auto& f : per_command[c.name])
            for (const auto& s : f.spellings) universe.insert(s.substr(s[1] == '-' ? 2 : 1));
    }
    for (const auto& c : commands()) {
        const auto& listed = per_command[c.name];
        std::set<std::string> in_help;
        for (const auto& f : listed) {
            CHECK_MESSAGE(!f.text.empty(), c.name << ": a flag without a description");
            for (const auto& s : f.spellings) {
                in_help.insert(s.substr(s[1] == '-' ? 2 : 1));
                // Listed in the help: the parser takes it, in front of --help.
                std::vector<std::string> argv = {s};
                if (f.takes_value) argv.push_back("1");
                argv.push_back("--help");
                INFO("husk " << c.name << " " << s);
                CHECK_NOTHROW(run_help(c, argv));
            }
        }
        CHECK(in_help.count("help"));
        CHECK(in_help.count("h"));
        // Taken by the parser: listed in the help.
        for (const auto& name : universe) {
            if (in_help.count(name)) continue;
            std::string spelling = (name.size() == 1 ? "-" : "--") + name;
            INFO("husk " << c.name << " accepts " << spelling << " but its help does not list it");
            CHECK_THROWS_AS(run_help(c, {spelling, "--help"}), UsageError);
        }
    }
}

TEST_CASE("husk --help lists every global flag and every command") {
    std::string help = global_help();
    auto flags = help_flags(help, "GLOBAL OPTIONS:");
    Globals g;
    GlobalFlags gf;
    std::set<std::string> listed;
    for (const auto& f : flags)
        for (const auto& s : f.spellings) {
            listed.insert(s.substr(s[1] == '-' ? 2 : 1));
            std::vector<std::string> argv = {s};
            if (f.takes_value) argv.push_back("x");
            Args a(argv);
            add_global_flags(a, g, gf);
            INFO("global flag " << s);
            CHECK_NOTHROW(a.parse());
            CHECK(a.takes_value(s.substr(s[1] == '-' ? 2 : 1)) == f.takes_value);
        }
    for (const char* name : kRuncFlags) {
        if (listed.count(name)) continue;
        Args a({std::string(name).size() == 1 ? std::string("-") + name : std::string("--") + name});
        add_global_flags(a, g, gf);
        INFO("global flag --" << name << " is accepted but not in husk --help");
        CHECK_THROWS_AS(a.parse(), UsageError);
    }
    for (const char* documented : {"root", "log", "log-format", "debug", "systemd-cgroup", "rootless", "criu", "version"})
        CHECK(listed.count(documented));
    for (const auto& c : commands()) CHECK(help.find(std::string("  ") + c.name + " ") != std::string::npos);
    // Accepted but ignored flags say so.
    for (const auto& f : flags)
        if (f.spellings.back() == "--criu") CHECK(f.text.find("ignored") != std::string::npos);
}

TEST_CASE("a flag's help line: short names first, its value, its text") {
    std::string b, e;
    bool d = false;
    Args a({});
    a.value({"bundle", "b"}, &b, "DIR", "the bundle");
    a.boolean({"detach", "d"}, &d, "detach");
    a.value({"cpu-share", "cpu-shares"}, &e, "N", "shares");
    a.value({"undocumented"}, &e);
    std::string help = a.flag_help();
    CHECK(help.find("  -b, --bundle DIR") != std::string::npos);
    CHECK(help.find("  -d, --detach ") != std::string::npos);
    CHECK(help.find("      --cpu-share, --cpu-shares N") != std::string::npos);
    CHECK(std::regex_search(help, std::regex("--undocumented VALUE +\\(undocumented\\)\\n")));
    CHECK(help.find("  -h, --help") != std::string::npos);
    CHECK(usage_text(a, "x [options]", "Does x.").rfind("NAME:\n   husk x - does x\n\nUSAGE:\n   husk x [options]\n\nOPTIONS:\n", 0) == 0);
}

TEST_CASE("usage errors point to --help") {
    Args unknown({"--nope"});
    CHECK_THROWS_AS(unknown.parse(), UsageError);
    CHECK_THROWS_AS(expect_args("start", {}, 1, 1), UsageError);
    CHECK(usage_error_message("flag provided but not defined: --nope", "create") ==
          "flag provided but not defined: --nope (see husk create --help)");
    CHECK(usage_error_message("no such command \"x\"", "") == "no such command \"x\" (see husk --help)");
}

TEST_CASE("husk --version") {
    std::string v = version_text();
    CHECK(v.rfind("husk version ", 0) == 0);
    for (const char* line : {"\ncommit: ", "\nspec: 1.", "\nlibseccomp: 2.", "\nlibcap-ng: ", "\nfeatures: +SECCOMP"})
        CHECK(v.find(line) != std::string::npos);
    CHECK(v.find(" +SYSTEMD ") != std::string::npos);  // the systemd cgroup driver is built in
}
