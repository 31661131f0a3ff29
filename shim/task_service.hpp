// The Task API (containerd.task.v2/v3.Task) over the runtime CLI: one record per container and
// exec process, exits from the reaper matched to them, answers and events produced here.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "event_loop.hpp"
#include "oom_watch.hpp"
#include "process_io.hpp"
#include "publisher.hpp"
#include "runtime_calls.hpp"
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
        : loop_(loop), pub_(pub), cfg_(std::move(cfg)), calls_(loop) {}
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
        bool launching = false;  // its create or exec command is running
    };
    struct Container;
    // One runtime command and what to do with its result, on the loop, once it has ended.
    struct Step {
        std::vector<std::string> args;  // empty: nothing to run (the step answered already)
        Stdio io;
        bool capture = false;
        std::function<void(Container&, RunResult&)> then;
    };
    // Makes a task's next step when its turn comes (throwing answers the call with the error).
    using Op = std::function<Step(Container&)>;
    struct Queued {
        Responder r;
        const char* method;  // for the log
        Op op;
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
        // A task's runtime commands run one at a time, in the order asked, as runc's shim
        // holds a task's lock around each; other tasks' commands and calls go on meanwhile.
        std::list<Queued> queue;  // a list: nothing allocated while empty
        bool busy = false;
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

    // Queues op on c (first: ahead of the others, for a step that finishes one already run).
    void enqueue(Container& c, const Responder& r, const char* method, Op op, bool first = false);
    void run_next(const std::string& id);
    // The container leaves the shim: calls still queued for it are answered "not found".
    void erase(std::string id);
    // The create or exec command for proc with stdio, console socket and pid file; once it has
    // run, `started` gets proc with its pid and io, or `failed` the error.
    Step launch(Container& c, Process& proc, std::vector<std::string> args, const std::string& pid_file,
                std::function<void(Container&, Process&)> started,
                std::function<void(Container&, Process&, const std::string& error)> failed);
    // After a failed create: `delete --force`, unmount, leave the shim, answer r with error.
    void undo_create(Container& c, const Responder& r, const std::string& error);
    // An exit that came while proc's create, exec or start command ran, now published.
    void claim_early_exit(Container& c, Process& proc);
    // proc ended with a waitpid status: settled and its TaskExit published.
    void exited(Container& c, Process& proc, pid_t pid, int wait_status);
    Container* find(const std::string& id, const Responder& r);
    Process* find_process(Container& c, const std::string& exec_id, const Responder& r);

    EventLoop& loop_;
    Publisher& pub_;
    ServiceConfig cfg_;
    std::map<std::string, std::unique_ptr<Container>> containers_;
    RuntimeCalls calls_;
    // Exits of children the shim did not know while a runtime command was running: a process
    // that create or exec started may end before the command does and its pid file is read.
    std::map<pid_t, int> early_exits_;
};

}  // namespace husk::shim
