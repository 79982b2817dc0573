"""`serve` under bursts of parallel range requests, as a page and a podcast app make them.

Each round starts `interview-audio serve` fresh (its port awaited with a bare TCP connect, so
no request warms it up), then sends range requests from a pool of threads with urllib (one
connection each), and then the same number over keep-alive connections with http.client.
Prints the answers by status, wrong bodies, and the time each burst took.

    python benchmarks/serve_burst.py [--rounds 5] [--requests 200] [--parallel 50]
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).parents[1]
SHORT = ROOT / "tests" / "fixtures" / "listen_short.txt"


def render(folder: Path) -> Path:
    """An output folder with one short episode (eSpeak NG); its episode.mp3."""
    subprocess.run(
        [sys.executable, "-m", "interview_audio", "render", str(SHORT), "--engine", "espeak"]
        + ["-o", str(folder / "out"), "--cache-dir", str(folder / "cache"), "-q"],
        check=True,
    )
    return next((folder / "out").glob("*/episode.mp3"))


def start(root: Path) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "interview_audio", "serve", str(root), "--port", "0", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    port = int(first.split("http://127.0.0.1:")[1].split("/")[0])
    socket.create_connection(("127.0.0.1", port), timeout=10).close()
    return process, port


def spans(size: int, count: int) -> list[tuple[int, int]]:
    return [((i * 7919) % (size - 70_000), 0) for i in range(count)]


def burst(url: str, data: bytes, count: int, parallel: int) -> tuple[Counter[int], int, float]:
    """`count` range requests, `parallel` at a time, one connection each."""
    asked = [
        (start, start + 999 + (i * 4099) % 60_000)
        for i, (start, _) in enumerate(spans(len(data), count))
    ]

    def fetch(span: tuple[int, int]) -> tuple[int, bool]:
        request = urllib.request.Request(url, headers={"Range": f"bytes={span[0]}-{span[1]}"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read() == data[span[0] : span[1] + 1]
        except urllib.error.HTTPError as exc:
            return exc.code, False
        except OSError:
            return 0, False

    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        answers = list(pool.map(fetch, asked))
    elapsed = time.perf_counter() - started
    wrong = sum(1 for status, right in answers if status == 206 and not right)
    return Counter(status for status, _ in answers), wrong, elapsed


def kept_alive(
    port: int, path: str, data: bytes, count: int, players: int
) -> tuple[Counter[int], int, float]:
    """`count` range requests over `players` connections kept open, in parallel."""
    asked = [(start, start + 9_999) for start, _ in spans(len(data), count)]

    def player(mine: list[tuple[int, int]]) -> list[tuple[int, bool]]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.connect()
        first = connection.sock
        results = []
        for start, end in mine:
            connection.request("GET", path, headers={"Range": f"bytes={start}-{end}"})
            response = connection.getresponse()
            body = response.read()
            results.append(
                (response.status, body == data[start : end + 1] and connection.sock is first)
            )
        connection.close()
        return results

    started = time.perf_counter()
    with ThreadPoolExecutor(players) as pool:
        answers = [
            a
            for part in pool.map(player, [asked[i::players] for i in range(players)])
            for a in part
        ]
    elapsed = time.perf_counter() - started
    wrong = sum(1 for status, right in answers if status == 206 and not right)
    return Counter(status for status, _ in answers), wrong, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=50)
    parser.add_argument("--players", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        mp3 = render(Path(tmp))
        data = mp3.read_bytes()
        root = mp3.parents[1]
        path = "/" + quote(mp3.parent.name) + "/episode.mp3"
        totals: Counter[int] = Counter()
        alive: Counter[int] = Counter()
        for number in range(1, args.rounds + 1):
            process, port = start(root)
            statuses, wrong, elapsed = burst(
                f"http://127.0.0.1:{port}{path}", data, args.requests, args.parallel
            )
            kept, kept_wrong, kept_elapsed = kept_alive(
                port, path, data, args.requests, args.players
            )
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
            totals += statuses
            alive += kept
            print(
                f"round {number}: burst {dict(sorted(statuses.items()))}, {wrong} wrong bodies, "
                f"{elapsed:.2f} s ({args.requests / elapsed:.0f}/s); keep-alive "
                f"{dict(sorted(kept.items()))}, {kept_wrong} wrong or reconnected, "
                f"{kept_elapsed:.2f} s ({args.requests / kept_elapsed:.0f}/s)"
            )
        print(
            f"all bursts: {dict(sorted(totals.items()))}; keep-alive: {dict(sorted(alive.items()))}"
        )


if __name__ == "__main__":
    main()
