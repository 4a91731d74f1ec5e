/* test_store_sqlite_full.c - a full disk under the SQLite backend
 * (src/store/sqlite/space.c): sends refused with OTP_EFULL, verifies and
 * acks going on in the reserve's room, the WAL truncated, the ping saying
 * so, and the way back once space returns, without reopening.
 *
 * The disk fills through the fault VFS (faultvfs.c: one WAL write answers
 * SQLITE_FULL) and the free space the backend sees is a test's number
 * (otp_sqlite_space_fake), so nothing here depends on the real disk.
 * test_store_sqlite.c holds the failed COMMIT of a batch.
 */
#include <stdlib.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>

#include "harness.h"
#include "store/sqlite/space.h"
#include "store/sqlite/sqlite_test.h"
#include "store/sqlite/stats.h"

#include "../../contract/contract.h"

static char dir[] = "/tmp/otpd-full-XXXXXX";

static long file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static int open_file(const char *name, char *path, size_t cap,
		     struct otp_store **out)
{
	char url[256];
	snprintf(path, cap, "%s/%s.db", dir, name);
	snprintf(url, sizeof url, "sqlite:%s", path);
	return otp_store_open(url, out);
}

/* One WAL write answers "disk full", as the last free block went. */
static void fill_once(void)
{
	otp_sqlite_fault_arm(&(struct otp_sqlite_fault){
	    .ops = OTP_FAULT_WRITE,
	    .files = OTP_FAULT_WAL,
	    .times = 1,
	    .rc = SQLITE_FULL,
	});
}

/* The disk fills: the send that met it and every later one answer
 * OTP_EFULL (the later ones without writing), while a verify of a code
 * sent before and the ack of a claimed message still work; the ping says
 * storage_full; the WAL is truncated; once space returns, sends work again
 * on the same handle and the reserve is back. */
static void full_refuses_sends_only(void)
{
	CHECK_INT(otp_sqlite_fault_install(), 0);
	char path[160], reserve[176];
	struct otp_store *s;
	CHECK_INT(open_file("full", path, sizeof path, &s), 0);
	snprintf(reserve, sizeof reserve, "%s-reserve", path);
	struct otp_sqlite_writer *w = otp_sqlite_writer_peek(path);
	CHECK(w != NULL);
	CHECK(file_size(reserve) >= 64 * 1024);
	CHECK(!otp_sqlite_writer_full(w));

	struct otp_code_new c[4];
	for (unsigned i = 0; i < 4; i++)
		c[i] = ct_make_code(i + 1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c[0], NULL, CT_T0), 0);
	struct otp_msg m[1] = {0};
	size_t n = 0;
	CHECK_INT(otp_store_outbox_claim(s, CT_T0, CT_LEASE, m, 1, &n), 0);
	CHECK_INT((int)n, 1);
	struct otp_sqlite_stats st;
	otp_sqlite_stats(s, &st);
	unsigned long truncates = st.truncates;

	otp_sqlite_space_fake(0);
	fill_once();
	CHECK_INT(ct_issue(s, &c[1], NULL, CT_T0), OTP_EFULL);
	unsigned long hits = otp_sqlite_fault_hits();
	CHECK(hits > 0);
	CHECK(otp_sqlite_writer_full(w));
	CHECK_INT(file_size(reserve), 0);
	CHECK_INT(otp_store_ping(s), OTP_EFULL);
	CHECK(otp_sqlite_ckpt_wait(otp_sqlite_writer_ckpt(w), 0, truncates + 1,
				   5000));

	/* Still full: refused before any write. */
	otp_sqlite_writer_check_space(w);
	CHECK_INT(ct_issue(s, &c[2], NULL, CT_T0), OTP_EFULL);
	struct otp_code_info info;
	CHECK_INT(otp_store_code_get(s, c[1].id, &info), OTP_ENOTFOUND);
	CHECK_INT(otp_store_code_get(s, c[2].id, &info), OTP_ENOTFOUND);
	/* What does not grow the data goes on. */
	struct otp_verify_in in = ct_make_try(c[0].id, CT_RIGHT);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 1, &out), OTP_VERIFY_OK);
	CHECK_INT(otp_store_outbox_ack(s, m[0].id, m[0].attempts, CT_T0 + 2),
		  0);
	CHECK_INT(ct_get_state(s, c[0].id), OTP_MSG_SENT);
	otp_msg_deinit(&m[0]);

	/* Space returns: the next look finds it, with no reopen. */
	otp_sqlite_space_fake(-1);
	otp_sqlite_writer_check_space(w);
	CHECK_INT(otp_store_ping(s), 0);
	CHECK_INT(ct_issue(s, &c[3], NULL, CT_T0), 0);
	CHECK(!otp_sqlite_writer_full(w));
	CHECK(file_size(reserve) >= 64 * 1024);
	CHECK_INT(otp_sqlite_fault_hits(), hits);
	otp_store_close(s);
	otp_sqlite_fault_uninstall();
}

/* Without a look at the space (200 ms apart), the mark stays: a send right
 * after the full disk is refused even with the space back. */
static void full_mark_waits_for_the_check(void)
{
	CHECK_INT(otp_sqlite_fault_install(), 0);
	char path[160];
	struct otp_store *s;
	CHECK_INT(open_file("mark", path, sizeof path, &s), 0);
	struct otp_code_new c1 = ct_make_code(1, CT_P2, CT_T0 + CT_TTL);
	struct otp_code_new c2 = ct_make_code(2, CT_P2, CT_T0 + CT_TTL);
	fill_once();
	CHECK_INT(ct_issue(s, &c1, NULL, CT_T0), OTP_EFULL);
	CHECK_INT(ct_issue(s, &c2, NULL, CT_T0), OTP_EFULL);
	otp_sqlite_writer_check_space(otp_sqlite_writer_peek(path));
	CHECK_INT(ct_issue(s, &c2, NULL, CT_T0), 0);
	otp_store_close(s);
	otp_sqlite_fault_uninstall();
}

/* The WAL may hold a quarter of the free space, at least 16 pages, at most
 * the checkpointer's threshold. */
static void wal_cap_follows_free_space(void)
{
	otp_sqlite_space_fake(1024 * 1024);
	CHECK_INT(otp_sqlite_space_wal_cap(dir, 4096, 4000), 64);
	otp_sqlite_space_fake(0);
	CHECK_INT(otp_sqlite_space_wal_cap(dir, 4096, 4000), 16);
	otp_sqlite_space_fake(1LL << 40);
	CHECK_INT(otp_sqlite_space_wal_cap(dir, 4096, 4000), 4000);
	otp_sqlite_space_fake(-1);
}

/* clang-format off */
static const struct harness_test tests[] = {
	TEST(full_refuses_sends_only),
	TEST(full_mark_waits_for_the_check),
	TEST(wal_cap_follows_free_space),
};
/* clang-format on */

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	int rc = harness_run("store_sqlite_full", tests,
			     sizeof tests / sizeof tests[0]);
	harness_remove_dir(dir);
	return rc;
}
