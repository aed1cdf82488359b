/*
 * bench_rt.c - child processes, the pty first-byte probe and wait4() RSS for
 * dfuart-bench (bench_rt.h).
 */
#define _GNU_SOURCE /* wait4, posix_openpt/ptsname, cfmakeraw */
#include "bench_rt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

double rt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

int rt_spawn(rt_proc_t *p, char *const argv[], bool keep_stderr)
{
    memset(p, 0, sizeof(*p));
    p->out_fd = -1;
    p->status = -1;
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    set_cloexec(fds[0]);
    fflush(NULL);
    p->t_spawn = rt_now();
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            if (!keep_stderr)
                dup2(devnull, STDERR_FILENO);
        }
        dup2(fds[1], STDOUT_FILENO);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    p->pid = pid;
    p->out_fd = fds[0];
    (void)fcntl(p->out_fd, F_SETFL, fcntl(p->out_fd, F_GETFL) | O_NONBLOCK);
    p->out_cap = 4096;
    p->out = calloc(1, p->out_cap);
    return p->out ? 0 : -1;
}

/* Read what stdout has now; false at EOF. */
static bool pump(rt_proc_t *p)
{
    if (p->out_fd < 0)
        return false;
    for (;;) {
        if (p->out_cap - p->out_len < 2048) {
            size_t cap = p->out_cap * 2;
            char *o = realloc(p->out, cap);
            if (!o)
                return false;
            p->out = o;
            p->out_cap = cap;
        }
        ssize_t n = read(p->out_fd, p->out + p->out_len, p->out_cap - p->out_len - 1);
        if (n > 0) {
            p->out_len += (size_t)n;
            p->out[p->out_len] = '\0';
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return true;
        close(p->out_fd);
        p->out_fd = -1;
        return false;
    }
}

static int wait_readable(int fd, int timeout_ms)
{
    if (fd < 0)
        return 0;
    struct pollfd pf = {fd, POLLIN, 0};
    return poll(&pf, 1, timeout_ms);
}

const char *rt_next_line(rt_proc_t *p, int timeout_ms)
{
    double end = rt_now() + timeout_ms / 1e3;
    for (;;) {
        char *start = p->out ? p->out + p->cursor : NULL;
        char *nl = start ? strchr(start, '\n') : NULL;
        if (nl) {
            size_t n = (size_t)(nl - start);
            if (n >= sizeof(p->line))
                n = sizeof(p->line) - 1;
            memcpy(p->line, start, n);
            p->line[n] = '\0';
            p->cursor = (size_t)(nl - p->out) + 1;
            return p->line;
        }
        double left = end - rt_now();
        if (left <= 0 || p->out_fd < 0)
            return NULL;
        wait_readable(p->out_fd, (int)(left * 1e3) + 1);
        pump(p);
    }
}

static bool reap(rt_proc_t *p, int flags)
{
    if (!p->pid)
        return true;
    int st = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof(ru));
    pid_t r = wait4(p->pid, &st, flags, &ru);
    if (r != p->pid)
        return false;
    p->t_exit = rt_now();
    p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    p->maxrss_kb = ru.ru_maxrss;
    p->pid = 0;
    return true;
}

int rt_wait(rt_proc_t *p, int timeout_ms)
{
    double end = rt_now() + timeout_ms / 1e3;
    for (;;) {
        pump(p);
        if (reap(p, WNOHANG)) {
            pump(p);
            return p->status;
        }
        double left = end - rt_now();
        if (left <= 0)
            return -1;
        if (p->out_fd >= 0)
            wait_readable(p->out_fd, left > 0.02 ? 20 : 1);
        else
            usleep(2000);
    }
}

int rt_stop(rt_proc_t *p, int sig, int timeout_ms)
{
    if (p->pid)
        kill(p->pid, sig);
    int st = rt_wait(p, timeout_ms);
    if (st < 0 && p->pid) {
        kill(p->pid, SIGKILL);
        reap(p, 0);
        pump(p);
        st = p->status;
    }
    return st;
}

void rt_free(rt_proc_t *p)
{
    if (p->pid) {
        kill(p->pid, SIGKILL);
        reap(p, 0);
    }
    if (p->out_fd >= 0)
        close(p->out_fd);
    p->out_fd = -1;
    free(p->out);
    p->out = NULL;
}

/* ---- the first-byte probe --------------------------------------------------------------- */

double rt_first_byte(char *const argv[], int timeout_ms, char *err, size_t err_len)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) {
        snprintf(err, err_len, "pty: %s", strerror(errno));
        if (m >= 0)
            close(m);
        return -1;
    }
    set_cloexec(m);
    char slave[128];
    snprintf(slave, sizeof(slave), "%s", ptsname(m));
    /* Keep the slave open here, raw, so the master never sees a hang-up between hosts. */
    int s = open(slave, O_RDWR | O_NOCTTY);
    if (s < 0) {
        snprintf(err, err_len, "%s: %s", slave, strerror(errno));
        close(m);
        return -1;
    }
    set_cloexec(s);
    struct termios tio;
    if (tcgetattr(s, &tio) == 0) {
        cfmakeraw(&tio);
        tcsetattr(s, TCSANOW, &tio);
    }
    char *av[32];
    size_t n = 0;
    for (; argv[n] && n < 31; n++)
        av[n] = strcmp(argv[n], "@PORT@") == 0 ? slave : argv[n];
    av[n] = NULL;

    double t = -1;
    fflush(NULL);
    double t0 = rt_now(); /* just before the spawn */
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDOUT_FILENO);
            dup2(devnull, STDERR_FILENO);
        }
        execv(av[0], av);
        _exit(127);
    }
    if (pid < 0) {
        snprintf(err, err_len, "fork: %s", strerror(errno));
    } else {
        struct pollfd pf = {m, POLLIN, 0};
        int r = poll(&pf, 1, timeout_ms);
        double t1 = rt_now();
        uint8_t b[64];
        if (r == 1 && (pf.revents & POLLIN) && read(m, b, sizeof(b)) > 0)
            t = t1 - t0;
        else
            snprintf(err, err_len, "no byte on the pty within %d ms", timeout_ms);
        kill(pid, SIGKILL);
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
    }
    close(s);
    close(m);
    return t;
}
