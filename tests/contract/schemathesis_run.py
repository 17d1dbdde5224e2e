#!/usr/bin/env python3
"""Runs schemathesis against the served OpenAPI of a demo server, once per
role (anonymous, admin, finance, provider, enterprise), and exits non-zero
if any check fails.

Usage: schemathesis_run.py BINARY WORKDIR [DATABASE_URL]

The demo server is started in WORKDIR (SQLite by default, or DATABASE_URL),
its demo users log in and each gets an API token. The checks are the four
the contract promises: not_a_server_error, status_code_conformance,
content_type_conformance and response_schema_conformance. The budget is
bounded (examples per operation, and a deterministic seed per role) so a
run takes well under a minute per role on two cores.
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
EXAMPLES = os.environ.get("VOUCHER_SCHEMATHESIS_EXAMPLES", "25")
ROLES = ["anonymous", "admin", "finance", "provider", "enterprise"]


def main():
    binary, workdir = sys.argv[1], sys.argv[2]
    env = dict(os.environ)
    args = [binary, "demo", "--listen", "127.0.0.1:0"]
    if len(sys.argv) > 3:
        args += ["--database-url", sys.argv[3]]
    server = subprocess.Popen(
        args, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        passwords, base = {}, None
        deadline = time.time() + 120
        while base is None and time.time() < deadline:
            line = server.stdout.readline()
            if not line:
                raise SystemExit("the demo server stopped before listening")
            found = re.match(r"\s+(\w+)\s+(demo-\w+)\s+(\S+)$", line)
            if found:
                passwords[found.group(1)] = (found.group(2), found.group(3))
            if line.startswith("listening on "):
                base = line.split()[-1]
        if base is None:
            raise SystemExit("the demo server did not start in time")
        failed = []
        for role in ROLES:
            headers = []
            if role != "anonymous":
                username, password = passwords[role]
                token = token_for(base, username, password)
                headers = ["-H", f"Authorization: Bearer {token}"]
            command = [
                "st", "run", f"{base}/api/openapi.json",
                "--checks", CHECKS,
                "--max-examples", EXAMPLES,
                "--phases", "examples,fuzzing",
                "--generation-deterministic",
                "--workers", "1",
                "--request-timeout", "30",
                *headers,
            ]
            print(f"== schemathesis as {role}", flush=True)
            result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            summary = [l for l in result.stdout.splitlines() if re.search(r"(passed|failed|failures|errors?) in ", l) or "❌" in l]
            print("\n".join(summary[-8:]), flush=True)
            if result.returncode != 0:
                failed.append(role)
                print(result.stdout[-20000:], flush=True)
        if failed:
            print(f"schemathesis: failures as {', '.join(failed)}")
            return 1
        print(f"schemathesis: {len(ROLES)} roles, 0 failures")
        return 0
    finally:
        server.terminate()
        server.wait(timeout=30)


def token_for(base, username, password):
    """Logs in with a session, then creates an API token with it."""
    request = urllib.request.Request(
        f"{base}/api/v1/session",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        cookie = response.headers["set-cookie"].split(";")[0]
        csrf = json.loads(response.read())["csrf_token"]
    request = urllib.request.Request(
        f"{base}/api/v1/me/tokens",
        data=json.dumps({"name": "schemathesis", "ttl_days": 1}).encode(),
        headers={
            "content-type": "application/json",
            "cookie": cookie,
            "x-csrf-token": csrf,
            "idempotency-key": f"schemathesis-{username}-{time.time_ns()}",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["secret"]


if __name__ == "__main__":
    sys.exit(main())
