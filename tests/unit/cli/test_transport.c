/*
 * Transport backends on a real pseudo-terminal pair (openpty): the termios
 * backend opens the slave by path, puts it in raw 8N1 at the asked speed,
 * carries every byte value both ways, honours read timeouts and reports a
 * hang-up; transport_open() falls back to it when libserialport refuses a
 * pty, and names the path when nothing can open it.
 */
#define _DEFAULT_SOURCE /* openpty, cfgetospeed constants */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include "cli/transport.h"

typedef struct {
    int master, slave;
    char name[128];
    transport_t t;
} pty_fx_t;

static int setup(void **state)
{
    static pty_fx_t fx;
    memset(&fx, 0, sizeof(fx));
    if (openpty(&fx.master, &fx.slave, fx.name, NULL, NULL) != 0)
        return -1;
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    pty_fx_t *fx = *state;
    transport_close(&fx->t);
    if (fx->master >= 0)
        close(fx->master);
    close(fx->slave);
    return 0;
}

static transport_err_t open_as(pty_fx_t *fx, transport_backend_t b, uint32_t baud)
{
    transport_config_t cfg = {fx->name, baud, TRANSPORT_FLOW_NONE, b};
    return transport_open(&cfg, &fx->t);
}

/* Read exactly n bytes from fd within a generous bound (fails the test otherwise). */
static void read_fd_exactly(int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd p = {fd, POLLIN, 0};
        assert_int_equal(poll(&p, 1, 5000), 1);
        ssize_t r = read(fd, buf + got, n - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
}

static void read_transport_exactly(transport_t *t, uint8_t *buf, size_t n)
{
    size_t got = 0;
    for (int tries = 0; got < n && tries < 1000; tries++) {
        int r = transport_read(t, buf + got, n - got, 1000);
        assert_true(r >= 0);
        got += (size_t)r;
    }
    assert_int_equal(got, n);
}

static void fill_all_values(uint8_t *buf, size_t n)
{
    /* Every byte value, including the ones a cooked tty would eat: 0x00, 0x03, 0x0d, 0x11,
     * 0x13, 0x7f. */
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(i * 7u + 3u);
}

static void test_transport_tty_opens_pty_by_path_in_raw_mode(void **state)
{
    pty_fx_t *fx = *state;
    assert_int_equal(open_as(fx, TRANSPORT_BACKEND_TTY, 115200), TRANSPORT_OK);
    assert_int_equal(fx->t.backend, TRANSPORT_BACKEND_TTY);
    assert_string_equal(fx->t.path, fx->name);
    struct termios tio;
    assert_int_equal(tcgetattr(fx->slave, &tio), 0);
    assert_int_equal(tio.c_lflag & (ICANON | ECHO | ISIG), 0);
    assert_int_equal(tio.c_oflag & OPOST, 0);
    assert_int_equal(tio.c_iflag & (ICRNL | IXON), 0);
    assert_int_equal(tio.c_cflag & CSIZE, CS8);
    assert_int_equal(tio.c_cflag & (PARENB | CSTOPB), 0);
    assert_int_equal(cfgetospeed(&tio), B115200);
}

static void round_trip_at(pty_fx_t *fx, uint32_t baud, speed_t code)
{
    uint8_t out[1024], in[1024];
    assert_int_equal(open_as(fx, TRANSPORT_BACKEND_TTY, baud), TRANSPORT_OK);
    struct termios tio;
    assert_int_equal(tcgetattr(fx->slave, &tio), 0);
    assert_int_equal(cfgetospeed(&tio), code);

    fill_all_values(out, sizeof(out));
    assert_int_equal(transport_write(&fx->t, out, sizeof(out)), TRANSPORT_OK);
    assert_int_equal(transport_drain(&fx->t), TRANSPORT_OK);
    read_fd_exactly(fx->master, in, sizeof(in));
    assert_memory_equal(in, out, sizeof(out));

    memset(in, 0, sizeof(in));
    assert_int_equal(write(fx->master, out, sizeof(out)), (ssize_t)sizeof(out));
    read_transport_exactly(&fx->t, in, sizeof(in));
    assert_memory_equal(in, out, sizeof(out));
}

static void test_transport_tty_round_trips_every_byte_at_115200(void **state)
{
    round_trip_at(*state, 115200, B115200);
}

static void test_transport_tty_round_trips_every_byte_at_1000000(void **state)
{
    round_trip_at(*state, 1000000, B1000000);
}

static void test_transport_tty_read_timeout_returns_no_data(void **state)
{
    pty_fx_t *fx = *state;
    uint8_t buf[16];
    assert_int_equal(open_as(fx, TRANSPORT_BACKEND_TTY, 115200), TRANSPORT_OK);
    assert_int_equal(transport_read(&fx->t, buf, sizeof(buf), 30), 0);
    assert_int_equal(transport_read(&fx->t, buf, sizeof(buf), 0), 0);
}

static void test_transport_tty_read_reports_hangup(void **state)
{
    pty_fx_t *fx = *state;
    uint8_t buf[16];
    assert_int_equal(open_as(fx, TRANSPORT_BACKEND_TTY, 115200), TRANSPORT_OK);
    close(fx->master);
    fx->master = -1;
    int r = transport_read(&fx->t, buf, sizeof(buf), 1000);
    assert_int_equal(r, TRANSPORT_ERR_IO);
    assert_non_null(strstr(fx->t.err, fx->name));
}

static void test_transport_tty_rejects_a_speed_termios_lacks(void **state)
{
    pty_fx_t *fx = *state;
    assert_int_equal(open_as(fx, TRANSPORT_BACKEND_TTY, 123457), TRANSPORT_ERR_CONFIG);
    assert_non_null(strstr(fx->t.err, fx->name));
    assert_null(fx->t.read); /* nothing left open */
}

static void test_transport_tty_refuses_a_file_that_is_not_a_terminal(void **state)
{
    (void)state;
    transport_t t;
    transport_config_t cfg = {"/dev/null", 115200, TRANSPORT_FLOW_NONE, TRANSPORT_BACKEND_TTY};
    assert_int_equal(transport_open(&cfg, &t), TRANSPORT_ERR_CONFIG);
    assert_non_null(strstr(t.err, "/dev/null"));
}

static void test_transport_serialport_refuses_a_pty(void **state)
{
    pty_fx_t *fx = *state;
    transport_config_t cfg = {fx->name, 115200, TRANSPORT_FLOW_NONE, TRANSPORT_BACKEND_SERIALPORT};
    assert_int_equal(transport_open(&cfg, &fx->t), TRANSPORT_ERR_NOT_FOUND);
    assert_non_null(strstr(fx->t.err, fx->name));
}

static void test_transport_open_falls_back_to_tty_for_a_pty(void **state)
{
    pty_fx_t *fx = *state;
    uint8_t b = 0x5a, got = 0;
    assert_int_equal(open_as(fx, TRANSPORT_BACKEND_AUTO, 115200), TRANSPORT_OK);
    assert_int_equal(fx->t.backend, TRANSPORT_BACKEND_TTY);
    assert_string_equal(transport_backend_name(fx->t.backend), "tty");
    assert_int_equal(transport_write(&fx->t, &b, 1), TRANSPORT_OK);
    read_fd_exactly(fx->master, &got, 1);
    assert_int_equal(got, 0x5a);
}

static void test_transport_open_of_a_missing_path_names_it(void **state)
{
    (void)state;
    const char *path = "/dev/dfuart-no-such-port";
    transport_t t;
    transport_config_t cfg = {path, 115200, TRANSPORT_FLOW_NONE, TRANSPORT_BACKEND_AUTO};
    assert_int_equal(transport_open(&cfg, &t), TRANSPORT_ERR_NOT_FOUND);
    assert_non_null(strstr(t.err, path));
    assert_null(t.read);
    transport_close(&t); /* harmless on a failed open */
}

static void test_transport_open_rejects_bad_arguments(void **state)
{
    (void)state;
    transport_t t;
    transport_config_t cfg = {"", 115200, TRANSPORT_FLOW_NONE, TRANSPORT_BACKEND_AUTO};
    assert_int_equal(transport_open(&cfg, &t), TRANSPORT_ERR_ARG);
    cfg = (transport_config_t){"/dev/null", 115200, (transport_flow_t)7, TRANSPORT_BACKEND_AUTO};
    assert_int_equal(transport_open(&cfg, &t), TRANSPORT_ERR_ARG);
    assert_int_equal(transport_open(NULL, &t), TRANSPORT_ERR_ARG);
    assert_int_equal(transport_read(NULL, NULL, 0, 0), TRANSPORT_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_transport_tty_opens_pty_by_path_in_raw_mode, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_transport_tty_round_trips_every_byte_at_115200, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_transport_tty_round_trips_every_byte_at_1000000, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_transport_tty_read_timeout_returns_no_data, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_transport_tty_read_reports_hangup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transport_tty_rejects_a_speed_termios_lacks, setup,
                                        teardown),
        cmocka_unit_test(test_transport_tty_refuses_a_file_that_is_not_a_terminal),
        cmocka_unit_test_setup_teardown(test_transport_serialport_refuses_a_pty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transport_open_falls_back_to_tty_for_a_pty, setup,
                                        teardown),
        cmocka_unit_test(test_transport_open_of_a_missing_path_names_it),
        cmocka_unit_test(test_transport_open_rejects_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
