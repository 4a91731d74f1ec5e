"""What a copy of the data directory gives away: the files are otpd's
user's only (0600), a directory every user may write to is refused, the
database holds no phone number (sealed or keyed-hashed with the secret),
no API-key hash that can be tested without the secret, and the secret can
be rotated."""

import hashlib
import os
import sqlite3
import stat
import subprocess

import requests

from conftest import OTPD_BIN, clean_env, free_port
from helpers import OTHER_PHONE, PHONE


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def store_files(srv):
    return [p for p in srv.dir.iterdir()
            if p.name.startswith("otpd.db") or "secret" in p.name]


def test_database_files_are_private(server):
    b = server.browser()
    assert server.send(b, PHONE).status_code == 200
    server.wait_code(PHONE)
    names = {p.name for p in store_files(server)}
    assert {"otpd.db", "otpd.db-wal", "otpd.db-shm",
            "otpd.db.lock"} <= names, names
    for p in store_files(server):
        assert mode(p) == 0o600, f"{p.name} is {oct(mode(p))}"


def test_an_old_store_is_made_private_at_start(otpd):
    srv = otpd()
    assert srv.send(srv.browser(), PHONE).status_code == 200
    assert srv.stop() == 0
    for p in store_files(srv):
        os.chmod(p, 0o644)
    srv.start()
    for p in store_files(srv):
        assert mode(p) == 0o600, f"{p.name} is {oct(mode(p))}"


def test_a_directory_everyone_may_write_is_refused(tmp_path):
    d = tmp_path / "open"
    d.mkdir()
    os.chmod(d, 0o777)
    p = subprocess.run(
        [OTPD_BIN, "--listen", f"127.0.0.1:{free_port()}", "--store",
         f"sqlite:{d}/otpd.db", "--sms", "console"],
        env=clean_env(), capture_output=True, text=True, timeout=10)
    assert p.returncode != 0
    assert "writable by every user" in p.stderr, p.stderr
    assert not (d / "otpd.db").exists()


# -- what the store holds ----------------------------------------------------

KEY = "rest-key-0123456789abcdef"  # an OTPD_API_KEYS key
A = "a" * 64  # secrets, in hex
B = "b" * 64


def file_bytes(srv):
    """The database and its WAL as they are on disk."""
    return b"".join(p.read_bytes() for p in srv.dir.iterdir()
                    if p.name in ("otpd.db", "otpd.db-wal"))


def digits_in(data, phone):
    """Is any 7-digit run of the phone's national number in data?"""
    national = phone[2:]
    return any(national[i:i + 7].encode() in data
               for i in range(len(national) - 6))


def api_send(srv, phone, key=KEY):
    return requests.post(srv.url("/otp/send"), json={"phoneNumber": phone},
                         headers={"X-API-Key": key}, timeout=10)


def rows(srv, sql):
    con = sqlite3.connect(f"file:{srv.db_path}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_the_file_holds_no_phone(otpd):
    srv = otpd(env={"OTPD_API_KEYS": KEY})
    b = srv.browser()
    srv.login(b, PHONE)  # a session with the phone, a used code, a message
    assert srv.send(srv.browser(), OTHER_PHONE).status_code == 200
    assert api_send(srv, "+14155550177").status_code == 200
    srv.wait_code(OTHER_PHONE)
    srv.wait_code("+14155550177")
    assert srv.stop() == 0  # the WAL checkpointed into the file
    data = file_bytes(srv)
    for phone in (PHONE, OTHER_PHONE, "+14155550177"):
        assert not digits_in(data, phone), phone
    phones = [r[0] for r in rows(srv, "SELECT phone FROM codes UNION ALL "
                                 "SELECT to_phone FROM outbox UNION ALL "
                                 "SELECT phone FROM sessions WHERE phone"
                                 " <> ''")]
    assert len(phones) >= 5 and all(p.startswith("~") for p in phones)
    limits = [r[0] for r in rows(srv, "SELECT key FROM limits")]
    assert limits and not any("4155550" in k for k in limits), limits
    # what the user sees is the phone
    srv.start()
    r = b.get(srv.url("/auth/session"), timeout=10)
    assert r.status_code == 200 and r.json()["phone"] == PHONE, r.text


def test_an_older_store_is_sealed_at_start(otpd):
    """Phones in E.164 text (as an otpd before seals stored them) are
    rewritten at start-up, and what they belong to keeps working."""
    srv = otpd()
    b = srv.browser()
    assert srv.send(b, PHONE).status_code == 200
    code = srv.wait_code(PHONE)
    assert srv.stop() == 0
    con = sqlite3.connect(srv.db_path)
    con.execute("UPDATE codes SET phone = ?", (PHONE,))
    con.execute("UPDATE sessions SET pending_phone = ?", (PHONE,))
    con.execute("UPDATE outbox SET to_phone = ?", (PHONE,))
    con.execute("DELETE FROM meta")
    con.commit()
    con.close()
    srv.start()
    assert "stored phones sealed" in srv.log_text()
    phones = rows(srv, "SELECT phone FROM codes UNION ALL SELECT "
                  "pending_phone FROM sessions UNION ALL SELECT to_phone "
                  "FROM outbox")
    assert phones and all(p[0].startswith("~") for p in phones), phones
    r = srv.verify(b, code)
    assert r.status_code == 200, r.text
    assert b.get(srv.url("/auth/session")).json()["phone"] == PHONE


def test_an_older_api_key_row_moves_to_the_keyed_hash(otpd):
    """A key stored by an otpd before keyed hashes (BLAKE2b under public
    constants) still works, and its row is moved at its first use."""
    srv = otpd()
    assert srv.stop() == 0
    old_id = hashlib.blake2b(KEY.encode(), digest_size=8,
                             key=b"otpd-apikey-id..").hexdigest()
    old_hash = hashlib.blake2b(KEY.encode(), digest_size=32,
                               key=b"otpd-apikey-hash").digest()
    con = sqlite3.connect(srv.db_path)
    con.execute("INSERT INTO apikeys VALUES (?, 'shop', ?, 1, 0)",
                (old_id, old_hash))
    con.commit()
    con.close()
    srv.start()
    assert api_send(srv, PHONE).status_code == 200
    got = rows(srv, "SELECT id, name, hash FROM apikeys")
    assert len(got) == 1 and got[0][1] == "shop", got
    assert got[0][0] != old_id and got[0][2] != old_hash
    assert api_send(srv, OTHER_PHONE).status_code == 200
    assert api_send(srv, PHONE, key=KEY + "x").status_code == 401


def test_rotation_keeps_what_the_old_secret_made(otpd):
    srv = otpd(env={"OTPD_SECRET": A, "OTPD_API_KEYS": KEY})
    logged_in = srv.browser()
    srv.login(logged_in, PHONE)
    pending = srv.browser()
    assert srv.send(pending, OTHER_PHONE).status_code == 200
    code = srv.wait_code(OTHER_PHONE)
    assert srv.stop() == 0

    srv.start(env={"OTPD_SECRET": B, "OTPD_SECRET_PREVIOUS": A,
                   "OTPD_API_KEYS": KEY})
    r = logged_in.get(srv.url("/auth/session"), timeout=10)
    assert r.status_code == 200 and r.json()["phone"] == PHONE, r.text
    r = srv.verify(pending, code)
    assert r.status_code == 200, r.text
    assert api_send(srv, "+14155550177").status_code == 200
    # every stored phone is now under the new secret
    marks = {p[0][:5] for p in rows(srv, "SELECT phone FROM codes")}
    assert len(marks) == 1, marks
    assert srv.stop() == 0

    # the old secret dropped: what it alone made is gone
    srv.start(env={"OTPD_SECRET": B, "OTPD_API_KEYS": KEY})
    assert logged_in.get(srv.url("/auth/session")).status_code == 401
    assert pending.get(srv.url("/auth/session")).status_code == 200
    assert api_send(srv, PHONE).status_code == 200


def test_a_wrong_previous_secret_stops_otpd(otpd, tmp_path):
    srv = otpd(start=False)
    srv.env = {"OTPD_SECRET_PREVIOUS": "short"}
    try:
        srv.start()
    except RuntimeError as e:
        assert "previous secret" in str(e), e
    else:
        raise AssertionError("otpd started with a bad previous secret")


def redis_dump(rs):
    """Every key of the Redis and every value of its hashes and strings."""
    out = subprocess.run(
        ["redis-cli", "-p", str(rs.port), "--no-raw", "EVAL",
         "local o = {} for _, k in ipairs(redis.call('KEYS', '*')) do "
         "o[#o + 1] = k local t = redis.call('TYPE', k).ok "
         "if t == 'hash' then for _, v in ipairs(redis.call('HGETALL', k))"
         " do o[#o + 1] = v end elseif t == 'string' then "
         "o[#o + 1] = redis.call('GET', k) end end return o", "0"],
        capture_output=True, timeout=10)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_redis_holds_no_phone(otpd, redis_server):
    rs = redis_server()
    srv = otpd("--store", rs.url, env={"OTPD_SECRET": A})
    b = srv.browser()
    srv.login(b, PHONE)
    assert srv.send(srv.browser(), OTHER_PHONE).status_code == 200
    srv.wait_code(OTHER_PHONE)
    data = redis_dump(rs)
    assert b"otp:{c:" in data and b"otp:{s:" in data, data[:300]
    for phone in (PHONE, OTHER_PHONE):
        assert not digits_in(data, phone), phone
    r = b.get(srv.url("/auth/session"), timeout=10)
    assert r.status_code == 200 and r.json()["phone"] == PHONE


def test_secrets_given_in_the_environment_are_wiped_once_read(otpd):
    # /proc/PID/environ (and a core dump) showed them for the process's
    # life; otpd reads them once at start-up and wipes them there.
    from test_provider import KEY, Api, ok_data, provider
    secret = "cd" * 32
    srv = provider(otpd, env={"OTPD_SECRET": secret,
                              "OTPD_SECRET_PREVIOUS": "ef" * 32})
    environ = open(f"/proc/{srv.proc.pid}/environ", "rb").read()
    for value in (secret, "ef" * 32, KEY):
        assert value.encode() not in environ, value
    # ...and they were read: the key seeded from the variable is known
    ok_data(Api(srv).send(PHONE))
