#!/usr/bin/env python3
"""Soak: `firstlog serve` under mixed abusive and normal load for a set time
(not part of `cargo test`; see soak.sh, which builds and starts the server).

Abusers, all the time: slowloris (headers one line every 2 s), idle floods
(connections that never send a byte), undrained reads (big pages asked for and
never read), huge headers (100 KB, expecting 431 with a JSON body). Normal
clients: writers posting single events and small batches with unique message
ids (retrying 503 and connection errors like an SDK), a reader paging counts,
and a health checker on /readyz. At the end the server is stopped (SIGTERM) and
every acknowledged message id must be in the store (read back with `firstlog
query`, read-only). Prints a summary; exits 1 on a lost event, a normal request
that failed for good, or a health check that failed.

Loopback only; every loop is bounded by the deadline; stops by itself.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

ADDR = os.environ["SOAK_ADDR"]  # host:port
KEY = os.environ["SOAK_KEY"]
TOKEN = os.environ["SOAK_TOKEN"]
DATA = os.environ["SOAK_DATA"]
BIN = os.environ["SOAK_BIN"]
PID = int(os.environ["SOAK_PID"])
SECONDS = int(os.environ.get("SOAK_SECONDS", "120"))
HOST, PORT = ADDR.rsplit(":", 1)
PORT = int(PORT)
DEADLINE = time.time() + SECONDS

lock = threading.Lock()
stats = {
    "writes_ok": 0, "writes_retried": 0, "writes_failed": 0,
    "reads_ok": 0, "reads_failed": 0, "health_ok": 0, "health_failed": 0,
    "slowloris_closed": 0, "idle_closed": 0, "undrained_closed": 0,
    "huge_header_431_json": 0, "huge_header_other": 0,
}
latencies = []
acked = set()


def bump(key, n=1):
    with lock:
        stats[key] += n


def connect(timeout=10):
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def request(method, path, body=b"", headers=(), timeout=30):
    """One request on a new connection; (status, body bytes)."""
    s = connect(timeout)
    try:
        head = f"{method} {path} HTTP/1.1\r\nHost: {ADDR}\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        s.sendall(head.encode() + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, data.split(b"\r\n\r\n", 1)[-1]


def closed_by_server(s, limit):
    """Waits (bounded) until the server closes `s`; True if it did."""
    s.settimeout(limit)
    try:
        while s.recv(65536):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


# ------------------------------------------------------------------ abusers

def slowloris():
    while time.time() < DEADLINE:
        try:
            s = connect()
            s.sendall(b"POST /events/track HTTP/1.1\r\nHost: x\r\n")
            i = 0
            while time.time() < DEADLINE:
                time.sleep(2)
                s.sendall(f"X-Slow-{i}: y\r\n".encode())
                i += 1
        except OSError:
            bump("slowloris_closed")
        time.sleep(0.1)


def idle():
    while time.time() < DEADLINE:
        try:
            s = connect()
            if closed_by_server(s, max(1, DEADLINE - time.time())):
                bump("idle_closed")
            s.close()
        except OSError:
            time.sleep(0.2)


def undrained():
    ask = f"GET /v1/sources/1/events?limit=10000 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
    while time.time() < DEADLINE:
        try:
            s = connect()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(ask)
            # Never read: wait for the server to give up on us, then take what
            # it had sent: a page cut short (no cursor line) and a closed socket.
            time.sleep(min(20, max(0, DEADLINE - time.time())))
            s.settimeout(15)
            data = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            if b"next_cursor" not in data:
                bump("undrained_closed")
            s.close()
        except OSError:
            time.sleep(0.2)


def huge_headers():
    big = "y" * (100 << 10)
    while time.time() < DEADLINE:
        try:
            status, body = request("GET", "/healthz", headers=[("X-Big", big)])
            ok = status == 431 and json.loads(body).get("status") == 431
            bump("huge_header_431_json" if ok else "huge_header_other")
        except (OSError, ValueError):
            bump("huge_header_other")
        time.sleep(0.5)


# ------------------------------------------------------------------ normal clients

def writer(w):
    n = 0
    while time.time() < DEADLINE:
        ids = [f"w{w}-{n}-{k}" for k in range(1 if n % 2 == 0 else 10)]
        n += 1
        items = [{"event": "Soak Tested", "write_key": KEY, "message_id": i, "properties": {"w": w}} for i in ids]
        path, payload = ("/events/track", items[0]) if len(items) == 1 else ("/events/track/bulk", items)
        body = json.dumps(payload).encode()
        for attempt in range(20):
            t0 = time.time()
            try:
                status, reply = request("POST", path, body, [("Content-Type", "application/json")])
            except OSError:
                status = 0
            if status == 200:
                with lock:
                    latencies.append(time.time() - t0)
                    stats["writes_ok"] += 1
                    if path == "/events/track":
                        acked.add(ids[0])
                    else:
                        for i, r in zip(ids, json.loads(reply)["results"]):
                            if r["status"] == 200:
                                acked.add(i)
                break
            bump("writes_retried")
            time.sleep(min(2, 0.05 * 2 ** attempt))
        else:
            bump("writes_failed")


def reader():
    while time.time() < DEADLINE:
        try:
            status, _ = request("GET", "/v1/sources/1/counts?by=day", headers=[("Authorization", f"Bearer {TOKEN}")])
            bump("reads_ok" if status == 200 else "reads_failed")
        except OSError:
            bump("reads_failed")
        time.sleep(0.5)


def health():
    while time.time() < DEADLINE:
        try:
            status, _ = request("GET", "/readyz", timeout=5)
            bump("health_ok" if status == 200 else "health_failed")
        except OSError:
            bump("health_failed")
        time.sleep(1)


def main():
    threads = []
    for f, n in [(slowloris, 60), (idle, 60), (undrained, 12), (huge_headers, 2), (writer, 6), (reader, 1), (health, 1)]:
        for i in range(n):
            args = (i,) if f is writer else ()
            threads.append(threading.Thread(target=f, args=args, daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1, DEADLINE - time.time() + 40))
    os.kill(PID, signal.SIGTERM)
    for _ in range(600):
        try:
            os.kill(PID, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    out = subprocess.run([BIN, "--data", DATA, "query", "--source", "1", "--name", "Soak Tested"],
                         capture_output=True, text=True, timeout=600, check=True).stdout
    stored = [json.loads(line)["message_id"] for line in out.splitlines() if line.strip()]
    lost = acked - set(stored)
    dupes = len(stored) - len(set(stored))
    lat = sorted(latencies)
    pct = lambda p: f"{lat[min(len(lat) - 1, int(p * len(lat)))] * 1000:.1f} ms" if lat else "-"
    print(f"soak: {SECONDS} s against {ADDR}")
    for k, v in stats.items():
        print(f"  {k}: {v}")
    print(f"  write latency p50 {pct(0.5)}, p99 {pct(0.99)}, max {pct(1.0)}")
    print(f"  acknowledged events {len(acked)}, stored {len(stored)}, lost {len(lost)}, stored twice {dupes}")
    bad = lost or dupes or stats["writes_failed"] or stats["health_failed"] or stats["reads_failed"] or stats["huge_header_other"]
    print("soak: FAILED" if bad else "soak: ok")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
