"""The README's walk-throughs, run as written: the curl commands of "Log in
with curl" and "The provider API" against an otpd started as `make run`
starts it (SQLite, default limits), in order, top to bottom. Only what a
reader fills in is filled in: the address, the code from the SMS, the key
otpctl printed, the requestId the send answered. Each answer must have the
shape the README shows after it (the same fields, and the same values where
they do not change from run to run)."""

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from conftest import OTPD_BIN, REPO

README = REPO / "README.md"
OTPCTL = str(Path(OTPD_BIN).parent / "otpctl")
VOLATILE = {"expires_at", "authenticated_at", "requestId", "expiresAt"}


def section_commands(title):
    """The commands of the first ```sh block under `title`, each with the
    answer the README shows for it (or None)."""
    text = README.read_text()
    start = text.index(title)
    block = text[text.index("```sh\n", start) + 6:]
    block = block[:block.index("```")]
    cmds, cur = [], ""
    for line in block.splitlines():
        if cur:
            cur += " " + line.strip()
        elif line.startswith(("curl", "./build", "KEY=")):
            cur = line.strip()
        elif line.startswith("# {") and cmds:
            cmds[-1][1] = line[2:]
            continue
        else:
            continue
        if cur.endswith("\\"):
            cur = cur[:-1].rstrip()
            continue
        cmds.append([cur, None])
        cur = ""
    return cmds


def same_shape(got, want, where):
    assert set(got) == set(want), (where, got, want)
    for k, v in want.items():
        if isinstance(v, dict):
            same_shape(got[k], v, where)
        elif k not in VOLATILE and not (isinstance(v, str) and "..." in v):
            assert got[k] == v, (where, k, got[k], v)


@pytest.fixture
def made_run(otpd):
    # `make run`: the defaults, console SMS replaced by the file sink the
    # test reads the code from
    srv = otpd("--limit-ip", "60")
    return srv


def run_walkthrough(srv, title, env):
    url = f"http://127.0.0.1:{srv.port}"
    for cmd, want in section_commands(title):
        cmd = cmd.replace("http://127.0.0.1:8080", url)
        cmd = cmd.replace("./build/otpctl", OTPCTL)
        cmd = cmd.replace("sqlite:./var/otpd.db", f"sqlite:{srv.db_path}")
        if cmd.startswith("KEY="):
            continue  # the key otpctl printed is kept below
        if '"code": "' in cmd or '"otpCode": "' in cmd:
            phone = env["LAST_PHONE"]
            code = srv.wait_code(phone, count=env["SENT"][phone])
            cmd = re.sub(r'("(?:otp)?[cC]ode": ")\d+"', rf'\g<1>{code}"', cmd)
        if "rid" in env:
            cmd = cmd.replace("9f0c...", env["rid"])
        p = subprocess.run(["bash", "-c", cmd], cwd=srv.dir, env=env["sh"],
                           capture_output=True, text=True, timeout=15)
        assert p.returncode == 0, (cmd, p.stderr)
        out = p.stdout
        if "key create" in cmd:
            env["sh"]["KEY"] = out.strip()
            continue
        m = re.search(r'"(?:phone|phoneNumber)": "([^"]+)"', cmd)
        if m:
            phone = "+" + re.sub(r"\D", "", m.group(1))
            env["LAST_PHONE"] = phone
            env["SENT"][phone] = env["SENT"].get(phone, 0) + 1
        if " -i " in f" {cmd} ":
            status = out.split("\r\n", 1)[0]
            want_status = re.search(r"# (\d{3})", cmd)
            assert status.startswith("HTTP/1.1 2"), (cmd, out)
            if want_status:
                assert want_status.group(1) in status, (cmd, status)
            continue
        if want:
            got = json.loads(out)
            shown = json.loads(want.replace(",...", ""))
            if ",..." in want:  # the README shows only some of the fields
                got = {k: v for k, v in got.items()}
                got["data"] = {k: v for k, v in got["data"].items()
                               if k in shown["data"]}
            same_shape(got, shown, cmd)
            if "requestId" in got.get("data", {}) and "rid" not in env:
                env["rid"] = got["data"]["requestId"]


def test_readme_walkthroughs_run_as_written(made_run):
    env = {"sh": dict(os.environ, PATH=os.environ.get("PATH", "")),
           "SENT": {}}
    run_walkthrough(made_run, "## Log in with curl", env)
    run_walkthrough(made_run, "## The provider API", env)
