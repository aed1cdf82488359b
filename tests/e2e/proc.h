/*
 * proc.h - child processes for the end-to-end tests: spawn with stdout on a
 * pipe (read as it comes, line by line) and stderr in a file, wait for a
 * line or for the exit with a bounded poll loop, kill, reap.
 *
 * Test-only code. A proc_t is a plain value; proc_free() kills (SIGKILL) a
 * child that still runs, reaps it and frees everything, so a teardown that
 * calls it never leaves a process behind, whatever the test did.
 */
#ifndef TESTS_E2E_PROC_H
#define TESTS_E2E_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct proc {
    pid_t pid;      /* 0: never started or reaped */
    int out_fd;     /* read end of the child's stdout, -1 at EOF */
    char *out;      /* everything read from stdout so far, NUL-terminated */
    size_t out_len; /* bytes in out */
    size_t cursor;  /* proc_next_line(): start of the next line not yet returned */
    char *line;     /* proc_next_line()'s copy of the line it returns */
    int status;     /* after the exit: exit code, or 128 + signal number */
    bool exited;
    char err_path[96]; /* the child's stderr, a file in /tmp */
} proc_t;

/* Start argv[0] (a path) with argv; stdin /dev/null. 0, or -1 (proc_free still safe). */
int proc_spawn(proc_t *p, char *const argv[]);

/*
 * Wait at most timeout_ms for stdout to contain `needle` (from the start).
 * true if it does; false on timeout or when the child closed stdout first.
 */
bool proc_wait_for(proc_t *p, const char *needle, int timeout_ms);

/*
 * The next complete line of stdout (without '\n'), waiting at most
 * timeout_ms; NULL on timeout or EOF. The pointer is valid until the next
 * call on p.
 */
const char *proc_next_line(proc_t *p, int timeout_ms);

/* Reap within timeout_ms, reading stdout meanwhile. The exit status, or -1 on timeout. */
int proc_wait(proc_t *p, int timeout_ms);

/* Send `sig` if the child still runs. */
void proc_kill(proc_t *p, int sig);

/* The child's stderr so far (heap, NUL-terminated; caller frees). */
char *proc_stderr(const proc_t *p);

/* Kill (SIGKILL) if still running, reap, close, free, remove the stderr file. */
void proc_free(proc_t *p);

/* Spawn, wait (timeout_ms), and keep the result in p: one call for short commands. */
int proc_run(proc_t *p, char *const argv[], int timeout_ms);

#endif
