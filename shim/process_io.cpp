#include "process_io.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>

#include "common/error.hpp"
#include "spawn.hpp"

namespace husk::shim {
namespace {

constexpr size_t kPumpBuffer = 32 * 1024;

void set_nonblock(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// An output destination: a fifo path (opened read-write: it neither blocks nor raises EPIPE
// without a reader), or file:///path (appended to, created if needed).
UniqueFd open_output(const std::string& uri, unsigned uid, unsigned gid) {
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

std::string percent_decode(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && std::isxdigit((unsigned char)s[i + 1]) &&
            std::isxdigit((unsigned char)s[i + 2])) {
            out.push_back(char(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
            i += 2;
        } else {
            out.push_back(s[i] == '+' ? ' ' : s[i]);
        }
    }
    return out;
}

UniqueFd high_dup(int fd) {
    UniqueFd d(::fcntl(fd, F_DUPFD_CLOEXEC, 10));
    if (!d) throw_errno("dup");
    return d;
}

// containerd's logging-binary contract: the binary gets the process's stdout on fd 3, stderr on
// fd 4, and closes fd 5 once it is ready; CONTAINER_ID and CONTAINER_NAMESPACE in its env.
// Returns the write ends for the container's stdout and stderr.
std::pair<UniqueFd, UniqueFd> start_log_binary(const std::string& uri, const IoOwner& owner) {
    std::vector<std::string> args = binary_log_argv(uri);
    int p[2];
    UniqueFd out_r, out_w, err_r, err_w, ready_r, ready_w;
    if (::pipe2(p, O_CLOEXEC) != 0) throw_errno("pipe");
    out_r.reset(p[0]), out_w.reset(p[1]);
    if (::pipe2(p, O_CLOEXEC) != 0) throw_errno("pipe");
    err_r.reset(p[0]), err_w.reset(p[1]);
    if (::pipe2(p, O_CLOEXEC) != 0) throw_errno("pipe");
    ready_r.reset(p[0]), ready_w.reset(p[1]);
    // Moved above fd 9 first so the dup2s onto 3, 4 and 5 cannot overwrite one another.
    UniqueFd a = high_dup(out_r.get()), b = high_dup(err_r.get()), c = high_dup(ready_w.get());
    out_r.reset(), err_r.reset(), ready_w.reset();

    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    SpawnOptions opt;
    opt.fds = {{null.get(), 0}, {null.get(), 1}, {null.get(), 2}, {a.get(), 3}, {b.get(), 4}, {c.get(), 5}};
    opt.extra_env = {"CONTAINER_ID=" + owner.container_id, "CONTAINER_NAMESPACE=" + owner.ns};
    opt.new_session = true;
    opt.search_path = false;
    spawn(args, opt);
    c.reset();  // only the binary holds the ready pipe's write end now
    // The shim's reaper collects the binary when it exits; here we only wait for it to be ready.
    pollfd pfd{ready_r.get(), POLLIN, 0};
    if (::poll(&pfd, 1, 10000) <= 0) throw Error("logging binary " + args[0] + " did not become ready");
    return {std::move(out_w), std::move(err_w)};
}

}  // namespace

std::vector<std::string> binary_log_argv(const std::string& uri) {
    std::string rest = uri.substr(std::string("binary://").size());
    auto q = rest.find('?');
    std::vector<std::string> argv{percent_decode(rest.substr(0, q))};
    if (q == std::string::npos) return argv;
    std::string query = rest.substr(q + 1);
    size_t pos = 0;
    while (pos <= query.size()) {
        size_t amp = query.find('&', pos);
        std::string kv = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
        if (!kv.empty()) {
            auto eq = kv.find('=');
            argv.push_back(percent_decode(kv.substr(0, eq)));
            if (eq != std::string::npos && eq + 1 < kv.size()) argv.push_back(percent_decode(kv.substr(eq + 1)));
        }
        if (amp == std::string::npos) break;
        pos = amp + 1;
    }
    return argv;
}

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

void Pump::finish() {
    finishing_ = true;
    if (src_) on_src();
}

void Pump::on_src() {
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(src_.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN && !finishing_) return;
        if (n <= 0) {  // EOF, EIO (the pty's last slave closed), or drained while finishing
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
    if (!src_) stop();
    else if (finishing_) on_src();  // no readiness event may come for what is left: read now
    else loop_.modify(src_.get(), EPOLLIN);
}

ProcessIo::ProcessIo(EventLoop& loop, const std::string& in, const std::string& out, const std::string& err,
                     bool terminal, const IoOwner& owner)
    : loop_(loop), in_path_(in), out_path_(out) {
    unsigned uid = owner.uid, gid = owner.gid;
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
    if (out.rfind("binary://", 0) == 0) {
        // One logging binary takes both streams (containerd passes the same URI for both).
        auto [o, e] = start_log_binary(out, owner);
        out_child_ = std::move(o);
        err_child_ = std::move(e);
        return;
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
    if (in_pump_) in_pump_->finish();
}

bool ProcessIo::resize(unsigned width, unsigned height) {
    if (!master_) return false;
    winsize ws{};
    ws.ws_col = static_cast<unsigned short>(width);
    ws.ws_row = static_cast<unsigned short>(height);
    return ::ioctl(master_.get(), TIOCSWINSZ, &ws) == 0;
}

}  // namespace husk::shim
