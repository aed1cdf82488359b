#define _POSIX_C_SOURCE 200809L
#include "run.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *slurp(int fd)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while (buf && (n = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len < 2) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    if (buf)
        buf[len] = '\0';
    return buf;
}

int run_cmd(const char *cmd, run_result_t *r)
{
    char errpath[] = "/tmp/dfuart-test-stderr-XXXXXX";
    int errfd = mkstemp(errpath);
    memset(r, 0, sizeof(*r));
    if (errfd < 0)
        return -1;
    size_t len = strlen(cmd) + strlen(errpath) + 16;
    char *full = malloc(len);
    snprintf(full, len, "%s 2>%s", cmd, errpath);
    FILE *p = popen(full, "r");
    free(full);
    if (!p) {
        close(errfd);
        unlink(errpath);
        return -1;
    }
    r->out = slurp(fileno(p));
    int st = pclose(p);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r->err = slurp(errfd);
    close(errfd);
    unlink(errpath);
    return r->out && r->err ? 0 : -1;
}

void run_free(run_result_t *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

size_t run_count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

int run_one_line_like(const char *err, const char *shape)
{
    size_t len = err ? strlen(err) : 0;
    if (run_count_lines(err ? err : "") != 1 || len == 0 || err[len - 1] != '\n')
        return 0;
    char *line = strndup(err, len - 1);
    int ok = line && fnmatch(shape, line, 0) == 0;
    free(line);
    return ok;
}
