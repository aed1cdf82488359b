/* proc.c - child processes for the end-to-end tests (proc.h). */
#define _POSIX_C_SOURCE 200809L
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define REAP_POLL_MS 5 /* the interval of the bounded wait for an exit without stdout */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(long long deadline)
{
    long long l = deadline - now_ms();
    return l < 0 ? 0 : l > 1000000 ? 1000000 : (int)l;
}

static int set_actions(posix_spawn_file_actions_t *fa, int out_w, const char *err_path)
{
    return posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0) ||
           posix_spawn_file_actions_adddup2(fa, out_w, 1) ||
           posix_spawn_file_actions_addopen(fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
}

int proc_spawn(proc_t *p, char *const argv[])
{
    memset(p, 0, sizeof(*p));
    p->out_fd = -1;
    p->out = calloc(1, 1);
    snprintf(p->err_path, sizeof(p->err_path), "/tmp/dfuart-e2e-stderr-XXXXXX");
    int efd = mkstemp(p->err_path);
    if (efd < 0)
        p->err_path[0] = '\0';
    else
        close(efd);
    int pipefd[2];
    if (!p->out || efd < 0 || pipe(pipefd) != 0)
        return -1;
    /* Not inherited by later children (dup2 clears the flag on the child's fd 1). */
    fcntl(pipefd[0], F_SETFD, FD_CLOEXEC);
    fcntl(pipefd[1], F_SETFD, FD_CLOEXEC);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    int rc = set_actions(&fa, pipefd[1], p->err_path);
    if (rc == 0)
        rc = posix_spawn(&p->pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (rc != 0) {
        p->pid = 0;
        close(pipefd[0]);
        return -1;
    }
    p->out_fd = pipefd[0];
    fcntl(p->out_fd, F_SETFL, fcntl(p->out_fd, F_GETFL) | O_NONBLOCK);
    return 0;
}

/* Append what stdout has now; wait up to timeout_ms for the first byte. */
static void pump(proc_t *p, int timeout_ms)
{
    if (p->out_fd < 0)
        return;
    struct pollfd pf = {p->out_fd, POLLIN, 0};
    if (poll(&pf, 1, timeout_ms) <= 0)
        return;
    char buf[4096];
    ssize_t n;
    while ((n = read(p->out_fd, buf, sizeof(buf))) > 0) {
        char *bigger = realloc(p->out, p->out_len + (size_t)n + 1);
        if (!bigger)
            return;
        p->out = bigger;
        memcpy(p->out + p->out_len, buf, (size_t)n);
        p->out_len += (size_t)n;
        p->out[p->out_len] = '\0';
    }
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        close(p->out_fd);
        p->out_fd = -1;
    }
}

bool proc_wait_for(proc_t *p, const char *needle, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    while (!strstr(p->out, needle)) {
        if (p->out_fd < 0 || now_ms() >= deadline)
            return false;
        pump(p, left_ms(deadline));
    }
    return true;
}

const char *proc_next_line(proc_t *p, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    char *nl;
    while (!(nl = strchr(p->out + p->cursor, '\n'))) {
        if (p->out_fd < 0 || now_ms() >= deadline)
            return NULL;
        pump(p, left_ms(deadline));
    }
    size_t len = (size_t)(nl - (p->out + p->cursor));
    char *line = realloc(p->line, len + 1);
    if (!line)
        return NULL;
    memcpy(line, p->out + p->cursor, len);
    line[len] = '\0';
    p->line = line;
    p->cursor += len + 1;
    return line;
}

static bool reap(proc_t *p, int options)
{
    if (p->pid <= 0)
        return true;
    int st;
    pid_t r = waitpid(p->pid, &st, options);
    if (r != p->pid)
        return false;
    p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    p->exited = true;
    p->pid = 0;
    return true;
}

int proc_wait(proc_t *p, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    while (!reap(p, WNOHANG)) {
        if (now_ms() >= deadline)
            return -1;
        /* stdout open: its EOF wakes us; closed: a short bounded poll for the exit */
        pump(p, p->out_fd >= 0 ? left_ms(deadline) : 0);
        if (p->out_fd < 0)
            poll(NULL, 0, REAP_POLL_MS);
    }
    while (p->out_fd >= 0) /* whatever the child wrote before it exited */
        pump(p, 0);
    return p->exited ? p->status : -1;
}

void proc_kill(proc_t *p, int sig)
{
    if (p->pid > 0)
        kill(p->pid, sig);
}

char *proc_stderr(const proc_t *p)
{
    FILE *f = p->err_path[0] ? fopen(p->err_path, "r") : NULL;
    char *s = calloc(1, 65536);
    if (f && s)
        s[fread(s, 1, 65535, f)] = '\0';
    if (f)
        fclose(f);
    return s;
}

void proc_free(proc_t *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        reap(p, 0);
    }
    if (p->out && p->out_fd >= 0) /* p->out: spawned (a zeroed proc_t has fd 0 here) */
        close(p->out_fd);
    if (p->err_path[0])
        unlink(p->err_path);
    free(p->out);
    free(p->line);
    memset(p, 0, sizeof(*p));
    p->out_fd = -1;
}

int proc_run(proc_t *p, char *const argv[], int timeout_ms)
{
    if (proc_spawn(p, argv) != 0)
        return -1;
    return proc_wait(p, timeout_ms);
}
