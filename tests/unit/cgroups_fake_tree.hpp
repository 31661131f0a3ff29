// A fake cgroup directory in a temp dir for the cgroups unit tests: files the test creates
// stand for the kernel's interface files; a file the test leaves out is "missing on this host".
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

class FakeCgroup {
public:
    FakeCgroup() {
        char tmpl[] = "/tmp/husk-cgtest-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
    }
    ~FakeCgroup() { std::filesystem::remove_all(dir_); }
    FakeCgroup(const FakeCgroup&) = delete;
    FakeCgroup& operator=(const FakeCgroup&) = delete;

    const std::string& dir() const { return dir_; }
    std::string sub(const std::string& name) {
        std::filesystem::create_directories(dir_ + "/" + name);
        return dir_ + "/" + name;
    }
    // Creates files (empty unless content is given) in dir/sub.
    FakeCgroup& file(const std::string& name, const std::string& content = "") {
        std::filesystem::create_directories(std::filesystem::path(dir_ + "/" + name).parent_path());
        std::ofstream(dir_ + "/" + name) << content;
        return *this;
    }
    std::string read(const std::string& name) const {
        std::ifstream in(dir_ + "/" + name);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }

private:
    std::string dir_;
};

// The message of the husk::Error (or any exception) f throws, "" if none.
template <class F>
std::string error_of(F f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}
