#include "console.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/unix_socket.hpp"

namespace husk::console {

Socket open_socket(const std::string& console_socket, bool foreground) {
    Socket s;
    if (!console_socket.empty()) {
        try {
            s.sock = unix_socket::connect(console_socket);
        } catch (const std::exception& e) {
            throw Error(std::string("--console-socket: ") + e.what());
        }
    } else if (foreground) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throw_errno("socketpair");
        s.sock.reset(sv[1]);
        s.peer.reset(sv[0]);
    } else {
        throw Error("process.terminal is true: --console-socket is required");
    }
    return s;
}

UniqueFd create_and_send(int socket_fd, const std::optional<spec::ConsoleSize>& size) {
    UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master) throw_errno("open /dev/ptmx in the container (is /dev/pts mounted?)");
    // The peer comes from the master itself (TIOCGPTPEER), never by a /dev/pts/N path that the
    // container's mounts could point elsewhere (CVE-2025-52565); the master must be a ptmx.
    struct stat st;
    if (::fstat(master.get(), &st) != 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 || minor(st.st_rdev) != 2)
        throw Error("/dev/ptmx in the container is not the pty multiplexer");
    int unlock = 0;
    if (::ioctl(master.get(), TIOCSPTLCK, &unlock) != 0) throw_errno("unlock pty");
    UniqueFd slave(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) throw_errno("open pty slave");
    if (size) {
        winsize ws{};
        ws.ws_row = static_cast<unsigned short>(size->height);
        ws.ws_col = static_cast<unsigned short>(size->width);
        ::ioctl(slave.get(), TIOCSWINSZ, &ws);
    }
    int n = 0;
    ::ioctl(master.get(), TIOCGPTN, &n);
    unix_socket::send_fd(socket_fd, master.get(), "/dev/pts/" + std::to_string(n));
    return slave;
}

void attach(int slave_fd, uid_t owner) {
    // As runc: the terminal is the process user's (its group stays devpts' tty group). A
    // refusal (an id the user namespace does not map) leaves it as it is, as runc does.
    if (::fchown(slave_fd, owner, static_cast<gid_t>(-1)) != 0 && errno != EPERM && errno != EINVAL)
        throw_errno("chown the console to uid " + std::to_string(owner));
    for (int i = 0; i < 3; ++i)
        if (::dup2(slave_fd, i) < 0) throw_errno("dup2 console");
    if (::ioctl(0, TIOCSCTTY, 0) != 0) throw_errno("set controlling terminal");
}

}  // namespace husk::console
