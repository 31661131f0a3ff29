#include "process_io.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "error.hpp"

namespace husk::shim {
namespace {

constexpr size_t kPumpBuffer = 32 * 1024;

void set_nonblock(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// An output destination: a fifo path (opened read-write: it neither blocks nor raises EPIPE
// without a reader), or file:///path (appended to, created if needed).
UniqueFd open_output(const std::string& uri, unsigned uid, unsigned gid) {
    if (uri.rfind("binary://", 0) == 0) throw Error(uri + ": binary:// log drivers are not supported");
    if (uri.rfind("file://", 0) == 0) {
        std::string path = uri.substr(7);
        UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
        if (!fd) throw_errno("open " + path);
        if (uid || gid) (void)::fchown(fd.get(), uid, gid);
        return fd;
    }
    UniqueFd fd(::open(uri.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd) throw_errno("open " + uri);
    return fd;
}

}  // namespace

Pump::Pump(EventLoop& loop, UniqueFd src, UniqueFd dst) : loop_(loop), src_(std::move(src)), dst_(std::move(dst)) {
    set_nonblock(src_.get());
    set_nonblock(dst_.get());
    loop_.add(src_.get(), EPOLLIN, [this](uint32_t) { on_src(); });
}

Pump::~Pump() { stop(); }

void Pump::stop() {
    if (src_) loop_.remove(src_.get());
    if (dst_watched_) loop_.remove(dst_.get());
    dst_watched_ = false;
    src_.reset();
    dst_.reset();
}

void Pump::on_src() {
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(src_.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) {  // EOF, or EIO: the pty's last slave closed
            loop_.remove(src_.get());
            src_.reset();
            if (buf_.empty()) stop();
            return;
        }
        buf_.append(buf, size_t(n));
        on_dst();
        if (!src_ || buf_.size() >= kPumpBuffer) return;
    }
}

void Pump::on_dst() {
    while (!buf_.empty()) {
        ssize_t n = ::write(dst_.get(), buf_.data(), buf_.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        if (n < 0) {  // reader gone for good: drop what the process writes from now on
            buf_.clear();
            break;
        }
        buf_.erase(0, size_t(n));
    }
    // Watch the destination only while bytes wait, and pause the source meanwhile.
    if (!buf_.empty()) {
        if (!dst_watched_) loop_.add(dst_.get(), EPOLLOUT, [this](uint32_t) { on_dst(); });
        dst_watched_ = true;
        if (src_) loop_.modify(src_.get(), 0);
        return;
    }
    if (dst_watched_) loop_.remove(dst_.get());
    dst_watched_ = false;
    if (src_) loop_.modify(src_.get(), EPOLLIN);
    else stop();
}

ProcessIo::ProcessIo(EventLoop& loop, const std::string& in, const std::string& out, const std::string& err,
                     bool terminal, unsigned uid, unsigned gid)
    : loop_(loop), in_path_(in), out_path_(out), terminal_(terminal) {
    if (terminal) return;  // everything goes through the pty, see attach_console
    if (!in.empty()) {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) throw_errno("pipe");
        in_child_.reset(p[0]);
        UniqueFd w(p[1]);
        if (uid || gid) (void)::fchown(in_child_.get(), uid, gid);
        UniqueFd fifo(::open(in.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
        if (!fifo) throw_errno("open " + in);
        in_pump_ = std::make_unique<Pump>(loop_, std::move(fifo), std::move(w));
    }
    if (!out.empty()) out_child_ = open_output(out, uid, gid);
    if (!err.empty()) err_child_ = open_output(err, uid, gid);
}

ProcessIo::~ProcessIo() = default;

void ProcessIo::release_child_ends() {
    in_child_.reset();
    out_child_.reset();
    err_child_.reset();
}

void ProcessIo::attach_console(UniqueFd master) {
    master_ = std::move(master);
    if (!out_path_.empty()) {
        UniqueFd out(::open(out_path_.c_str(), O_RDWR | O_CLOEXEC));
        UniqueFd m(::fcntl(master_.get(), F_DUPFD_CLOEXEC, 0));
        if (out && m) out_pump_ = std::make_unique<Pump>(loop_, std::move(m), std::move(out));
    }
    if (!in_path_.empty()) {
        UniqueFd in(::open(in_path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
        UniqueFd m(::fcntl(master_.get(), F_DUPFD_CLOEXEC, 0));
        if (in && m) in_pump_ = std::make_unique<Pump>(loop_, std::move(in), std::move(m));
    }
}

void ProcessIo::close_stdin() {
    // Non-terminal: closing the pipe's write end is the container's EOF. Terminal: stop feeding
    // the pty; the process keeps its tty.
    in_pump_.reset();
}

bool ProcessIo::resize(unsigned width, unsigned height) {
    if (!master_) return false;
    winsize ws{};
    ws.ws_col = static_cast<unsigned short>(width);
    ws.ws_row = static_cast<unsigned short>(height);
    return ::ioctl(master_.get(), TIOCSWINSZ, &ws) == 0;
}

}  // namespace husk::shim
