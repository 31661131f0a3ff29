/* The floor for bench/: only the kernel work a runtime must do for husk's default config.json
 * (clone with its namespaces, its mounts, devices, masked and read-only paths, pivot_root, exec),
 * with no config parsing, state or security setup. With -c NAME it also makes cgroup NAME, starts
 * the child in it and removes it after (the runtimes' cgroup work). Usage: floor [-c NAME] ROOTFS CMD... */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <linux/sched.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what, const char *path)
{
	fprintf(stderr, "floor: %s %s: %s\n", what, path ? path : "", strerror(errno));
	_exit(127);
}

static void mnt(const char *src, const char *dst, const char *type, unsigned long flags, const char *data)
{
	if (mount(src, dst, type, flags, data) < 0)
		die("mount", dst);
}

static void mkdirs(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die("mkdir", path);
}

/* The same list as husk spec's maskedPaths / readonlyPaths. */
static const char *masked[] = {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
			       "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
			       "/proc/sched_debug", "/sys/firmware", "/proc/scsi"};
static const char *readonly[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};

/* v1/hybrid: what the child binds under /sys/fs/cgroup (name there, source on the host). */
static char bind_name[16][256], bind_src[16][512];
static int nbinds;

static int child(char **argv)
{
	const char *rootfs = argv[1];
	char p[4096];
	struct stat st;

	mnt(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	mnt(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL);
	if (chdir(rootfs) < 0)
		die("chdir", rootfs);
	mnt("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mnt("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
	mkdirs("dev/pts");
	mkdirs("dev/shm");
	mkdirs("dev/mqueue");
	mnt("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	    "newinstance,ptmxmode=0666,mode=0620,gid=5");
	mnt("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=1777,size=65536k");
	mnt("mqueue", "dev/mqueue", "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
	mnt("sysfs", "sys", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, NULL);
	/* cgroup2 where the host has it alone; otherwise the runtimes' layout: a tmpfs with each
	 * hierarchy bound into it read-only (the container's own cgroup with -c, else the
	 * hierarchy's root), then the tmpfs made read-only. */
	if (stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0) {
		mnt("cgroup", "sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, NULL);
	} else {
		const unsigned long ro = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_NODEV;
		mnt("tmpfs", "sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=755");
		for (int i = 0; i < nbinds; i++) {
			snprintf(p, sizeof p, "sys/fs/cgroup/%s", bind_name[i]);
			mkdirs(p);
			mnt(bind_src[i], p, NULL, MS_BIND, NULL);
			mnt(NULL, p, NULL, ro, NULL);
		}
		mnt(NULL, "sys/fs/cgroup", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
	}

	static const struct { const char *name; unsigned maj, min; } devs[] = {
		{"dev/null", 1, 3}, {"dev/zero", 1, 5}, {"dev/full", 1, 7},
		{"dev/random", 1, 8}, {"dev/urandom", 1, 9}, {"dev/tty", 5, 0}};
	for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++)
		if (mknod(devs[i].name, S_IFCHR | 0666, makedev(devs[i].maj, devs[i].min)) < 0)
			die("mknod", devs[i].name);
	static const char *links[][2] = {{"/proc/self/fd", "dev/fd"}, {"/proc/self/fd/0", "dev/stdin"},
					 {"/proc/self/fd/1", "dev/stdout"}, {"/proc/self/fd/2", "dev/stderr"},
					 {"pts/ptmx", "dev/ptmx"}, {"/proc/kcore", "dev/core"}};
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			die("symlink", links[i][1]);

	for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++) {
		snprintf(p, sizeof p, ".%s", masked[i]);
		if (stat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			mnt("tmpfs", p, "tmpfs", MS_RDONLY, NULL);
		else
			mnt("/dev/null", p, NULL, MS_BIND, NULL);
	}
	for (size_t i = 0; i < sizeof readonly / sizeof readonly[0]; i++) {
		snprintf(p, sizeof p, ".%s", readonly[i]);
		if (stat(p, &st) < 0)
			continue;
		mnt(p, p, NULL, MS_BIND | MS_REC, NULL);
		mnt(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL);
	}

	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die("pivot_root", rootfs);
	if (umount2(".", MNT_DETACH) < 0)
		die("umount", "old root");
	if (chdir("/") < 0)
		die("chdir", "/");
	mnt(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
	sethostname("floor", 5);
	execv(argv[2], argv + 2);
	die("exec", argv[2]);
	return 127;
}

/* The cgroup directories of NAME: one per v1 hierarchy, or the one v2 directory. */
static int cgroup_dirs(const char *name, char dirs[][512], int max)
{
	int n = 0;
	struct stat st;
	if (stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0) {
		snprintf(dirs[n++], 512, "/sys/fs/cgroup/%s", name);
		return n;
	}
	DIR *d = opendir("/sys/fs/cgroup");
	if (!d)
		die("opendir", "/sys/fs/cgroup");
	struct dirent *e;
	char probe[512];
	while ((e = readdir(d)) && n < max) {
		/* v1 hierarchies only (the hybrid unified mount has no controllers); skip the
		 * cpu/cpuacct style links so each hierarchy is counted once. */
		if (e->d_name[0] == '.' || e->d_type != DT_DIR || strcmp(e->d_name, "unified") == 0)
			continue;
		snprintf(probe, sizeof probe, "/sys/fs/cgroup/%s/cgroup.procs", e->d_name);
		if (stat(probe, &st) == 0)
			snprintf(dirs[n++], 512, "/sys/fs/cgroup/%s/%s", e->d_name, name);
	}
	closedir(d);
	return n;
}

static void write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, s, strlen(s)) < 0)
		die("write", path);
	close(fd);
}

int main(int argc, char **argv)
{
	uint64_t flags = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS |
			 CLONE_NEWCGROUP;
	const char *cg = NULL;
	char dirs[16][512] = {{0}};
	int ndirs = 0, status, go[2];

	if (argc > 2 && strcmp(argv[1], "-c") == 0) {
		cg = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: floor [-c CGROUP] ROOTFS CMD [ARGS...]\n");
		return 2;
	}
	struct clone_args args = {.flags = flags, .exit_signal = SIGCHLD};
	int v2 = 0;
	if (cg) {
		struct stat st;
		v2 = stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0;
		ndirs = cgroup_dirs(cg, dirs, 16);
		for (int i = 0; i < ndirs; i++) {
			mkdirs(dirs[i]);
			if (strstr(dirs[i], "/cpuset/")) { /* v1 cpuset starts empty */
				char p[1100];
				snprintf(p, sizeof p, "%s/cpuset.cpus", dirs[i]);
				write_str(p, "0");
				snprintf(p, sizeof p, "%s/cpuset.mems", dirs[i]);
				write_str(p, "0");
			}
		}
		if (v2) { /* as husk does on v2: born in the cgroup, no migration */
			int fd = open(dirs[0], O_DIRECTORY | O_CLOEXEC);
			if (fd < 0)
				die("open", dirs[0]);
			args.flags |= CLONE_INTO_CGROUP;
			args.cgroup = (uint64_t)fd;
		}
	}
	if (stat("/sys/fs/cgroup/cgroup.controllers", &(struct stat){0}) != 0) {
		DIR *d = opendir("/sys/fs/cgroup");
		struct dirent *e;
		if (!d)
			die("opendir", "/sys/fs/cgroup");
		while ((e = readdir(d)) && nbinds < 16) {
			char probe[600];
			struct stat st;
			snprintf(probe, sizeof probe, "/sys/fs/cgroup/%s/cgroup.procs", e->d_name);
			if (e->d_name[0] == '.' || e->d_type != DT_DIR || stat(probe, &st) != 0)
				continue;
			snprintf(bind_name[nbinds], sizeof bind_name[0], "%s", e->d_name);
			snprintf(bind_src[nbinds], sizeof bind_src[0], "/sys/fs/cgroup/%s", e->d_name);
			for (int i = 0; i < ndirs; i++) /* its own cgroup in this hierarchy, with -c */
				if (strncmp(dirs[i], bind_src[nbinds], strlen(bind_src[nbinds])) == 0 &&
				    dirs[i][strlen(bind_src[nbinds])] == '/')
					snprintf(bind_src[nbinds], sizeof bind_src[0], "%.500s", dirs[i]);
			nbinds++;
		}
		closedir(d);
	}
	if (pipe2(go, O_CLOEXEC) < 0)
		die("pipe", NULL);
	pid_t pid = syscall(SYS_clone3, &args, sizeof args);
	if (pid < 0)
		die("clone3", NULL);
	if (pid == 0) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) != 1) /* in its cgroups before it sets anything up */
			_exit(127);
		_exit(child(argv));
	}
	close(go[0]);
	if (cg && !v2) {
		char p[1100], s[32];
		snprintf(s, sizeof s, "%d", pid);
		for (int i = 0; i < ndirs; i++) {
			snprintf(p, sizeof p, "%s/cgroup.procs", dirs[i]);
			write_str(p, s);
		}
	}
	if (write(go[1], "g", 1) != 1)
		die("write", "sync pipe");
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid", NULL);
	for (int i = 0; i < ndirs; i++)
		if (rmdir(dirs[i]) < 0)
			die("rmdir", dirs[i]);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
