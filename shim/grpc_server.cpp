#include "grpc_server.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/server_posix.h>
#include <grpcpp/support/byte_buffer.h>

#include "common/error.hpp"
#include "ttrpc_frame.hpp"

namespace husk::shim {

// The answer may come from the loop (the Task service) or from gRPC (the call was cancelled):
// whoever flips `finished` first answers, and only then may the reactor be deleted.
struct GrpcServer::CallState {
    std::atomic<bool> finished{false};
    Reactor* reactor = nullptr;
};

// One call: reads the single request, posts it to the loop, and writes the answer it is given.
class GrpcServer::Reactor final : public grpc::ServerGenericBidiReactor {
public:
    Reactor(GrpcServer* server, std::string method)
        : server_(server), method_(std::move(method)), state_(std::make_shared<CallState>()) {
        state_->reactor = this;
        StartRead(&request_);
    }

    // code 0 writes payload as the answer; any other code ends the call with that status.
    static void finish(const std::shared_ptr<CallState>& st, int code, const std::string& message,
                       const std::string& payload) {
        if (st->finished.exchange(true)) return;
        Reactor* r = st->reactor;
        if (code != 0) {
            r->Finish(grpc::Status(grpc::StatusCode(code), message));
            return;
        }
        grpc::Slice slice(payload);
        r->response_ = grpc::ByteBuffer(&slice, 1);
        r->StartWriteAndFinish(&r->response_, grpc::WriteOptions(), grpc::Status::OK);
    }

    void OnReadDone(bool ok) override {
        if (!ok) return finish(state_, ttrpc::kCanceled, "no request message", {});
        std::vector<grpc::Slice> slices;
        std::string payload;
        if (request_.Dump(&slices).ok())
            for (const auto& s : slices) payload.append(reinterpret_cast<const char*>(s.begin()), s.size());
        server_->post([server = server_, st = state_, m = method_, p = std::move(payload)]() mutable {
            server->arrived(std::move(st), m, std::move(p));
        });
    }
    // The client gave up (or the server is stopping): a pending Wait need not hold the call.
    void OnCancel() override { finish(state_, ttrpc::kCanceled, "call cancelled", {}); }
    void OnDone() override { delete this; }

private:
    GrpcServer* server_;
    std::string method_;
    std::shared_ptr<CallState> state_;
    grpc::ByteBuffer request_, response_;
};

class GrpcServer::Service final : public grpc::CallbackGenericService {
public:
    explicit Service(GrpcServer* server) : server_(server) {}
    grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
        return new Reactor(server_, ctx->method());
    }

private:
    GrpcServer* server_;
};

GrpcServer::GrpcServer(EventLoop& loop, Dispatch dispatch, UniqueFd listener)
    : loop_(loop), dispatch_(std::move(dispatch)), listen_(std::move(listener)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), service_(std::make_unique<Service>(this)) {
    if (!wake_) throw_errno("eventfd");
    loop_.add(wake_.get(), EPOLLIN, [this](uint32_t) { drain(); });

    grpc::ServerBuilder builder;
    builder.RegisterCallbackGenericService(service_.get());
    server_ = builder.BuildAndStart();
    if (!server_) throw Error("gRPC server did not start");

    int fl = ::fcntl(listen_.get(), F_GETFL);
    ::fcntl(listen_.get(), F_SETFL, fl | O_NONBLOCK);
    loop_.add(listen_.get(), EPOLLIN, [this](uint32_t) {
        for (;;) {
            int c = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (c < 0) return;
            grpc::AddInsecureChannelFromFd(server_.get(), c);  // gRPC owns and closes c
        }
    });
}

GrpcServer::~GrpcServer() {
    loop_.remove(listen_.get());
    loop_.remove(wake_.get());
    // Answers already handed to gRPC (Shutdown's among them) are written before the deadline;
    // calls still unanswered are cancelled.
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_->Wait();
}

void GrpcServer::post(std::function<void()> fn) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        inbox_.push_back(std::move(fn));
    }
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
}

void GrpcServer::drain() {
    uint64_t n;
    (void)!::read(wake_.get(), &n, sizeof n);
    std::vector<std::function<void()>> work;
    {
        std::lock_guard<std::mutex> lock(mu_);
        work.swap(inbox_);
    }
    for (auto& fn : work) fn();
}

void GrpcServer::arrived(std::shared_ptr<CallState> call, const std::string& method, std::string payload) {
    uint64_t id = next_call_++;
    calls_[id] = call;
    // "/containerd.task.v3.Task/Create" -> service, method
    auto slash = method.find('/', 1);
    std::string service = slash == std::string::npos ? "" : method.substr(1, slash - 1);
    std::string name = slash == std::string::npos ? method : method.substr(slash + 1);
    Responder r(this, id, 0);
    if (service != "containerd.task.v3.Task") {
        r.error(ttrpc::kUnimplemented, "service " + service + ": not implemented");
        return;
    }
    dispatch_(Call{service, name, std::move(payload)}, r);
}

void GrpcServer::send(uint64_t call, uint32_t, int code, const std::string& message, const std::string& payload) {
    auto it = calls_.find(call);
    if (it == calls_.end()) return;
    std::shared_ptr<CallState> st = std::move(it->second);
    calls_.erase(it);
    Reactor::finish(st, code, message, payload);
}

}  // namespace husk::shim
