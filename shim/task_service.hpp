// The Task API (containerd.task.v2/v3.Task) over the runtime CLI: one record per container and
// exec process, exits from the reaper matched to them, answers and events produced here.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "event_loop.hpp"
#include "oom_watch.hpp"
#include "process_io.hpp"
#include "publisher.hpp"
#include "runtime_cli.hpp"
#include "rpc.hpp"
#include "shim.pb.h"
#include "ttrpc_frame.hpp"

namespace husk::shim {

namespace v2 = containerd::task::v2;

struct ServiceConfig {
    std::string ns;               // containerd namespace
    std::string default_binary;   // runtime when Create's options name none
    std::function<void()> on_shutdown;
    bool debug = false;            // -debug: every call is logged
};

class TaskService {
public:
    TaskService(EventLoop& loop, Publisher& pub, ServiceConfig cfg)
        : loop_(loop), pub_(pub), cfg_(std::move(cfg)) {}
    void dispatch(const Call& call, const Responder& r);
    // From the reaper: a child of the shim ended with a waitpid status.
    void on_exit(pid_t pid, int wait_status);
    bool empty() const { return containers_.empty(); }

private:
    enum class State { Created, Running, Paused, Stopped };
    struct Process {
        std::string exec_id;
        pid_t pid = 0;
        State state = State::Created;
        uint32_t exit_status = 0;
        timespec exited_at{};
        std::string stdin_path, stdout_path, stderr_path;
        bool terminal = false;
        std::string spec;  // exec: the runtime-spec Process JSON
        std::unique_ptr<ProcessIo> io;
        std::vector<Responder> waiters;
    };
    struct Container {
        std::string id, bundle;
        RuntimeConfig rc;
        bool mounted = false;
        bool no_pivot = false;
        unsigned io_uid = 0, io_gid = 0;
        Process init;
        std::map<std::string, std::unique_ptr<Process>> execs;
        std::unique_ptr<OomWatch> oom;
    };

    // The process has ended (or will never run): Stopped with `status`, its waiters answered.
    static void settle(Process& proc, uint32_t status);

    // The Task methods, each after the one preamble (see methods()).
    void create(const v2::CreateTaskRequest& req, const Responder& r);
    void start(const v2::StartRequest& req, Container& c, const Responder& r);
    void remove(const v2::DeleteRequest& req, Container& c, const Responder& r);
    void exec(const v2::ExecProcessRequest& req, Container& c, const Responder& r);
    void state(const v2::StateRequest& req, Container& c, const Responder& r);
    void wait(const v2::WaitRequest& req, Container& c, const Responder& r);
    void kill(const v2::KillRequest& req, Container& c, const Responder& r);
    void pids(const v2::PidsRequest& req, Container& c, const Responder& r);
    void pause(const v2::PauseRequest& req, Container& c, const Responder& r);
    void resume(const v2::ResumeRequest& req, Container& c, const Responder& r);
    void close_io(const v2::CloseIORequest& req, Container& c, const Responder& r);
    void resize_pty(const v2::ResizePtyRequest& req, Container& c, const Responder& r);
    void update(const v2::UpdateTaskRequest& req, Container& c, const Responder& r);
    void stats(const v2::StatsRequest& req, Container& c, const Responder& r);
    void connect(const v2::ConnectRequest& req, const Responder& r);
    void shutdown(const v2::ShutdownRequest& req, const Responder& r);
    void set_paused(Container& c, const Responder& r, bool pause);

    // Method name -> handler: the request decoded and (for a task's methods) the task found.
    using Handler = std::function<void(TaskService&, const std::string& payload, const Responder&)>;
    static const std::map<std::string, Handler>& methods();
    template <class Req>
    static Handler on_task(void (TaskService::*fn)(const Req&, Container&, const Responder&));
    template <class Req>
    static Handler plain(void (TaskService::*fn)(const Req&, const Responder&));

    // Runs create/exec with stdio, console socket and pid file; fills pid and io or throws.
    void launch(Container& c, Process& proc, const std::vector<std::string>& args, const std::string& pid_file);
    Container* find(const std::string& id, const Responder& r);
    Process* find_process(Container& c, const std::string& exec_id, const Responder& r);

    EventLoop& loop_;
    Publisher& pub_;
    ServiceConfig cfg_;
    std::map<std::string, std::unique_ptr<Container>> containers_;
};

}  // namespace husk::shim
