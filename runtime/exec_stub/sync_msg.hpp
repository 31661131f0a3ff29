// The type byte of each sync message (runtime/container/sync.hpp). Freestanding (no includes):
// the exec stub, built without libc, reads and writes two of them.
#pragma once

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

}  // namespace husk::sync
