/* See LICENSE file for copyright and license details.
 *
 * tests/escape/probe.c: one attack per subcommand, for the attacks that
 * a shell cannot express.  Run inside `vtcode sandbox` by tests.sh.
 * Exits 0 when the attack worked (an escape, or a positive control that
 * passed), 1 when the kernel refused it; a seccomp kill shows as the
 * signal.  Not part of vtcode: it is built by tests.sh with plain cc.
 *
 * `probe nouserns CMD ARGS...` is no attack: it runs CMD where no user
 * namespace can be made (unshare and clone with CLONE_NEWUSER fail with
 * EPERM, as where an administrator turned them off), for the tests of
 * vtcode without one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sched.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static int
worked(long rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "probe: %s: %s\n", what, strerror(errno));
		return 1;
	}
	printf("probe: %s: worked\n", what);
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *a = argc > 1 ? argv[1] : "";
	struct sockaddr_in in;
	struct sockaddr_un un;
	struct io_uring_params p;
	char path[64], buf[64];
	int fd;

	if (strcmp(a, "nouserns") == 0 && argc > 2) {
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			    offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 1, 0),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 3),
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			    offsetof(struct seccomp_data, args[0])),
			BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

		if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
			perror("probe: nouserns");
			return 2;
		}
		execv(argv[2], argv + 2);
		perror(argv[2]);
		return 127;
	}
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	in.sin_port = htons(argc > 2 ? atoi(argv[2]) : 9);
	if (strcmp(a, "socket-inet-hibits") == 0)
		return worked(syscall(SYS_socket, (long)AF_INET | (1L << 32),
		    SOCK_STREAM, 0), a);
	if (strcmp(a, "socket-inet") == 0)
		return worked(socket(AF_INET, SOCK_STREAM, 0), a);
	if (strcmp(a, "socket-unix") == 0)
		return worked(socket(AF_UNIX, SOCK_STREAM, 0), a);
	if (strcmp(a, "udp") == 0) {
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			return worked(fd, a);
		return worked(sendto(fd, "x", 1, 0, (struct sockaddr *)&in,
		    sizeof(in)), a);
	}
	if (strcmp(a, "tcp") == 0) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return worked(fd, a);
		return worked(connect(fd, (struct sockaddr *)&in, sizeof(in)), a);
	}
	if (strcmp(a, "abstract") == 0 && argc > 2) {
		memset(&un, 0, sizeof(un));
		un.sun_family = AF_UNIX;
		strncpy(un.sun_path + 1, argv[2], sizeof(un.sun_path) - 2);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0)
			return worked(fd, a);
		return worked(connect(fd, (struct sockaddr *)&un,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
		    strlen(argv[2]))), a);
	}
	if (strcmp(a, "x32") == 0)
		return worked(syscall(0x40000000L | SYS_getpid), a);
	if (strcmp(a, "iouring") == 0) {
		memset(&p, 0, sizeof(p));
		return worked(syscall(SYS_io_uring_setup, 1, &p), a);
	}
	if (strcmp(a, "killparent") == 0)
		return worked(kill(getppid(), SIGURG), a);
	/* limits, CPUs, scheduling, priorities of the parent (vtcode):
	 * each sets what is there already, so an escape harms nothing;
	 * "-self" is the same call on the prober itself, the control */
	if (strncmp(a, "prlimit-", 8) == 0) {
		struct rlimit rl;
		long pid = strcmp(a + 8, "self") == 0 ? 0 : getppid();

		if (strcmp(a + 8, "hibits") == 0)
			pid |= 1L << 32;        /* the kernel reads 32 bits */
		if (prlimit((pid_t)(pid & 0xFFFFFFFF), RLIMIT_CORE, NULL, &rl)
		    != 0)
			return worked(-1, a);
		return worked(syscall(SYS_prlimit64, pid, RLIMIT_CORE, &rl,
		    NULL), a);
	}
	if (strncmp(a, "affinity-", 9) == 0) {
		cpu_set_t cs;
		pid_t pid = strcmp(a + 9, "self") == 0 ? 0 : getppid();

		if (sched_getaffinity(pid, sizeof(cs), &cs) != 0)
			return worked(-1, a);
		return worked(sched_setaffinity(pid, sizeof(cs), &cs), a);
	}
	if (strncmp(a, "sched-", 6) == 0) {
		struct sched_param sp;
		pid_t pid = strcmp(a + 6, "self") == 0 ? 0 : getppid();

		memset(&sp, 0, sizeof(sp));
		return worked(sched_setscheduler(pid, sched_getscheduler(pid),
		    &sp), a);
	}
	if (strncmp(a, "nice-", 5) == 0) {
		int which = strcmp(a + 5, "group") == 0 ? PRIO_PGRP :
		    PRIO_PROCESS, who = strcmp(a + 5, "parent") == 0 ?
		    (int)getppid() : 0, prio;

		errno = 0;
		prio = getpriority(which, who);
		if (errno != 0)
			return worked(-1, a);
		return worked(setpriority(which, who, prio), a);
	}
	if (strncmp(a, "ioprio-", 7) == 0) {
		long pid = strcmp(a + 7, "self") == 0 ? 0 : getppid(), io;

		if ((io = syscall(SYS_ioprio_get, 1, pid)) < 0)
			return worked(-1, a);
		return worked(syscall(SYS_ioprio_set, 1, pid, io), a);
	}
	/* signal 0: the permission check alone, nothing is sent */
	if (strcmp(a, "killall") == 0)
		return worked(kill(-1, 0), a);
	if (strcmp(a, "killall-hibits") == 0)
		return worked(syscall(SYS_kill, ((long)-1 & 0xFFFFFFFFL) |
		    (1L << 32), 0), a);
	if (strcmp(a, "killself") == 0)
		return worked(kill(getpid(), 0), a);
	if (strcmp(a, "ppid-environ") == 0 || strcmp(a, "ppid-mem") == 0) {
		snprintf(path, sizeof(path), "/proc/%ld/%s", (long)getppid(),
		    a + 5);
		if ((fd = open(path, O_RDONLY)) < 0)
			return worked(fd, a);
		return worked(read(fd, buf, sizeof(buf)) > 0 ? 0 : -1, a);
	}
	if (strcmp(a, "ptrace") == 0)
		return worked(ptrace(PTRACE_ATTACH, getppid(), 0, 0), a);
	if (strcmp(a, "tiocsti") == 0)
		return worked(ioctl(0, TIOCSTI, "x"), a);
	if (strcmp(a, "tiocsti-hibits") == 0)
		return worked(syscall(SYS_ioctl, 0, (long)TIOCSTI | (1L << 32),
		    "x"), a);
	if (strcmp(a, "unshare-user") == 0)
		return worked(unshare(CLONE_NEWUSER), a);
	if (strcmp(a, "unshare-ns") == 0)
		return worked(unshare(CLONE_NEWNS), a);
	if (strcmp(a, "mount") == 0)
		return worked(mount("none", ".", "tmpfs", 0, NULL), a);
	if (strcmp(a, "chroot") == 0)
		return worked(chroot("."), a);
	if (strcmp(a, "clone3") == 0)
		return worked(syscall(SYS_clone3, NULL, 0), a);
	if (strcmp(a, "personality") == 0)
		return worked(personality(ADDR_NO_RANDOMIZE) == -1 ? -1 : 0, a);
	if (strcmp(a, "personality32") == 0)
		return worked(personality(PER_LINUX32) == -1 ? -1 : 0, a);
	if (strcmp(a, "personality-hibits") == 0)
		return worked(syscall(SYS_personality, (1L << 32) | PER_LINUX32)
		    == -1 ? -1 : 0, a);
	if (strcmp(a, "personality-default") == 0)
		return worked(personality(PER_LINUX) == -1 ? -1 : 0, a);
	if (strcmp(a, "bpf") == 0)
		return worked(syscall(SYS_bpf, 0, NULL, 0), a);
	if (strcmp(a, "keyctl") == 0)
		return worked(syscall(SYS_keyctl, 0, 0, 0, 0, 0), a);
	if (strcmp(a, "getpid") == 0)
		return worked(getpid(), a);
	/* a datagram to a unix socket file outside, without a connect:
	 * from socket(), from a socketpair (sendmsg's address wins over
	 * the peer), and from one made with a high bit on the domain */
	if (strncmp(a, "dgram", 5) == 0 && argc > 2) {
		int sv[2];
		struct msghdr m;
		struct iovec v;

		memset(&un, 0, sizeof(un));
		un.sun_family = AF_UNIX;
		strncpy(un.sun_path, argv[2], sizeof(un.sun_path) - 1);
		if (strcmp(a, "dgram") == 0)
			fd = sv[0] = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		else if (strcmp(a, "dgram-raw") == 0)   /* a datagram one too */
			fd = sv[0] = socket(AF_UNIX, SOCK_RAW, 0);
		else if (strcmp(a, "dgram-raw-pair") == 0)
			fd = socketpair(AF_UNIX, SOCK_RAW | SOCK_NONBLOCK, 0, sv);
		else if (strcmp(a, "dgram-pair") == 0)
			fd = socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
		else
			fd = (int)syscall(SYS_socketpair, (long)AF_UNIX |
			    (1L << 32), SOCK_DGRAM, 0, sv);
		if (fd < 0)
			return worked(fd, a);
		memset(&m, 0, sizeof(m));
		v.iov_base = (void *)"x";
		v.iov_len = 1;
		m.msg_name = &un;
		m.msg_namelen = sizeof(un);
		m.msg_iov = &v;
		m.msg_iovlen = 1;
		return worked(sendmsg(sv[0], &m, 0), a);
	}
	/* socketpair of a family but AF_UNIX (AF_TIPC: its module) */
	if (strcmp(a, "pair-tipc") == 0) {
		int sv[2];

		return worked(socketpair(AF_TIPC, SOCK_DGRAM, 0, sv), a);
	}
	/* control: a stream socketpair, a process's own pipe, still works */
	if (strcmp(a, "stream-pair") == 0) {
		int sv[2];

		if ((fd = socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) < 0)
			return worked(fd, a);
		return worked(write(sv[0], "x", 1) == 1 && read(sv[1], buf, 1)
		    == 1 ? 0 : -1, a);
	}
	fprintf(stderr, "probe: unknown attack %s\n", a);
	return 2;
}
