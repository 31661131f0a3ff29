// Terminals for container processes: a pty allocated inside the container (its devpts), the
// master sent to the caller's console socket, the slave made the process's controlling tty.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "spec/config.hpp"
#include "common/unique_fd.hpp"

namespace husk::console {

// Where the pty master goes: the caller's --console-socket, or (foreground run/exec without one)
// one end of a socketpair whose other end, `peer`, husk keeps to relay the terminal itself.
struct Socket {
    UniqueFd sock;
    UniqueFd peer;
};
Socket open_socket(const std::string& console_socket, bool foreground);

// Opens /dev/ptmx of the current root, sends the master over `socket_fd` and returns the slave.
UniqueFd create_and_send(int socket_fd, const std::optional<spec::ConsoleSize>& size);
// Gives the slave to uid `owner` (the process's user), dup2s it to 0, 1, 2 and makes it the
// controlling terminal (needs a new session).
void attach(int slave_fd, uid_t owner);

}  // namespace husk::console
