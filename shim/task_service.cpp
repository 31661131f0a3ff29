#include "task_service.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "events.pb.h"
#include "rootfs.hpp"
#include "runc_options.pb.h"
#include "shim.pb.h"
#include "shim_options.hpp"
#include "stats.hpp"
#include "common/unix_socket.hpp"

namespace husk::shim {
namespace ev = containerd::events;
using Status = containerd::v1::types::Status;

namespace {

// The exit status reported for an exec that never ran (its Start failed, or it was deleted
// before Start): a failure status, as a shell reports a command it could not run.
constexpr uint32_t kNeverRan = 255;

timespec now() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts;
}

void set_time(husk::wire::Timestamp* t, const timespec& ts) {
    t->set_seconds(ts.tv_sec);
    t->set_nanos(int32_t(ts.tv_nsec));
}

template <class M>
bool parse(M& m, const std::string& payload, const Responder& r) {
    if (m.ParseFromString(payload)) return true;
    r.error(ttrpc::kInvalidArgument, "malformed request");
    return false;
}

// A call's failure: logged to stderr, the bundle's log fifo that containerd copies into its own
// log, and answered.
void fail(const Responder& r, const char* method, const std::string& error) {
    std::fprintf(stderr, "level=error msg=\"%s: %s\"\n", method, error.c_str());
    r.error(ttrpc::kUnknown, error);
}

// Files are read and written with plain system calls here: a stream's 8 KiB buffer on the heap
// would stay in every shim's memory.
std::string read_pid_file(const std::string& path) {
    std::string s;
    fs::try_read_file(path, s);
    return s.substr(0, s.find('\n'));
}

// A listening socket for the runtime's --console-socket in a private directory.
struct ConsoleSocket {
    std::string dir, path;
    UniqueFd fd;
    ConsoleSocket() {
        char tmpl[] = "/tmp/husk-pty-XXXXXX";
        if (!::mkdtemp(tmpl)) throw_errno("mkdtemp /tmp/husk-pty-XXXXXX");
        dir = tmpl;
        path = dir + "/pty.sock";
        unix_socket::Address addr = unix_socket::address(path);
        fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!fd || ::bind(fd.get(), addr.get(), addr.len) != 0 ||
            ::listen(fd.get(), 1) != 0)
            throw_errno("console socket " + path);
    }
    ~ConsoleSocket() {
        ::unlink(path.c_str());
        ::rmdir(dir.c_str());
    }
    UniqueFd receive() {
        // The runtime has exited by now; its connection and the fd it sent wait in the backlog.
        UniqueFd conn(::accept4(fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn) throw Error("the runtime did not send a terminal over the console socket");
        return unix_socket::recv_fd(conn.get());
    }
};

}  // namespace

// The one preamble of every method: decode the request (a bad one is answered here) and, for
// those about a task, find it (an unknown id is answered here); then the method itself.
template <class Req>
TaskService::Handler TaskService::on_task(void (TaskService::*fn)(const Req&, Container&, const Responder&)) {
    return [fn](TaskService& s, const std::string& payload, const Responder& r) {
        Req req;
        if (!parse(req, payload, r)) return;
        if (Container* c = s.find(req.id(), r)) (s.*fn)(req, *c, r);
    };
}

template <class Req>
TaskService::Handler TaskService::plain(void (TaskService::*fn)(const Req&, const Responder&)) {
    return [fn](TaskService& s, const std::string& payload, const Responder& r) {
        Req req;
        if (parse(req, payload, r)) (s.*fn)(req, r);
    };
}

const std::map<std::string, TaskService::Handler>& TaskService::methods() {
    static const std::map<std::string, Handler> table = {
        {"Create", plain(&TaskService::create)},
        {"Start", on_task(&TaskService::start)},
        {"Delete", on_task(&TaskService::remove)},
        {"Exec", on_task(&TaskService::exec)},
        {"State", on_task(&TaskService::state)},
        {"Wait", on_task(&TaskService::wait)},
        {"Kill", on_task(&TaskService::kill)},
        {"Pids", on_task(&TaskService::pids)},
        {"Pause", on_task(&TaskService::pause)},
        {"Resume", on_task(&TaskService::resume)},
        {"CloseIO", on_task(&TaskService::close_io)},
        {"ResizePty", on_task(&TaskService::resize_pty)},
        {"Update", on_task(&TaskService::update)},
        {"Stats", on_task(&TaskService::stats)},
        {"Connect", plain(&TaskService::connect)},
        {"Shutdown", plain(&TaskService::shutdown)},
    };
    return table;
}

void TaskService::dispatch(const Call& call, const Responder& r) {
    if (call.service != "containerd.task.v2.Task" && call.service != "containerd.task.v3.Task") {
        r.error(ttrpc::kUnimplemented, "service " + call.service + ": not implemented");
        return;
    }
    const std::string& m = call.method;
    if (cfg_.debug) std::fprintf(stderr, "level=debug msg=\"%s.%s\"\n", call.service.c_str(), m.c_str());
    auto it = methods().find(m);
    if (it == methods().end())
        return r.error(ttrpc::kUnimplemented, "method " + call.service + "." + m + ": not implemented");
    try {
        it->second(*this, call.payload, r);
    } catch (const Error& e) {
        fail(r, m.c_str(), e.what());
    }
}

TaskService::Container* TaskService::find(const std::string& id, const Responder& r) {
    auto it = containers_.find(id);
    if (it != containers_.end()) return it->second.get();
    r.error(ttrpc::kNotFound, "container " + id + ": not found");
    return nullptr;
}

TaskService::Process* TaskService::find_process(Container& c, const std::string& exec_id, const Responder& r) {
    if (exec_id.empty()) return &c.init;
    auto it = c.execs.find(exec_id);
    if (it != c.execs.end()) return it->second.get();
    r.error(ttrpc::kNotFound, "process " + exec_id + " in container " + c.id + ": not found");
    return nullptr;
}

void TaskService::enqueue(Container& c, const Responder& r, const char* method, Op op, bool first) {
    if (first)
        c.queue.push_front(Queued{r, method, std::move(op)});
    else
        c.queue.push_back(Queued{r, method, std::move(op)});
    run_next(c.id);
}

void TaskService::run_next(const std::string& id) {
    for (;;) {
        auto it = containers_.find(id);
        if (it == containers_.end()) return;
        Container& c = *it->second;
        if (c.busy || c.queue.empty()) return;
        Queued q = std::move(c.queue.front());
        c.queue.pop_front();
        Step step;
        try {
            step = q.op(c);
        } catch (const Error& e) {
            fail(q.r, q.method, e.what());
            continue;
        }
        if (step.args.empty()) continue;
        c.busy = true;
        calls_.run(c.rc, std::move(step.args), step.io, step.capture,
                   [this, id, r = q.r, method = q.method, then = std::move(step.then)](RunResult& res) {
                       if (auto it = containers_.find(id); it != containers_.end()) {
                           try {
                               then(*it->second, res);
                           } catch (const Error& e) {
                               fail(r, method, e.what());
                           }
                       }
                       if (!calls_.busy()) early_exits_.clear();
                       if (auto it = containers_.find(id); it != containers_.end()) {
                           it->second->busy = false;
                           run_next(id);
                       }
                   });
        return;
    }
}

void TaskService::erase(std::string id) {
    auto it = containers_.find(id);
    if (it == containers_.end()) return;
    std::unique_ptr<Container> gone = std::move(it->second);
    containers_.erase(it);
    for (auto& q : gone->queue) q.r.error(ttrpc::kNotFound, "container " + id + ": not found");
}

TaskService::Step TaskService::launch(Container& c, Process& proc, std::vector<std::string> args,
                                      const std::string& pid_file,
                                      std::function<void(Container&, Process&)> started,
                                      std::function<void(Container&, Process&, const std::string& error)> failed) {
    proc.io = std::make_unique<ProcessIo>(loop_, proc.stdin_path, proc.stdout_path, proc.stderr_path,
                                          proc.terminal, IoOwner{c.id, cfg_.ns, c.io_uid, c.io_gid});
    std::shared_ptr<ConsoleSocket> console;
    args.insert(args.end() - 1, {"--pid-file", pid_file});
    if (proc.terminal) {
        console = std::make_shared<ConsoleSocket>();
        args.insert(args.end() - 1, {"--console-socket", console->path});
    }
    ::unlink(pid_file.c_str());
    proc.launching = true;
    Step step{std::move(args), proc.io->for_runtime(), false, {}};
    // The process stays in its container while launching (Delete refuses it), so &proc holds.
    step.then = [this, &proc, console, pid_file, started = std::move(started), failed = std::move(failed)](
                    Container& c, RunResult& res) {
        proc.launching = false;
        proc.io->release_child_ends();
        try {
            if (res.status != 0) throw Error(res.error);
            std::string pid = read_pid_file(pid_file);
            proc.pid = pid_t(std::atoi(pid.c_str()));
            if (proc.pid <= 0) throw Error(pid_file + ": no pid written by " + c.rc.binary);
            if (console) proc.io->attach_console(console->receive());
        } catch (const Error& e) {
            proc.io.reset();
            failed(c, proc, e.what());
            return;
        }
        started(c, proc);
        claim_early_exit(c, proc);
    };
    return step;
}

void TaskService::create(const v2::CreateTaskRequest& req, const Responder& r) {
    if (req.id().empty()) return r.error(ttrpc::kInvalidArgument, "id: must not be empty");
    if (containers_.count(req.id())) return r.error(ttrpc::kAlreadyExists, "container " + req.id() + ": already exists");
    struct stat st{};
    if (req.bundle().empty() || ::stat((req.bundle() + "/config.json").c_str(), &st) != 0)
        return r.error(ttrpc::kNotFound, "bundle " + req.bundle() + ": no config.json");
    if (!req.checkpoint().empty()) return r.error(ttrpc::kUnimplemented, "checkpoint restore is not supported");

    auto owned = std::make_unique<Container>();
    Container& c = *owned;
    c.id = req.id();
    c.bundle = req.bundle();
    ShimOptions opts = options_from_any(req.options().type_url(), req.options().value(), cfg_.default_binary);
    c.rc = opts.runtime_config(cfg_.ns, c.bundle);
    c.no_pivot = opts.no_pivot_root;
    c.io_uid = opts.io_uid;
    c.io_gid = opts.io_gid;
    save_options(c.bundle, opts);

    std::vector<MountSpec> mounts;
    for (const auto& m : req.rootfs())
        mounts.push_back(MountSpec{m.type(), m.source(), {m.options().begin(), m.options().end()}});
    if (!mounts.empty()) {
        std::string rootfs = c.bundle + "/rootfs";
        ::mkdir(rootfs.c_str(), 0711);
        mount_all(mounts, rootfs);
        c.mounted = true;
    }
    Process& init = c.init;
    init.stdin_path = req.stdin();
    init.stdout_path = req.stdout();
    init.stderr_path = req.stderr();
    init.terminal = req.terminal();
    // In the shim from now on, so a second Create of the id is refused while this one runs.
    containers_[c.id] = std::move(owned);

    auto created = [this, req, r](Container& c, Process& init) {
        init.state = State::Created;
        ev::TaskCreate e;
        e.set_container_id(c.id);
        e.set_bundle(c.bundle);
        for (const auto& m : req.rootfs()) *e.add_rootfs() = m;
        e.mutable_io()->set_stdin(req.stdin());
        e.mutable_io()->set_stdout(req.stdout());
        e.mutable_io()->set_stderr(req.stderr());
        e.mutable_io()->set_terminal(req.terminal());
        e.set_pid(uint32_t(init.pid));
        pub_.publish("/tasks/create", "containerd.events.TaskCreate", e);
        std::string cid = c.id;
        c.oom = std::make_unique<OomWatch>(loop_, init.pid, [this, cid] {
            ev::TaskOOM e;
            e.set_container_id(cid);
            pub_.publish("/tasks/oom", "containerd.events.TaskOOM", e);
        });
        v2::CreateTaskResponse resp;
        resp.set_pid(uint32_t(init.pid));
        r.ok(resp);
    };
    enqueue(c, r, "Create", [this, created, r](Container& c) -> Step {
        std::vector<std::string> args{"create", "--bundle", c.bundle};
        if (c.no_pivot) args.push_back("--no-pivot");
        args.push_back(c.id);
        try {
            return launch(c, c.init, std::move(args), c.bundle + "/init.pid", created,
                          [this, r](Container& c, Process&, const std::string& e) { undo_create(c, r, e); });
        } catch (const Error& e) {  // its stdio or console socket could not be set up
            undo_create(c, r, e.what());
            return {};
        }
    });
}

void TaskService::undo_create(Container& c, const Responder& r, const std::string& error) {
    // A failed create leaves nothing: the runtime deletes what it made, the rootfs is unmounted,
    // and the container leaves the shim before the error is answered.
    enqueue(c, r, "Create", [this, r, error](Container& c) {
        Step step{{"delete", "--force", c.id}, {}, false, {}};
        step.then = [this, r, error](Container& c, RunResult&) {
            if (c.mounted) unmount_all(c.bundle + "/rootfs");
            erase(c.id);
            fail(r, "Create", error);
        };
        return step;
    }, true);
}

void TaskService::exec(const v2::ExecProcessRequest& req, Container& task, const Responder& r) {
    Container* c = &task;
    if (req.exec_id().empty()) return r.error(ttrpc::kInvalidArgument, "exec_id: must not be empty");
    if (c->execs.count(req.exec_id()))
        return r.error(ttrpc::kAlreadyExists, "process " + req.exec_id() + ": already exists");
    if (c->init.state == State::Stopped)
        return r.error(ttrpc::kFailedPrecondition, "container " + c->id + ": not running");
    auto proc = std::make_unique<Process>();
    proc->exec_id = req.exec_id();
    proc->stdin_path = req.stdin();
    proc->stdout_path = req.stdout();
    proc->stderr_path = req.stderr();
    proc->terminal = req.terminal();
    proc->spec = req.spec().value();  // the runtime-spec Process, JSON-encoded by containerd
    c->execs[req.exec_id()] = std::move(proc);
    ev::TaskExecAdded e;
    e.set_container_id(c->id);
    e.set_exec_id(req.exec_id());
    pub_.publish("/tasks/exec-added", "containerd.events.TaskExecAdded", e);
    r.ok_empty();
}

void TaskService::start(const v2::StartRequest& req, Container& task, const Responder& r) {
    enqueue(task, r, "Start", [this, req, r](Container& c) -> Step {
        Process* proc = find_process(c, req.exec_id(), r);
        if (!proc) return {};
        if (proc->state != State::Created || proc->launching || (proc->exec_id.empty() && proc->pid == 0)) {
            r.error(ttrpc::kFailedPrecondition, "process " + (req.exec_id().empty() ? c.id : req.exec_id()) +
                                                    ": cannot start a process that is not created");
            return {};
        }
        if (proc->exec_id.empty()) {
            // An exit while `start` runs waits for it, so TaskExit comes after TaskStart.
            c.init.launching = true;
            Step step{{"start", c.id}, {}, false, {}};
            step.then = [this, r](Container& c, RunResult& res) {
                c.init.launching = false;
                if (res.status == 0) {
                    c.init.state = State::Running;
                    ev::TaskStart e;
                    e.set_container_id(c.id);
                    e.set_pid(uint32_t(c.init.pid));
                    pub_.publish("/tasks/start", "containerd.events.TaskStart", e);
                    v2::StartResponse resp;
                    resp.set_pid(uint32_t(c.init.pid));
                    r.ok(resp);
                } else {
                    fail(r, "Start", res.error);
                }
                claim_early_exit(c, c.init);
            };
            return step;
        }
        std::string spec_file = c.bundle + "/exec-" + proc->exec_id + ".json";
        fs::write_file(spec_file, proc->spec);
        auto started = [this, r, spec_file](Container& c, Process& proc) {
            ::unlink(spec_file.c_str());
            proc.state = State::Running;
            ev::TaskExecStarted e;
            e.set_container_id(c.id);
            e.set_exec_id(proc.exec_id);
            e.set_pid(uint32_t(proc.pid));
            pub_.publish("/tasks/exec-started", "containerd.events.TaskExecStarted", e);
            v2::StartResponse resp;
            resp.set_pid(uint32_t(proc.pid));
            r.ok(resp);
        };
        auto failed = [r, spec_file](Container&, Process& proc, const std::string& error) {
            ::unlink(spec_file.c_str());
            // containerd waits on the exec before starting it and, when Start fails, kills and
            // waits again before it returns the error: the exec must end here, never having run.
            settle(proc, kNeverRan);
            fail(r, "Start", error);
        };
        return launch(c, *proc, {"exec", "--process", spec_file, "--detach", c.id},
                      c.bundle + "/exec-" + proc->exec_id + ".pid", started, failed);
    });
}

void TaskService::state(const v2::StateRequest& req, Container& task, const Responder& r) {
    Container* c = &task;
    Process* proc = find_process(*c, req.exec_id(), r);
    if (!proc) return;
    v2::StateResponse resp;
    resp.set_id(proc->exec_id.empty() ? c->id : proc->exec_id);
    resp.set_exec_id(proc->exec_id);
    resp.set_bundle(c->bundle);
    resp.set_pid(uint32_t(proc->pid));
    static const Status map[] = {Status::CREATED, Status::RUNNING, Status::PAUSED, Status::STOPPED};
    resp.set_status(map[int(proc->state)]);
    if (!proc->exec_id.empty() && c->init.state == State::Paused && proc->state == State::Running)
        resp.set_status(Status::PAUSED);
    resp.set_stdin(proc->stdin_path);
    resp.set_stdout(proc->stdout_path);
    resp.set_stderr(proc->stderr_path);
    resp.set_terminal(proc->terminal);
    resp.set_exit_status(proc->exit_status);
    if (proc->state == State::Stopped) set_time(resp.mutable_exited_at(), proc->exited_at);
    r.ok(resp);
}

void TaskService::wait(const v2::WaitRequest& req, Container& task, const Responder& r) {
    Container* c = &task;
    Process* proc = find_process(*c, req.exec_id(), r);
    if (!proc) return;
    if (proc->state != State::Stopped) {
        proc->waiters.push_back(r);
        return;
    }
    v2::WaitResponse resp;
    resp.set_exit_status(proc->exit_status);
    set_time(resp.mutable_exited_at(), proc->exited_at);
    r.ok(resp);
}

void TaskService::kill(const v2::KillRequest& req, Container& task, const Responder& r) {
    Process* proc = find_process(task, req.exec_id(), r);
    if (!proc) return;
    if (!req.exec_id().empty()) {  // an exec is the shim's own child: signalled directly
        if (proc->state == State::Stopped || proc->pid == 0)
            return r.error(ttrpc::kNotFound, "process " + req.exec_id() + ": already finished");
        if (::kill(proc->pid, int(req.signal())) != 0) throw_errno("kill " + std::to_string(proc->pid));
        return r.ok_empty();
    }
    enqueue(task, r, "Kill", [req, r](Container& c) -> Step {
        if (c.init.state == State::Stopped || c.init.pid == 0) {
            r.error(ttrpc::kNotFound, "process " + c.id + ": already finished");
            return {};
        }
        std::vector<std::string> args{"kill"};
        if (req.all()) args.push_back("--all");
        args.push_back(c.id);
        args.push_back(std::to_string(req.signal()));
        Step step{std::move(args), {}, false, {}};
        step.then = [r](Container&, RunResult& res) {
            if (res.status != 0) throw Error(res.error);
            r.ok_empty();
        };
        return step;
    });
}

void TaskService::remove(const v2::DeleteRequest& req, Container& task, const Responder& r) {
    auto refuse = [r](Container& c, Process& proc) {
        if (proc.state != State::Running && proc.state != State::Paused && !proc.launching) return false;
        r.error(ttrpc::kFailedPrecondition, "process " + (proc.exec_id.empty() ? c.id : proc.exec_id) +
                                                ": cannot delete a running process");
        return true;
    };
    if (!req.exec_id().empty()) {  // an exec leaves the shim's records; nothing to run
        Process* proc = find_process(task, req.exec_id(), r);
        if (!proc || refuse(task, *proc)) return;
        if (proc->state != State::Stopped) settle(*proc, kNeverRan);  // created, never started
        v2::DeleteResponse resp;
        resp.set_pid(uint32_t(proc->pid));
        resp.set_exit_status(proc->exit_status);
        set_time(resp.mutable_exited_at(), proc->exited_at);
        task.execs.erase(req.exec_id());
        return r.ok(resp);
    }
    enqueue(task, r, "Delete", [this, r, refuse](Container& c) -> Step {
        if (refuse(c, c.init)) return {};
        // A created task that the runtime kills here never ran: no TaskExit for it, as before
        // (its exit waits with those of launches, and goes with the container).
        c.init.launching = c.init.state == State::Created;
        Step step{{"delete", "--force", c.id}, {}, false, {}};
        step.then = [this, r](Container& c, RunResult& res) {
            if (res.status != 0) {
                c.init.launching = false;
                claim_early_exit(c, c.init);
                throw Error(res.error);
            }
            if (c.init.state == State::Created) {  // never started: the runtime killed it
                c.init.exit_status = 128 + SIGKILL;
                c.init.exited_at = now();
            }
            if (c.mounted) unmount_all(c.bundle + "/rootfs");
            ::unlink((c.bundle + "/init.pid").c_str());
            v2::DeleteResponse resp;
            resp.set_pid(uint32_t(c.init.pid));
            resp.set_exit_status(c.init.exit_status);
            set_time(resp.mutable_exited_at(), c.init.exited_at);

            ev::TaskDelete e;
            e.set_container_id(c.id);
            e.set_pid(uint32_t(c.init.pid));
            e.set_exit_status(c.init.exit_status);
            set_time(e.mutable_exited_at(), c.init.exited_at);
            e.set_id(c.id);
            pub_.publish("/tasks/delete", "containerd.events.TaskDelete", e);
            for (auto& w : c.init.waiters) {
                v2::WaitResponse wr;
                wr.set_exit_status(c.init.exit_status);
                set_time(wr.mutable_exited_at(), c.init.exited_at);
                w.ok(wr);
            }
            erase(c.id);
            r.ok(resp);
        };
        return step;
    });
}

void TaskService::pids(const v2::PidsRequest&, Container& task, const Responder& r) {
    enqueue(task, r, "Pids", [r](Container& c) {
        Step step{{"ps", "--format", "json", c.id}, {}, true, {}};
        step.then = [r](Container& c, RunResult& res) {
            v2::PidsResponse resp;
            auto j = nlohmann::json::parse(res.output, nullptr, false);
            if (res.status == 0 && j.is_array()) {
                for (const auto& v : j)
                    if (v.is_number_integer()) resp.add_processes()->set_pid(v.get<uint32_t>());
            } else {
                // Without `ps` in the runtime, the processes the shim itself started are the answer.
                if (c.init.pid > 0 && c.init.state != State::Stopped) resp.add_processes()->set_pid(uint32_t(c.init.pid));
                for (const auto& [id, e] : c.execs)
                    if (e->pid > 0 && e->state != State::Stopped) resp.add_processes()->set_pid(uint32_t(e->pid));
            }
            r.ok(resp);
        };
        return step;
    });
}

void TaskService::pause(const v2::PauseRequest&, Container& task, const Responder& r) { set_paused(task, r, true); }

void TaskService::resume(const v2::ResumeRequest&, Container& task, const Responder& r) { set_paused(task, r, false); }

void TaskService::set_paused(Container& task, const Responder& r, bool pause) {
    enqueue(task, r, pause ? "Pause" : "Resume", [this, r, pause](Container& c) -> Step {
        if (c.init.state != (pause ? State::Running : State::Paused)) {
            r.error(ttrpc::kFailedPrecondition, "container " + c.id + (pause ? ": not running" : ": not paused"));
            return {};
        }
        Step step{{pause ? "pause" : "resume", c.id}, {}, false, {}};
        step.then = [this, r, pause](Container& c, RunResult& res) {
            if (res.status != 0) throw Error(res.error);
            // The container may have ended meanwhile: its exit stays.
            if (c.init.state != State::Stopped) c.init.state = pause ? State::Paused : State::Running;
            if (pause) {
                ev::TaskPaused e;
                e.set_container_id(c.id);
                pub_.publish("/tasks/paused", "containerd.events.TaskPaused", e);
            } else {
                ev::TaskResumed e;
                e.set_container_id(c.id);
                pub_.publish("/tasks/resumed", "containerd.events.TaskResumed", e);
            }
            r.ok_empty();
        };
        return step;
    });
}

void TaskService::close_io(const v2::CloseIORequest& req, Container& task, const Responder& r) {
    Container* c = &task;
    Process* proc = find_process(*c, req.exec_id(), r);
    if (!proc) return;
    if (req.stdin() && proc->io) proc->io->close_stdin();
    r.ok_empty();
}

void TaskService::resize_pty(const v2::ResizePtyRequest& req, Container& task, const Responder& r) {
    Container* c = &task;
    Process* proc = find_process(*c, req.exec_id(), r);
    if (!proc) return;
    if (!proc->io || !proc->io->resize(req.width(), req.height()))
        return r.error(ttrpc::kFailedPrecondition, "process has no terminal");
    r.ok_empty();
}

void TaskService::update(const v2::UpdateTaskRequest& req, Container& task, const Responder& r) {
    enqueue(task, r, "Update", [req, r](Container& c) {
        // containerd encodes runtime-spec types (LinuxResources) in an Any as JSON.
        std::string file = c.bundle + "/update-resources.json";
        fs::write_file(file, req.resources().value());
        Step step{{"update", "--resources", file, c.id}, {}, false, {}};
        step.then = [r, file](Container&, RunResult& res) {
            ::unlink(file.c_str());
            if (res.status != 0) throw Error(res.error);
            r.ok_empty();
        };
        return step;
    });
}

void TaskService::stats(const v2::StatsRequest&, Container& task, const Responder& r) {
    Container* c = &task;
    if (c->init.pid <= 0 || c->init.state == State::Stopped)
        return r.error(ttrpc::kFailedPrecondition, "container " + c->id + ": not running");
    std::string text;
    fs::try_read_file("/proc/" + std::to_string(c->init.pid) + "/cgroup", text);
    EncodedMetrics m = collect_metrics(text, "/sys/fs/cgroup");
    v2::StatsResponse resp;
    resp.mutable_stats()->set_type_url(m.type_url);
    resp.mutable_stats()->set_value(m.value);
    r.ok(resp);
}

void TaskService::connect(const v2::ConnectRequest& req, const Responder& r) {
    v2::ConnectResponse resp;
    resp.set_shim_pid(uint32_t(::getpid()));
    if (auto it = containers_.find(req.id()); it != containers_.end())
        resp.set_task_pid(uint32_t(it->second->init.pid));
    r.ok(resp);
}

void TaskService::shutdown(const v2::ShutdownRequest&, const Responder& r) {
    r.ok_empty();
    // A shim shared by a pod's containers stays while any of them is left.
    if (containers_.empty() && cfg_.on_shutdown) loop_.after(std::chrono::milliseconds(0), cfg_.on_shutdown);
}

void TaskService::settle(Process& proc, uint32_t status) {
    proc.state = State::Stopped;
    proc.exit_status = status;
    proc.exited_at = now();
    v2::WaitResponse wr;
    wr.set_exit_status(proc.exit_status);
    set_time(wr.mutable_exited_at(), proc.exited_at);
    for (auto& w : proc.waiters) w.ok(wr);
    proc.waiters.clear();
}

void TaskService::on_exit(pid_t pid, int wait_status) {
    if (calls_.reaped(pid, wait_status)) return;
    for (auto& [id, c] : containers_) {
        std::vector<Process*> procs{&c->init};
        for (auto& [eid, e] : c->execs) procs.push_back(e.get());
        for (Process* proc : procs) {
            if (proc->pid != pid || proc->state == State::Stopped) continue;
            if (proc->launching)
                early_exits_[pid] = wait_status;  // published once its start is
            else
                exited(*c, *proc, pid, wait_status);
            return;
        }
    }
    if (calls_.busy()) early_exits_[pid] = wait_status;
}

void TaskService::claim_early_exit(Container& c, Process& proc) {
    auto it = early_exits_.find(proc.pid);
    if (it == early_exits_.end() || proc.pid <= 0) return;
    int st = it->second;
    early_exits_.erase(it);
    exited(c, proc, proc.pid, st);
}

void TaskService::exited(Container& c, Process& proc, pid_t pid, int wait_status) {
    settle(proc, uint32_t(WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status)));
    ev::TaskExit e;
    e.set_container_id(c.id);
    e.set_id(proc.exec_id.empty() ? c.id : proc.exec_id);
    e.set_pid(uint32_t(pid));
    e.set_exit_status(proc.exit_status);
    set_time(e.mutable_exited_at(), proc.exited_at);
    pub_.publish("/tasks/exit", "containerd.events.TaskExit", e);
}

}  // namespace husk::shim
