// The pod sandbox's process in the CRI tests' pause image: sleeps until SIGINT or SIGTERM and
// reaps whatever is re-parented to it (containers sharing the pod's PID namespace), as
// Kubernetes' pause does. Built static by cri_env.py, so the image needs no libc.
#include <csignal>
#include <sys/wait.h>

int main() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig != SIGCHLD) return 0;
        while (waitpid(-1, nullptr, WNOHANG) > 0) {
        }
    }
}
