/* sim.c - abuse-sim: the command line. Runs every (scenario, rule set,
 * store, seed) asked for, each in a forked child of its own (its own
 * store: a SQLite file, or a Redis database of a private redis-server),
 * JOBS at a time; prints the results table, writes the report, and with
 * --check asserts the goals of issue 15 (a "N passed, N failed" line, as
 * the test runners end).
 *
 *   abuse-sim                      the full run: seeds 101-103 (never
 *                                  used for tuning), SQLite and Redis
 *   abuse-sim --short              make test's: legit alone and the
 *                                  burst, seed 101, --check: both rule
 *                                  sets on SQLite, otpd's on Redis
 *   abuse-sim --seeds 1,2,3 ...    the tuning seeds
 *   abuse-sim --redis-seeds 101 --redis-rules otpd
 *                                  Redis on one seed and otpd's rules only
 *                                  (make bench): --check asserts that it
 *                                  decides as SQLite did on those runs
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

#define MAX_SEEDS 16
#define MAX_JOBS  8

static void usage(FILE *f)
{
	fputs("usage: abuse-sim [options]\n"
	      "  --seeds LIST      comma-separated (default 101,102,103: the "
	      "report seeds)\n"
	      "  --redis-seeds LIST  the seeds of the runs on Redis (default: "
	      "--seeds)\n"
	      "  --redis-rules LIST  their rule sets (default: --rules)\n"
	      "  --stores LIST     sqlite,redis (default both)\n"
	      "  --scenarios LIST  legit,burst,slow,poisoned,rotating (default "
	      "all)\n"
	      "  --rules LIST      otpd,authgear (default both)\n"
	      "  --scale X         legit users and attack sends, times X "
	      "(default 1)\n"
	      "  --jobs N          runs at once (default: the cores, at most "
	      "8)\n"
	      "  --prices PATH     per-SMS prices (default "
	      "bench/abuse/prices.csv)\n"
	      "  --out DIR         write REPORT.md, abuse.svg, results.tsv "
	      "there\n"
	      "  --check           assert the goals; ends with \"N passed, N "
	      "failed\"\n"
	      "  --world           print the number space found, and exit\n"
	      "  --short           --scenarios legit,burst --seeds 101 "
	      "--redis-rules otpd --check\n",
	      f);
}

/* Each name of list that is one of names[] sets its bit in *mask. */
static int parse_names(const char *list, const char *const *names, int n,
		       unsigned *mask)
{
	*mask = 0;
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		int i = 0;
		for (; i < n; i++)
			if (strlen(names[i]) == len &&
			    strncmp(names[i], p, len) == 0)
				break;
		if (i == n) {
			fprintf(stderr, "abuse-sim: unknown name in %s\n",
				list);
			return -1;
		}
		*mask |= 1u << i;
		p += len + (p[len] == ',');
	}
	return 0;
}

/* A comma-separated list of seeds into seeds[], at most MAX_SEEDS. */
static int parse_seeds(const char *list, uint64_t *seeds, size_t *n)
{
	*n = 0;
	for (const char *p = list; *p && *n < MAX_SEEDS;) {
		char *end;
		unsigned long long sd = strtoull(p, &end, 10);
		if (end == p || (*end && *end != ',')) {
			usage(stderr);
			return -1;
		}
		seeds[(*n)++] = sd;
		p = end + (*end == ',');
	}
	if (!*n)
		usage(stderr);
	return *n ? 0 : -1;
}

/* -- private redis-servers, one a job slot --------------------------------
 * A run on Redis is one round trip after another. On a machine of several
 * cores a round trip between two of them costs a cross-core wakeup each
 * way (on a VM, an IPI through the hypervisor); with the run and its
 * server on one core it is a context switch, and a run takes about half
 * the time. So each slot has its own server, and a slot's runs on Redis
 * and its server share one core (slot modulo the cores). */
struct server {
	pid_t pid;
	int port, core;
	char dir[40];
};
static struct server servers[MAX_JOBS];
static int nservers;

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int p = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		p = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return p;
}

static bool redis_answers(int port)
{
	struct timeval tv = {1, 0};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	bool ok = false;
	if (c && !c->err) {
		redisReply *r = redisCommand(c, "PING");
		ok = r && r->type == REDIS_REPLY_STATUS;
		if (r)
			freeReplyObject(r);
	}
	if (c)
		redisFree(c);
	return ok;
}

/* The calling process on one core (best effort: a failure only costs
 * time). */
static void pin(int core)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(core, &set);
	sched_setaffinity(0, sizeof set, &set);
}

/* No persistence, as the store's own Redis tests run it. */
static int redis_start(struct server *s)
{
	char p[16], log[128];
	s->port = free_port();
	snprintf(s->dir, sizeof s->dir, "/tmp/otpd-abuse-sim-redis-XXXXXX");
	if (s->port < 0 || !mkdtemp(s->dir))
		return -1;
	snprintf(p, sizeof p, "%d", s->port);
	snprintf(log, sizeof log, "%s/redis.log", s->dir);
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		pin(s->core);
		execlp("redis-server", "redis-server", "--port", p, "--bind",
		       "127.0.0.1", "--save", "", "--appendonly", "no",
		       "--daemonize", "no", "--databases", "16", "--dir",
		       s->dir, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		if (redis_answers(s->port))
			return 0;
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = -1;
			return -1;
		}
		usleep(10000);
	}
	return -1;
}

static void redis_stop_all(void)
{
	char log[128];
	for (int i = 0; i < nservers; i++) {
		struct server *s = &servers[i];
		if (s->pid > 0) {
			kill(s->pid, SIGTERM);
			waitpid(s->pid, NULL, 0);
			s->pid = -1;
		}
		snprintf(log, sizeof log, "%s/redis.log", s->dir);
		unlink(log);
		rmdir(s->dir);
	}
	nservers = 0;
}

/* n servers, slot i's on core i modulo the cores; 0 or -1. */
static int redis_start_all(int n)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	for (nservers = 0; nservers < n; nservers++) {
		servers[nservers].core =
		    (int)(nservers % (cores < 1 ? 1 : cores));
		if (redis_start(&servers[nservers]) < 0) {
			nservers++;
			redis_stop_all();
			return -1;
		}
	}
	return 0;
}

/* -- the runs, forked ------------------------------------------------------ */
struct job {
	int scenario, rules, store;
	uint64_t seed;
	pid_t pid;
	int fd, slot;
	struct sim_result r;
	bool done;
};

static double wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void start(const struct sim_world *w, const struct sim_opts *o,
		  struct job *j)
{
	int p[2];
	if (pipe(p) < 0)
		abort();
	j->pid = fork();
	if (j->pid < 0)
		abort();
	if (j->pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		close(p[0]);
		struct sim_result r;
		struct sim_opts so = *o;
		if (j->store == SIM_S_REDIS) {
			pin(servers[j->slot].core);
			so.redis_port = servers[j->slot].port;
		}
		int rc = sim_run(w, &so, j->scenario, j->rules, j->store,
				 j->slot + 1, j->seed, &r);
		if (getenv("ABUSE_SIM_DEBUG")) /* this run's decisions */
			otp_abuse_metrics_write(stderr);
		if (rc < 0 && !r.error)
			r.error = -1;
		ssize_t n = write(p[1], &r, sizeof r);
		_exit(n == (ssize_t)sizeof r ? 0 : 1);
	}
	close(p[1]);
	j->fd = p[0];
}

static void report_one(const struct job *j);

/* Reads the result of a child that ended. */
static void finish(struct job *j, int status)
{
	size_t got = 0;
	while (got < sizeof j->r) {
		ssize_t n = read(j->fd, (char *)&j->r + got, sizeof j->r - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(j->fd);
	if (got != sizeof j->r || !WIFEXITED(status)) {
		memset(&j->r, 0, sizeof j->r);
		j->r.error = -1;
	}
	j->done = true;
	report_one(j);
}

static void report_one(const struct job *j)
{
	const struct sim_result *r = &j->r;
	fprintf(
	    stderr,
	    "abuse-sim: %-9s %-8s %-6s seed %-3llu: attack %ld tried, %ld "
	    "sent; legit %ld of %ld without a code; %.1f s (warm-up %.1f)%s\n",
	    sim_scenarios[j->scenario].name, sim_rules_names[j->rules],
	    sim_store_names[j->store], (unsigned long long)j->seed, r->tried,
	    r->sent, r->failed, r->users, r->wall_s, r->warmup_s,
	    r->error ? " (ERROR)" : "");
}

/* SIGINT or SIGTERM: the children are told to stop and waited for, the
 * scratch files removed, and the run ends (130). */
static volatile sig_atomic_t stopping;
static pid_t children[MAX_JOBS];

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
	for (int i = 0; i < MAX_JOBS; i++)
		if (children[i] > 0)
			kill(children[i], SIGTERM);
}

/* The scratch directory and the run directories in it. */
static void remove_scratch(const char *dir)
{
	char p[600], q[900];
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		DIR *sub = opendir(p);
		struct dirent *f;
		while (sub && (f = readdir(sub))) {
			if (f->d_name[0] == '.')
				continue;
			snprintf(q, sizeof q, "%s/%s", p, f->d_name);
			unlink(q);
		}
		if (sub)
			closedir(sub);
		rmdir(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static int run_all(const struct sim_world *w, const struct sim_opts *o,
		   struct job *jobs, size_t n, int njobs)
{
	size_t next = 0, running = 0;
	bool slot_used[MAX_JOBS] = {0};
	int errors = 0;
	if (njobs == 1) { /* in this process, one after the other */
		struct sim_opts so = *o;
		so.redis_port = nservers ? servers[0].port : 0;
		for (size_t i = 0; i < n && !stopping; i++) {
			if (jobs[i].store == SIM_S_REDIS)
				pin(servers[0].core);
			if (sim_run(w, &so, jobs[i].scenario, jobs[i].rules,
				    jobs[i].store, 1, jobs[i].seed,
				    &jobs[i].r) < 0 &&
			    !jobs[i].r.error)
				jobs[i].r.error = -1;
			report_one(&jobs[i]);
			errors += jobs[i].r.error != 0;
		}
		return errors;
	}
	while (next < n || running) {
		while (!stopping && next < n && running < (size_t)njobs) {
			int s = 0;
			while (slot_used[s])
				s++;
			slot_used[s] = true;
			jobs[next].slot = s;
			start(w, o, &jobs[next]);
			children[s] = jobs[next].pid;
			next++;
			running++;
		}
		if (stopping && !running)
			break;
		int status;
		pid_t pid = wait(&status);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (size_t i = 0; i < next; i++)
			if (!jobs[i].done && jobs[i].pid == pid) {
				finish(&jobs[i], status);
				slot_used[jobs[i].slot] = false;
				children[jobs[i].slot] = 0;
				errors += jobs[i].r.error != 0;
				running--;
			}
	}
	return errors;
}

int main(int argc, char **argv)
{
	static struct sim_world world;
	struct sim_opts o = {.prices = "bench/abuse/prices.csv", .scale = 1};
	uint64_t seeds[MAX_SEEDS] = {101, 102, 103},
		 rseeds[MAX_SEEDS] = {101, 102, 103};
	size_t nseeds = 3, nrseeds = 3;
	bool redis_own = false; /* --redis-seeds given */
	unsigned stores = 3, scen = (1u << sim_nscenarios) - 1, rules = 3,
		 rrules = 0; /* --redis-rules; 0: --rules */
	const char *out = NULL;
	bool check = false, short_run = false, show_world = false;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int njobs = cores < 1 ? 1 : cores > MAX_JOBS ? MAX_JOBS : (int)cores;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool has = v != NULL;
		if (strcmp(a, "--check") == 0) {
			check = true;
		} else if (strcmp(a, "--short") == 0) {
			/* full scale (the rules' floors do not scale with the
			 * traffic): legit alone and the burst, one seed; on
			 * Redis otpd's rules, checked to decide as on SQLite */
			short_run = check = true;
			rrules = 1u << SIM_R_OTPD;
			scen = 1u << 0 | 1u << 1;
			seeds[0] = rseeds[0] = 101;
			nseeds = nrseeds = 1;
		} else if (strcmp(a, "--world") == 0) {
			show_world = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (!has) {
			usage(stderr);
			return 2;
		} else if (strcmp(a, "--seeds") == 0) {
			if (parse_seeds(argv[++i], seeds, &nseeds) < 0)
				return 2;
			if (!redis_own) {
				memcpy(rseeds, seeds, sizeof seeds);
				nrseeds = nseeds;
			}
		} else if (strcmp(a, "--redis-seeds") == 0) {
			if (parse_seeds(argv[++i], rseeds, &nrseeds) < 0)
				return 2;
			redis_own = true;
		} else if (strcmp(a, "--stores") == 0) {
			if (parse_names(argv[++i], sim_store_names, SIM_STORES,
					&stores) < 0)
				return 2;
		} else if (strcmp(a, "--redis-rules") == 0) {
			if (parse_names(argv[++i], sim_rules_names,
					SIM_RULESETS, &rrules) < 0)
				return 2;
		} else if (strcmp(a, "--rules") == 0) {
			if (parse_names(argv[++i], sim_rules_names,
					SIM_RULESETS, &rules) < 0)
				return 2;
		} else if (strcmp(a, "--scenarios") == 0) {
			const char *names[16];
			for (int k = 0; k < sim_nscenarios; k++)
				names[k] = sim_scenarios[k].name;
			if (parse_names(argv[++i], names, sim_nscenarios,
					&scen) < 0)
				return 2;
		} else if (strcmp(a, "--scale") == 0) {
			o.scale = atof(argv[++i]);
		} else if (strcmp(a, "--jobs") == 0) {
			njobs = atoi(argv[++i]);
			if (njobs < 1 || njobs > MAX_JOBS)
				njobs = 1;
		} else if (strcmp(a, "--prices") == 0) {
			o.prices = argv[++i];
		} else if (strcmp(a, "--out") == 0) {
			out = argv[++i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (o.scale <= 0 || nseeds == 0) {
		usage(stderr);
		return 2;
	}
	if (access(o.prices, R_OK) < 0) {
		fprintf(stderr, "abuse-sim: %s: %s (run from the repository)\n",
			o.prices, strerror(errno));
		return 1;
	}
	double t0 = wall();
	if (sim_world_init(&world) < 0)
		return 1;
	fprintf(stderr, "abuse-sim: number space of %d countries in %.1f s\n",
		world.ncountries, wall() - t0);
	if (show_world) {
		for (int i = 0; i < world.ncountries; i++) {
			const struct sim_pool *p = &world.pool[i];
			printf("%s +%s: %d prefixes, %d national digits, "
			       "share %.3f:",
			       p->c->iso, p->c->cc, p->nprefix, p->nat_len,
			       sim_world_share(&world, i));
			for (int k = 0; k < p->nprefix && k < 8; k++)
				printf(" %s", p->prefix[k]);
			printf("%s\n", p->nprefix > 8 ? " ..." : "");
		}
		return 0;
	}
	/* in RAM when there is a tmpfs: the stores' files are scratch */
	char shm[] = "/dev/shm/otpd-abuse-sim-XXXXXX",
	     tmp[] = "/tmp/otpd-abuse-sim-XXXXXX";
	char *dir = mkdtemp(shm);
	if (!dir && !(dir = mkdtemp(tmp))) {
		perror("abuse-sim: mkdtemp");
		return 1;
	}
	o.dir = dir;
	if ((stores & (1u << SIM_S_REDIS)) && redis_start_all(njobs) < 0) {
		fprintf(stderr, "abuse-sim: cannot start redis-server; "
				"SQLite only\n");
		stores &= ~(1u << SIM_S_REDIS);
	}

	size_t n = 0,
	       cap = (size_t)sim_nscenarios * SIM_RULESETS * (nseeds + nrseeds);
	struct job *jobs = calloc(cap, sizeof *jobs);
	if (!jobs)
		abort();
	for (int st = 0; st < SIM_STORES; st++) {
		const uint64_t *sd = st == SIM_S_REDIS ? rseeds : seeds;
		size_t nsd = st == SIM_S_REDIS ? nrseeds : nseeds;
		unsigned ru = st == SIM_S_REDIS && rrules ? rrules : rules;
		for (size_t k = 0; k < nsd; k++)
			for (int s = 0; s < sim_nscenarios; s++)
				for (int r = 0; r < SIM_RULESETS; r++)
					if ((stores >> st & 1) &&
					    (scen >> s & 1) && (ru >> r & 1))
						jobs[n++] =
						    (struct job){.scenario = s,
								 .rules = r,
								 .store = st,
								 .seed = sd[k]};
	}
	struct sigaction sa = {.sa_handler = on_stop};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	int errors = run_all(&world, &o, jobs, n, njobs);
	redis_stop_all();
	remove_scratch(dir);
	if (stopping) {
		fprintf(stderr, "abuse-sim: stopped\n");
		return 130;
	}

	struct sim_result *res = calloc(n ? n : 1, sizeof *res);
	if (!res)
		abort();
	for (size_t i = 0; i < n; i++)
		res[i] = jobs[i].r;
	struct sim_report rep = {res,	      n,	 seeds,	 nseeds,
				 wall() - t0, short_run, o.scale};
	sim_report_table(&rep, stdout);
	int rc = errors ? 1 : 0;
	if (out && sim_report_write(&rep, out) < 0)
		rc = 1;
	printf("abuse-sim: %zu runs in %.1f s (%d at once)\n", n, rep.wall_s,
	       njobs);
	if (check) {
		int passed = 0;
		int failed = sim_report_check(&rep, stdout, &passed);
		failed += errors;
		printf("%d passed, %d failed\n", passed, failed);
		if (failed)
			rc = 1;
	}
	free(res);
	free(jobs);
	return rc;
}
