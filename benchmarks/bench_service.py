"""How fast does the decision service decide? Decisions per second and latency percentiles
at 16 and 64 concurrent clients on loopback, for each store, without and with the exact
propensity of every decision logged, and with an API key checked, next to the source
article's pattern (one store read per arm per decision, blocking calls inside ``async
def``), in the same run.

    .venv/bin/python benchmarks/bench_service.py                 # SQLite, and Redis if installed
    .venv/bin/python benchmarks/bench_service.py --requests 2000 --clients 16 --stores sqlite

For each configuration a fresh service runs in a subprocess on 127.0.0.1; the load comes
from this process: ``--clients`` keep-alive HTTP/1.1 connections (asyncio, raw sockets, so
the load generator costs little CPU), each sending its next request as soon as the last one
is answered. Reported per configuration:

* decisions/s over the measured requests;
"ours" is ``bandit-lab serve`` (one read of all arms, a posterior draw, one write that
records the decision under its id), with the store called as it is by default (SQLite:
on the event loop; Redis: ``redis.asyncio`` coroutines), from the thread pool for
comparison, and as two instances sharing the store (the clients split between them).

* p50 / p99 of the client-side latency (request sent -> response read): this includes
  waiting behind the other clients' requests in the server;
* p50 / p99 of the service's own time for the decision (``Server-Timing`` header: store
  read, posterior draw, store write), without the HTTP stack. With store calls inline this
  is pure work; with async or thread-pool calls it also holds the time the request waits
  for the event loop or a thread while the other clients' requests are served;
* the same with a reward sent (untimed) after every decision, so the posterior changes
  between decisions and the exact propensity must be computed anew (with one client, for
  every decision; with many, the decisions that arrive between two rewards share it);
* the store calls alone (no HTTP), in a loop in this process: ours (one read of all arms
  + one write of the decision) against the source's (one read per arm).

Prints figures; passes or fails nothing. The machine's load average is printed too: the
figures move with whatever else runs on it.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Response  # module level: the handler's annotations name them

ARMS = ("cashback_grocery_2pct", "travel_miles_3x", "balance_transfer_0apr",
        "business_expense_card", "premium_rewards_500bonus")
TARGET_P99_MS = 5.0


# ---------------------------------------------------------------------------------------
# The source article's service, re-created: GET /recommend/{customer_id}, async handler,
# one blocking store read per arm, no decision id.
# ---------------------------------------------------------------------------------------
def source_app(store, name):
    rng = np.random.default_rng(0)
    app = FastAPI()
    arms = store.spec(name).arms

    @app.get("/recommend/{customer_id}")
    async def recommend(customer_id: str, response: Response):
        started = time.perf_counter()
        best, best_sample = None, -1.0
        for k, arm in enumerate(arms):
            alpha, beta = store.read_arm(name, k)  # one blocking read per arm
            sample = rng.beta(alpha, beta)
            if sample > best_sample:
                best, best_sample = arm, sample
        response.headers["Server-Timing"] = f"decide;dur={(time.perf_counter() - started) * 1e3:.3f}"
        return {"customer_id": customer_id, "offer": best}

    return app


def serve_source(url, name):
    import uvicorn

    from bandit_lab.service.stores import open_store

    store = open_store(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    print(f"source pattern listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    uvicorn.Server(uvicorn.Config(source_app(store, name), log_level="warning",
                                  access_log=False, lifespan="off")).run(sockets=[sock])


def start_source(url, name):
    """The source-pattern server in a subprocess, wrapped like start_service's result."""
    import subprocess

    from bandit_lab.service.cli import ServiceProcess

    log_dir = Path(tempfile.mkdtemp(prefix="bench-source-"))
    log_path = log_dir / "source.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, __file__, "--serve-source", url, "--name", name],
                                stdout=log, stderr=subprocess.STDOUT,
                                env=dict(os.environ, PYTHONUNBUFFERED="1"))
    svc = ServiceProcess(proc, log_path, None)
    try:
        deadline = time.monotonic() + 60
        while svc.url is None and time.monotonic() < deadline:
            text = svc.log()
            if "listening on " in text:
                svc.url = text.split("listening on ")[1].split()[0]
            elif proc.poll() is not None:
                raise RuntimeError(text)
            time.sleep(0.05)
        return _wait_source(svc)
    except BaseException:
        svc.kill()  # never leave a server behind
        raise


def _wait_source(svc, timeout=30.0):
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(svc.url + "/recommend/warmup", timeout=2).status_code == 200:
                return svc
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("source-pattern server did not answer:\n" + svc.log())


# ---------------------------------------------------------------------------------------
# The load: N keep-alive connections, closed loop
# ---------------------------------------------------------------------------------------
async def _reward(reader, writer, body, i, keyed):
    """Send the reward of the decision whose response body is ``body`` (a success for every
    tenth request), read the answer: the posterior changes before the next decision."""
    decision_id = json.loads(body)["decision_id"]
    payload = json.dumps({"decision_id": decision_id, "reward": int(i % 10 == 0)}).encode()
    auth = b"Authorization: Bearer " + KEY.encode() + b"\r\n" if keyed else b""
    writer.write(b"POST /reward HTTP/1.1\r\nHost: bench\r\n" + auth
                 + b"Content-Type: application/json\r\nContent-Length: "
                 + str(len(payload)).encode() + b"\r\n\r\n" + payload)
    head, _, _ = await _read_answer(reader)
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"server answered the reward with {head[:40]!r}")


async def _read_answer(reader):
    """One HTTP/1.1 answer: (its head, the Server-Timing duration or None, its body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length, timing = 0, None
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        key = key.strip().lower()
        if key == b"content-length":
            length = int(value)
        elif key == b"server-timing":
            timing = float(value.split(b"dur=")[1])
    return head, timing, await reader.readexactly(length)


async def _one_client(host, port, request, n_warm, n_meas, counter, lat, srv, rewards=False):
    reader, writer = await asyncio.open_connection(host, port)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            i = counter[0]
            if i >= n_warm + n_meas:
                return
            counter[0] += 1
            t0 = time.perf_counter_ns()
            writer.write(request)
            head, timing, body = await _read_answer(reader)
            t1 = time.perf_counter_ns()
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"server answered {head[:40]!r}")
            if i >= n_warm:
                lat.append((t1 - t0) / 1e6)
                srv.append(timing)
            if rewards:  # not timed: only the decision's latency is reported
                await _reward(reader, writer, body, i, b"Authorization" in request)
    finally:
        writer.close()


async def _load(urls, request, clients, n_warm, n_meas, rewards=False):
    """``clients`` connections spread over ``urls`` (several instances: a load balancer)."""
    addresses = [u.removeprefix("http://").split(":") for u in urls]
    counter, lat, srv = [0], [], []
    t_start = time.perf_counter()
    tasks = [asyncio.create_task(_one_client(addresses[i % len(urls)][0],
                                             int(addresses[i % len(urls)][1]), request,
                                             n_warm, n_meas, counter, lat, srv, rewards))
             for i in range(clients)]
    await asyncio.gather(*tasks)
    return lat, srv, time.perf_counter() - t_start


def measure(urls, request, clients, n_requests, rewards=False):
    warm = min(500, n_requests // 4)
    asyncio.run(_load(urls, request, clients, warm, 0, rewards))  # warm-up: connections, caches
    lat, srv, wall = asyncio.run(_load(urls, request, clients, 0, n_requests, rewards))
    lat, srv = np.array(lat), np.array(srv)
    return {"rate": n_requests / wall, "p50": np.percentile(lat, 50), "p99": np.percentile(lat, 99),
            "s50": np.percentile(srv, 50), "s99": np.percentile(srv, 99)}


def store_only(url, name, n=2000):
    """Store calls for one decision, without HTTP: ours vs the source's per-arm reads."""
    from bandit_lab.service.stores import open_store

    store = open_store(url)
    out = {}
    t = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        store.read_vectors(name)
        store.record_decision(name, 0, ttl=60)
        t.append(time.perf_counter_ns() - t0)
    out["ours"] = np.percentile(np.array(t) / 1e6, [50, 99])
    t = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        for k in range(len(ARMS)):
            store.read_arm(name, k)
        t.append(time.perf_counter_ns() - t0)
    out["source"] = np.percentile(np.array(t) / 1e6, [50, 99])
    store.close()
    return out


def propensity_cost(n=2000):
    """Milliseconds the exact propensity adds to a decision (5 arms, Beta posteriors that
    change every time, so no cache helps): median and p99."""
    from bandit_lab.service.models import BetaSpec

    spec = BetaSpec(ARMS)
    rng = np.random.default_rng(0)
    t = []
    for _ in range(n):
        vectors = np.column_stack([1 + rng.integers(0, 200, 5), 1 + rng.integers(100, 4000, 5)])
        vectors = vectors.astype(float)
        t0 = time.perf_counter_ns()
        spec.propensities(vectors)
        t.append(time.perf_counter_ns() - t0)
    return np.percentile(np.array(t) / 1e6, [50, 99])


KEY = "bench-service-api-key-0123456789abcdef"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=2000, help="measured requests per row")
    p.add_argument("--clients", default="16,64", help="concurrent connections, comma-separated")
    p.add_argument("--stores", default="sqlite,redis", help="comma-separated: sqlite,redis")
    p.add_argument("--extra", action="store_true",
                   help="also: store calls in the thread pool, two instances")
    p.add_argument("--serve-source", default=None, help=argparse.SUPPRESS)
    p.add_argument("--name", default="offers", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve_source:
        serve_source(args.serve_source, args.name)
        return 0

    from bandit_lab.service.cli import start_redis, start_service
    from bandit_lab.service.models import BetaSpec
    from bandit_lab.service.stores import open_store

    tmp = Path(tempfile.mkdtemp(prefix="bench-service-"))
    redis = None
    urls = {}
    for kind in args.stores.split(","):
        if kind == "sqlite":
            urls["sqlite"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
        elif kind == "redis":
            if shutil.which("redis-server") is None:
                print("redis: skipped, no redis-server installed")
                continue
            redis = start_redis(tmp / "redis", appendfsync="everysec")
            urls["redis"] = redis.url
        else:
            p.error(f"unknown store {kind!r}")
    clients = [int(c) for c in args.clients.split(",")]

    print(f"bench_service: {args.requests} measured decisions per row, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    cost = propensity_cost()
    print(f"exact propensity alone (5 Beta arms, thompson_propensities): median "
          f"{cost[0]:.3f} ms, p99 {cost[1]:.3f} ms per decision")
    header = (f"{'store':7} {'clients':>7} {'pattern':40} {'decisions/s':>11} {'p50 ms':>7} "
              f"{'p99 ms':>7} {'in-service p50':>14} {'p99 ms':>7}")
    print(header)
    print("-" * len(header))
    plain = b"POST /decision HTTP/1.1\r\nHost: bench\r\nContent-Length: 0\r\n\r\n"
    keyed = (b"POST /decision HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer "
             + KEY.encode() + b"\r\nContent-Length: 0\r\n\r\n")
    src_req = b"GET /recommend/c42 HTTP/1.1\r\nHost: bench\r\n\r\n"
    results = {}
    try:
        for kind, url in urls.items():
            store = open_store(url)
            store.create("offers", BetaSpec(ARMS))
            store.close()

            def ours(*flags, n=1, url=url, keys=False):
                env = dict(os.environ, BANDIT_LAB_API_KEYS=KEY if keys else "")

                def start():
                    procs = [start_service("--seed", str(i), "--ttl", "600", "--no-access-log",
                                           *flags, store=url, wait=False, env=env)
                             for i in range(n)]
                    return [p.wait_ready() for p in procs]
                return start

            default = "inline" if kind == "sqlite" else "async client"
            rows = [(f"ours ({default}), no propensity", ours("--propensity", "off"), plain),
                    ("ours, exact propensity", ours("--propensity", "exact"), plain),
                    (f"ours ({default}), no propensity, rewards", ours("--propensity", "off"),
                     plain, True),
                    ("ours, exact propensity, rewards", ours("--propensity", "exact"), plain,
                     True),
                    ("ours, exact propensity, API key", ours("--propensity", "exact", keys=True),
                     keyed),
                    ("source: 1 read per arm, async def",
                     lambda url=url: [start_source(url, "offers")], src_req)]
            if args.extra:
                rows += [("ours, store calls in thread pool",
                          ours("--store-calls", "threads"), plain),
                         ("ours, 2 instances", ours(n=2), plain)]
            for label, start, request, *rewards in rows:
                services = start()
                try:
                    for n_clients in clients:
                        r = measure([s.url for s in services], request, n_clients, args.requests,
                                    rewards=bool(rewards))
                        results[(kind, n_clients, label)] = r
                        print(f"{kind:7} {n_clients:7d} {label:40} {r['rate']:11.0f} "
                              f"{r['p50']:7.2f} {r['p99']:7.2f} {r['s50']:14.3f} "
                              f"{r['s99']:7.3f}", flush=True)
                finally:
                    for svc in services:
                        svc.stop()
            s = store_only(url, "offers")
            print(f"{kind:7} store calls only, no HTTP: ours p50 {s['ours'][0]:.3f} ms "
                  f"p99 {s['ours'][1]:.3f} ms; source (read per arm) p50 {s['source'][0]:.3f} ms "
                  f"p99 {s['source'][1]:.3f} ms")
        for n_clients in clients:
            off = results.get(("sqlite", n_clients, "ours (inline), no propensity"))
            on = results.get(("sqlite", n_clients, "ours, exact propensity"))
            off_r = results.get(("sqlite", n_clients, "ours (inline), no propensity, rewards"))
            on_r = results.get(("sqlite", n_clients, "ours, exact propensity, rewards"))
            if off and on and off_r and on_r:
                print(f"target at {n_clients} clients: in-service p99 < {TARGET_P99_MS:g} ms with "
                      f"the embedded store: {on['s99']:.3f} ms with propensity, "
                      f"{off['s99']:.3f} ms without ({on_r['s99']:.3f} and {off_r['s99']:.3f} "
                      f"with rewards); the propensity adds {on_r['s50'] - off_r['s50']:.3f} ms "
                      f"at the median with a reward after every decision, {on['s50'] - off['s50']:.3f} "
                      f"ms without rewards (target < 0.5; with many clients, decisions "
                      f"between two rewards share a state and its cached propensity)")
        print(f"load average {os.getloadavg()[0]:.2f} at end")
    finally:
        if redis is not None:
            redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
