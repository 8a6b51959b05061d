/* The node's pod sandbox process: holds a pod's namespaces, reaps orphans, exits on SIGINT or SIGTERM.
 * Built static with the machine's C compiler into a one-file image (support.node.images); no registry serves one here. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) { _exit(sig == SIGTERM || sig == SIGINT ? 0 : 1); }

static void reap(int sig) {
    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

int main(void) {
    struct sigaction exit_on = {.sa_handler = stop}, reap_on = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP};
    if (getpid() != 1) {
        return 1; /* only meaningful as a pod's first process */
    }
    sigaction(SIGINT, &exit_on, NULL);
    sigaction(SIGTERM, &exit_on, NULL);
    sigaction(SIGCHLD, &reap_on, NULL);
    for (;;) {
        pause();
    }
}
