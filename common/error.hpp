// The one error type of the runtime: thrown where a step fails, caught and reported once by the
// CLI. Messages name the operation, the path or field, and errno's text.
#pragma once

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace husk {

struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
    Error(const std::string& what, int err) : std::runtime_error(what), code(err) {}
    int code = 0;  // errno of the failed call, where there was one
};

// "op path: strerror(errno)"; call right after the failing system call.
[[noreturn]] inline void throw_errno(const std::string& what, int err = errno) {
    throw Error(what + ": " + std::strerror(err), err);
}

}  // namespace husk
