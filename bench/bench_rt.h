/*
 * bench_rt.h - the real-time parts of dfuart-bench: child processes on the
 * real binaries (`dfuart`, `dfuart-emu`), a pseudo-terminal first-byte probe,
 * and peak RSS of a child from wait4(). Wall clock only here; the virtual-time
 * part is in bench_update.c.
 *
 * Every child is started by rt_spawn() and reaped by rt_wait()/rt_stop():
 * nothing outlives the benchmark, and only our own children are signalled
 * (by pid).
 */
#ifndef BENCH_RT_H
#define BENCH_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct rt_proc {
    pid_t pid;  /* 0: not running (never started or reaped) */
    int out_fd; /* read end of the child's stdout; -1 at EOF */
    char *out;  /* stdout so far, NUL-terminated */
    size_t out_len, out_cap;
    size_t cursor; /* rt_next_line(): start of the next line not yet returned */
    char line[4096];
    int status;     /* after the exit: exit code, or 128 + signal */
    long maxrss_kb; /* ru_maxrss of the child (wait4), KiB */
    double t_spawn; /* monotonic seconds just before fork() */
    double t_exit;  /* monotonic seconds when it was reaped */
} rt_proc_t;

/* Monotonic clock, seconds. */
double rt_now(void);

/* Start argv[0] (a path); stdin /dev/null, stderr to /dev/null unless keep_stderr. 0 or -1. */
int rt_spawn(rt_proc_t *p, char *const argv[], bool keep_stderr);

/* Next complete stdout line (no '\n') within timeout_ms, else NULL (timeout or EOF). */
const char *rt_next_line(rt_proc_t *p, int timeout_ms);

/* Reap within timeout_ms (reading stdout meanwhile): exit status, or -1 on timeout. */
int rt_wait(rt_proc_t *p, int timeout_ms);

/* SIGTERM, wait up to timeout_ms, then SIGKILL and reap. Returns the status. */
int rt_stop(rt_proc_t *p, int sig, int timeout_ms);

/* Kill (SIGKILL) if still running, reap, free. */
void rt_free(rt_proc_t *p);

/*
 * First-byte probe. Opens a pty pair, spawns argv with "@PORT@" replaced by
 * the slave's path, and timestamps the first byte that appears on the
 * master, relative to just before fork(). The child is then killed (SIGKILL)
 * and reaped. Returns seconds, or a negative value on failure (no byte within
 * timeout_ms, pty or spawn failure).
 */
double rt_first_byte(char *const argv[], int timeout_ms, char *err, size_t err_len);

#endif
