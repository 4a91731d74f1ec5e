"""COMMITs that fail under load (the test VFS answers 30 WAL writes in a
row with an I/O error, OTPD_TEST_SQLITE_FAULTS: a batch or a few, some of
them the delivery worker's, which retries) while many sends are in flight
on the wait pool's threads, so that they share batches: every send of a
failed batch answers 503 backend_unavailable and leaves nothing (no code,
no SMS), every send answered 200 has its code and its SMS, and otpd goes
on without a restart."""

import threading
import time

SENDERS = 48
EACH = 5


def test_a_failed_commit_fails_its_whole_batch_and_nothing_of_it_shows(otpd):
    srv = otpd("--limit-phone", "0", "--resend-cooldown", "0",
               env={"OTPD_TEST_SQLITE_FAULTS":
                    "op=write,file=wal,after=100,times=30,rc=ioerr"})
    answers = {}
    lock = threading.Lock()

    def sender(k):
        br = srv.browser()
        for i in range(EACH):
            phone = "+1415557%02d%02d" % (k, i)
            r = srv.send(br, phone)
            with lock:
                answers[phone] = (r.status_code, r.json().get("code"))

    threads = [threading.Thread(target=sender, args=(k,))
               for k in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    ok = {p for p, (s, _) in answers.items() if s == 200}
    failed = {p for p, (s, _) in answers.items() if s != 200}
    assert len(answers) == SENDERS * EACH
    assert all(answers[p] == (503, "backend_unavailable") for p in failed), \
        sorted(set(answers[p] for p in failed))
    # one failed COMMIT took more than one send down with it: they shared
    # it, and none of them was answered before it
    assert len(failed) >= 2, len(failed)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        sent = {m["to"] for m in srv.sms_messages()}
        if ok <= sent:
            break
        time.sleep(0.05)
    sent = [m["to"] for m in srv.sms_messages()]
    assert set(sent) == ok  # every 200 has its SMS, no 503 has one
    assert len(sent) == len(ok)
    assert srv.db_count("codes") == len(ok)
    # and it goes on
    assert srv.send(srv.browser(), "+14155579999").status_code == 200
