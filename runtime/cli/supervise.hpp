// Foreground supervision for `run` and `exec`: forwards signals to the process, relays a
// terminal between our stdio and the pty master, and returns the exit code (128+N on signal N).
#pragma once

#include <signal.h>
#include <sys/types.h>

namespace husk::cli {

// The signals husk forwards; block them before the process exists so none is lost.
sigset_t forwarded_signals();
// `pid` must be our child; `master` is -1 without a terminal; `sigfd` reads forwarded_signals().
// As runc's foreground console: the pty does not turn "\n" into "\r\n" on its way out, so
// what the program writes reaches our stdout as written. No-op for -1.
void clear_onlcr(int master);
int supervise(pid_t pid, int pidfd, int master, int sigfd);

}  // namespace husk::cli
