// A task process's stdio as containerd hands it over (fifo paths, file:// URIs, or a terminal):
// what the runtime inherits, and the copies the shim keeps running on the event loop.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "event_loop.hpp"
#include "runtime_cli.hpp"
#include "common/unique_fd.hpp"

namespace husk::shim {

// Copies bytes from one fd to another on the loop, never blocking: while the destination is
// full it stops reading the source. Ends at EOF (or EIO from a pty master whose slave closed).
class Pump {
public:
    Pump(EventLoop& loop, UniqueFd src, UniqueFd dst);
    ~Pump();
    void stop();
    // Copies what the source holds right now, then ends as at EOF (CloseIO: the client has
    // written all it will, some of it may still sit in the fifo).
    void finish();

private:
    void on_src();
    void on_dst();
    EventLoop& loop_;
    UniqueFd src_, dst_;
    std::string buf_;
    bool dst_watched_ = false;
    bool finishing_ = false;
};

// Who the process belongs to: passed to binary:// loggers, and the owner of its stdio.
struct IoOwner {
    std::string container_id, ns;
    unsigned uid = 0, gid = 0;
};

// binary:///path?k=v&flag -> {"/path", "k", "v", "flag"} (percent-decoded; pure; unit-tested).
std::vector<std::string> binary_log_argv(const std::string& uri);

class ProcessIo {
public:
    // Opens the fifos/files (non-terminal: stdout/stderr go straight to the container, the fifos
    // opened read-write so it never gets EPIPE when a client detaches; stdin through a pipe so
    // CloseIO can deliver EOF; binary:// starts the logging binary on pipes). Throws husk::Error
    // naming the path.
    ProcessIo(EventLoop& loop, const std::string& in, const std::string& out, const std::string& err,
              bool terminal, const IoOwner& owner);
    ~ProcessIo();
    Stdio for_runtime() const { return Stdio{in_child_.get(), out_child_.get(), err_child_.get()}; }
    // After the runtime created the process: drop the shim's copies of the container's ends.
    void release_child_ends();
    // Terminal: the pty master received over --console-socket.
    void attach_console(UniqueFd master);
    void close_stdin();
    bool resize(unsigned width, unsigned height);

private:
    EventLoop& loop_;
    std::string in_path_, out_path_;
    UniqueFd in_child_, out_child_, err_child_;
    UniqueFd master_;
    std::unique_ptr<Pump> in_pump_, out_pump_;
};

}  // namespace husk::shim
