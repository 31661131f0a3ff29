// The messages husk exchanges with the processes it starts (create <-> container init, and
// exec <-> its helper and process): one SOCK_SEQPACKET message each, a type byte, an optional
// text and at most one fd (SCM_RIGHTS). The freestanding exec stub (runtime/exec_stub/stub.cpp)
// reads Recorded and writes ExecFailed ("X<errno>") with these bytes on its own.
#pragma once

#include <string>

#include "common/unique_fd.hpp"

namespace husk::sync {

enum class Msg : char {
    Closed = 0,          // not on the wire: the peer closed its end
    Go = 'G',            // create -> init: maps written, cgroup joined
    BindSource = 'M',    // create -> init, before Go: a bind source fd, the text its index in
                         // config.mounts (user namespaces only)
    RunHooks = 'H',      // init -> create: mounts ready, run prestart/createRuntime
    HooksDone = 'D',     // create -> init: done; the text is the state JSON for container hooks
    Ready = 'R',         // init -> create: set up, now waiting on exec.fifo
    Error = 'E',         // child -> parent: the text is the error
    SeccompFd = 'S',     // child -> parent: the seccomp notify fd is attached
    SeccompDone = 'A',   // parent -> child: the fd went to linux.seccomp.listenerPath
    SeccompFailed = 'N', // parent -> child (exec): it did not
    Recorded = 'C',      // create -> init: state.json is written; the socket closing before
                         // this means create died, and nobody would ever start or delete it
    Started = 'P',       // helper -> parent: the process is cloned; create's helper attaches
                         // init's pidfd, exec's the pid as text
    ExecFailed = 'X',    // exec stub -> exec: the program's execve failed, the text its errno
};

struct Message {
    Msg type = Msg::Closed;
    std::string text;
    UniqueFd fd;  // -1 unless the sender attached one

    // The bytes as sent ("X2"), for readers of the exec stub's report.
    std::string wire() const { return std::string(1, static_cast<char>(type)) + text; }
};

// Sends one message, `fd` attached unless -1. Errors read "<what>: <errno text>".
void send(int sock, Msg type, const std::string& text = {}, int fd = -1, const std::string& what = "sync");
// A child's last word: never throws, and says whether the message went.
bool send_quietly(int sock, Msg type, const std::string& text = {}) noexcept;
// Receives one message (type Closed once the peer closed). Errors read "<what>: <cause>".
Message recv(int sock, const std::string& what = "sync");

}  // namespace husk::sync
