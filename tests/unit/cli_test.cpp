// Flag parsing with runc's spellings, signal names, container ids and path cleaning.
#include <doctest/doctest.h>
#include <signal.h>

#include "runtime/cli/args.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/proc.hpp"
#include "runtime/container/state_store.hpp"

using husk::cli::Args;

TEST_CASE("every spelling of a value flag") {
    for (auto form : std::vector<std::vector<std::string>>{
             {"-b", "/x", "id"}, {"--bundle", "/x", "id"}, {"-bundle", "/x", "id"}, {"--bundle=/x", "id"}, {"-b=/x", "id"}}) {
        std::string bundle;
        Args a(form);
        a.value({"bundle", "b"}, &bundle);
        auto pos = a.parse();
        CHECK(bundle == "/x");
        CHECK(pos == std::vector<std::string>{"id"});
    }
}

TEST_CASE("booleans, integers, repeated flags and positionals") {
    bool d = false, f = true;
    int n = 0;
    std::vector<std::string> env;
    Args a({"-d", "--force=false", "--preserve-fds", "3", "-e", "A=1", "--env=B=2", "id", "cmd", "-x"});
    a.flags_before_args();
    a.boolean({"detach", "d"}, &d);
    a.boolean({"force", "f"}, &f);
    a.integer({"preserve-fds"}, &n);
    a.repeated({"env", "e"}, &env);
    auto pos = a.parse();
    CHECK(d);
    CHECK_FALSE(f);
    CHECK(n == 3);
    CHECK(env == std::vector<std::string>{"A=1", "B=2"});
    // Flags stop at the first positional: the command's own flags are left alone.
    CHECK(pos == std::vector<std::string>{"id", "cmd", "-x"});
}

TEST_CASE("flags after the arguments, as runc's parser takes them") {
    std::string memory;
    bool all = false;
    Args a({"id", "--memory", "100M", "KILL", "-a", "-x", "--", "--memory"});
    a.value({"memory"}, &memory);
    a.boolean({"all", "a"}, &all);
    auto pos = a.parse();
    CHECK(memory == "100M");
    CHECK(all);
    // An undefined flag after an argument is an argument; after "--" everything is.
    CHECK(pos == std::vector<std::string>{"id", "KILL", "-x", "--memory"});
}

TEST_CASE("flag errors") {
    std::string v;
    Args unknown({"--nope", "id"});
    CHECK_THROWS_WITH_AS(unknown.parse(), "flag provided but not defined: --nope", husk::Error);
    Args missing({"--bundle"});
    missing.value({"bundle"}, &v);
    CHECK_THROWS_WITH_AS(missing.parse(), "flag needs an argument: --bundle", husk::Error);
    int n;
    Args bad({"--preserve-fds", "x"});
    bad.integer({"preserve-fds"}, &n);
    CHECK_THROWS_AS(bad.parse(), husk::Error);
    Args help({"--help"});
    help.parse();
    CHECK(help.help());
}

TEST_CASE("signal names and numbers") {
    using husk::proc::signal_number;
    CHECK(signal_number("KILL") == SIGKILL);
    CHECK(signal_number("SIGKILL") == SIGKILL);
    CHECK(signal_number("sigterm") == SIGTERM);
    CHECK(signal_number("9") == 9);
    CHECK(signal_number("SIGRTMIN+2") == SIGRTMIN + 2);
    CHECK(signal_number("RTMAX-1") == SIGRTMAX - 1);
    CHECK_THROWS_AS(signal_number("SIGFOO"), husk::Error);
    CHECK(signal_number("0") == 0);
    CHECK_THROWS_AS(signal_number("-1"), husk::Error);
    CHECK_THROWS_AS(signal_number("65"), husk::Error);
}

TEST_CASE("container ids") {
    CHECK_NOTHROW(husk::validate_id("abc-DEF_1.2+3"));
    for (auto bad : {"", ".", "..", "a/b", "a b", "a\nb", "x;y"}) CHECK_THROWS_AS(husk::validate_id(bad), husk::Error);
}

TEST_CASE("lexical path cleaning never leaves the top") {
    using husk::fs::clean;
    CHECK(clean("/a//b/./c/") == "/a/b/c");
    CHECK(clean("/../../etc") == "/etc");
    CHECK(clean("a/../../b") == "../b");
    CHECK(clean("/") == "/");
    CHECK(clean("") == ".");
}
