// Unix-socket helpers: connect by path, and pass file descriptors with SCM_RIGHTS.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <string>

#include "unique_fd.hpp"

namespace husk::unix_socket {

// The address of a socket path, and the length to pass with it. A path starting with NUL is in
// the abstract namespace and is not NUL-terminated. Throws if the path does not fit sun_path.
struct Address {
    sockaddr_un sa{};
    socklen_t len = 0;
    sockaddr* get() { return reinterpret_cast<sockaddr*>(&sa); }
};
Address address(const std::string& path);

UniqueFd connect(const std::string& path);
// Sends `data` with one fd attached.
void send_fd(int sock, int fd, const std::string& data);
// Receives a message and at most one fd; the fd is -1 if none came.
UniqueFd recv_fd(int sock, std::string* data = nullptr);

}  // namespace husk::unix_socket
