// Unix-socket helpers: connect by path, and pass file descriptors with SCM_RIGHTS.
#pragma once

#include <string>

#include "unique_fd.hpp"

namespace husk::unix_socket {

UniqueFd connect(const std::string& path);
// Sends `data` with one fd attached.
void send_fd(int sock, int fd, const std::string& data);
// Receives a message and at most one fd; the fd is -1 if none came.
UniqueFd recv_fd(int sock, std::string* data = nullptr);

}  // namespace husk::unix_socket
