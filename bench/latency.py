"""Delivery latency of one conversation, both ways, measured inside two real browser pages.

Starts the app as in production (a private copy, its own SQLite database, migrated,
seeded, one staff account; `reflex run --env prod`), then two headless Chromium
browsers, one per person: a shopper on /products/<id> with the widget open, and an
agent signed in on /agent with that conversation open.

Playwright sets the two pages up and then disconnects: the conversation itself runs
inside the pages with no automation attached, as it would between two people. (While
Playwright is attached, every socket frame is also reported to its driver, and each
step of a script is a round trip through it; on this machine's 2 cores that work ran
beside every delivery. bench/README.md has figures measured both ways.)

The pages take turns. The shopper sends; the agent's page sees the message, waits
`--gap-ms`, and replies; the shopper's page sees the reply, waits, and sends the next.
Each message carries a unique marker. The sender puts the text in the input, lets
the page lay it out (as typing would have), then records `performance.now()` and
submits the form; the receiver's MutationObserver records its own `performance.now()`
when a stored `chat-message` holding the marker appears. The pages post their records
to a small loopback HTTP listener of this script.

One clock for both pages: each page's `performance.now()` is steady but starts at its
own navigation, and `performance.timeOrigin` comes from the wall clock at that moment,
which here ran 0.5% fast against the steady clock: two pages set up 2.5 s apart
disagreed by ~12 ms, which moved that much from one direction's figures to the other's.
So every timestamp also samples `Date.now()` (the one wall clock both browsers read, in
whole milliseconds), and each page's steady clock is mapped onto it by a least-squares
line through those samples (hundreds per page, so the fit is good to a few microseconds).

Run: `python bench/latency.py` (or `--messages 20` for a quick look; `--url`
to measure a server that is already running, with the bench agent created).
"""

import argparse
import contextlib
import http.server
import json
import queue
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _serve import AGENT, PRODUCT, percentile, served_app

import browser  # noqa: E402  (tests/browser.py: which Chromium, and its launch arguments)

FLOOR_P50_MS = 10.0
FLOOR_P99_MS = 50.0
MESSAGE = '[data-testid="chat-message"]'
SHOPPER_INPUT = '[data-testid="chat-input"]'
AGENT_INPUT = '[data-testid="agent-reply-input"]'
DIRECTIONS = {"shopper → agent": ("shopper", "agent", "s"), "agent → shopper": ("agent", "shopper", "a")}

# Launched by this script, not by Playwright, so that it can detach and leave the pages running.
CHROMIUM_ARGS = [
    *browser.LAUNCH_ARGS,
    "--headless",
    "--remote-debugging-port=0",
    "--window-size=1280,800",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-dev-shm-usage",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--mute-audio",
]

# Installed before any page script: timestamps the socket frames that carry a marker (first seen), so a
# delivery splits into sender page → socket, socket → socket (server and loopback), socket → DOM.
SOCKET_PROBE = r"""
(() => {
  // Every timestamp also samples the wall clock both browsers share (see `shared_clock`).
  const clock = window.__benchClock = [];
  const now = window.__benchNow = () => {
    const t = performance.now();
    clock.push([t, Date.now()]);
    return t;
  };
  const seen = window.__benchFrames = {sent: {}, recv: {}, frames: 0, bytes: 0};
  const count = (data) => {
    seen.frames += 1;
    seen.bytes += typeof data === 'string' ? data.length : (data.byteLength || 0);
  };
  const note = (record, data) => {
    if (typeof data !== 'string' || !data.includes('bench m')) return;
    const t = now();
    for (const m of data.matchAll(/bench (m[0-9a-f]+x[sa]\d{4})/g)) if (!(m[1] in record)) record[m[1]] = t;
  };
  const Native = window.WebSocket;
  class Probed extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => { count(e.data); note(seen.recv, e.data); });
    }
    send(data) { note(seen.sent, data); return super.send(data); }
  }
  window.WebSocket = Probed;
})();
"""

# Installed in each page once it is set up: a MutationObserver that timestamps wanted messages, and the
# page's side of the conversation (`converse`), which posts its records to the script when it is done.
PAGE_PROBE = """
(selector) => {
  if (window.__bench) return;
  const now = window.__benchNow;
  const b = window.__bench = {want: new Map(), got: new Map(), waiters: new Map()};
  const check = () => {
    if (b.want.size === 0) return;
    const t = now();
    const nodes = document.querySelectorAll(selector);
    for (const [marker, author] of b.want) {
      for (let i = nodes.length - 1; i >= 0; i--) {
        const n = nodes[i];
        // Stored messages carry data-seq; a shopper's own `sending` bubble does not.
        if (n.dataset.author === author && n.hasAttribute('data-seq') && n.textContent.includes(marker)) {
          b.want.delete(marker);
          b.got.set(marker, t);
          const resolve = b.waiters.get(marker);
          if (resolve) { b.waiters.delete(marker); resolve(t); }
          break;
        }
      }
    }
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, characterData: true});
  b.expect = (marker, author) => { b.want.set(marker, author); check(); };
  b.wait = (marker, ms) => new Promise((resolve, reject) => {
    if (b.got.has(marker)) return resolve(b.got.get(marker));
    b.waiters.set(marker, resolve);
    setTimeout(() => reject(new Error('not seen within ' + ms + ' ms: ' + marker)), ms);
  });
  const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  b.converse = async ({role, input, run, total, warmup, gapMs, timeoutMs, report}) => {
    const post = (kind, body) =>
      fetch(report + '/' + kind, {method: 'POST', mode: 'no-cors', body: JSON.stringify({role, ...body})});
    const marker = (side, i) => 'm' + run + 'x' + side + String(i).padStart(4, '0');
    const frames = () => [window.__benchFrames.frames, window.__benchFrames.bytes];
    const [mine, theirs] = role === 'shopper' ? ['s', 'a'] : ['a', 's'];
    const author = {s: 'shopper', a: 'agent'};
    const record = {sent: {}, echo: {}, got: {}, warm: null};
    try {
      if (role === 'agent') b.expect(marker('s', 0), 'shopper');
      for (let i = 0; i < total; i++) {
        if (i === warmup) {
          record.warm = frames();
          post('warm', {});
        }
        const own = marker(mine, i), other = marker(theirs, i);
        if (role === 'agent') {  // answer the shopper's message i, a gap after it arrived
          record.got[other] = await b.wait(other, timeoutMs);
          if (i + 1 < total) b.expect(marker('s', i + 1), 'shopper');
          await sleep(gapMs);
        } else {
          b.expect(other, 'agent');
        }
        const box = document.querySelector(input);
        box.value = 'bench ' + own;
        await frame(); await frame();  // laid out, as it would be after typing
        b.expect(own, author[mine]);
        record.sent[own] = now();
        box.form.requestSubmit();
        record.echo[own] = await b.wait(own, timeoutMs);
        if (role === 'shopper') {  // the agent's answer, then a gap before the next message
          record.got[other] = await b.wait(other, timeoutMs);
          await sleep(gapMs);
          if ((i + 1) % 25 === 0) post('progress', {done: i + 1});
        }
      }
      post('done', {record, frames: window.__benchFrames, end: frames(), clock: window.__benchClock});
    } catch (error) {
      post('failed', {error: String(error)});
    }
  };
}
"""

ENABLED = "(s) => { const el = document.querySelector(s); return !!el && !el.disabled; }"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Measure chat delivery latency shopper→agent and agent→shopper inside two browser pages."
    )
    parser.add_argument("--messages", type=int, default=100, help="messages measured each way (default 100)")
    parser.add_argument("--warmup", type=int, default=5, help="messages each way sent first, not counted (default 5)")
    parser.add_argument(
        "--gap-ms",
        type=int,
        default=100,
        help="pause before each message once the previous one arrived, for the read marks it triggers (default 100)",
    )
    parser.add_argument(
        "--timeout-ms", type=int, default=10_000, help="give up on a message after this (default 10000)"
    )
    parser.add_argument("--product", default=PRODUCT, help=f"product page the shopper chats on (default {PRODUCT})")
    parser.add_argument("--url", help="measure this running server instead of starting one (needs the bench agent)")
    parser.add_argument("--save", metavar="FILE", help="also write the pages' raw records (JSON) to FILE")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the floor is not met")
    return parser.parse_args(argv)


@contextlib.contextmanager
def chromium(executable: str):
    """A headless Chromium of its own (own profile); yields its DevTools endpoint."""
    profile = tempfile.mkdtemp(prefix="rxchat-bench-browser-")
    process = subprocess.Popen(
        [executable, *CHROMIUM_ARGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        endpoint = None
        for line in process.stderr:
            if found := re.search(r"DevTools listening on (ws://\S+)", line):
                endpoint = found.group(1)
                break
        if endpoint is None:
            raise RuntimeError(f"Chromium exited before it listened (code {process.wait()})")
        threading.Thread(target=process.stderr.read, daemon=True).start()  # never let its pipe fill up
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)


class Reports:
    """A loopback HTTP listener the pages post to while no automation is attached: (kind, body) in order."""

    def __init__(self) -> None:
        self.posts: queue.Queue[tuple[str, dict]] = queue.Queue()
        posts = self.posts

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server name)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                self.send_response(204)
                self.end_headers()
                posts.put((self.path.strip("/"), body))

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def next(self, timeout: float) -> tuple[str, dict]:
        return self.posts.get(timeout=timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def sign_in(page, url: str) -> None:
    page.goto(f"{url}/agent/login")
    page.get_by_test_id("agent-login-submit").wait_for()
    page.wait_for_function(ENABLED, arg='[data-testid="agent-login-submit"]')
    page.get_by_test_id("agent-login-email").fill(AGENT["email"])
    page.get_by_test_id("agent-login-password").fill(AGENT["password"])
    page.get_by_test_id("agent-login-submit").click()
    page.wait_for_url(re.compile(r".*/agent$"))
    page.get_by_test_id("agent-inbox").wait_for()


def open_widget(page, url: str, product: str) -> None:
    page.goto(f"{url}/products/{product}")
    page.wait_for_function(ENABLED, arg='[data-testid="chat-launcher"]')
    page.get_by_test_id("chat-launcher").click()
    page.get_by_test_id("chat-panel").wait_for()


def set_up_pages(p, endpoints: dict[str, str], url: str, product: str) -> tuple[dict, dict]:
    """Sign the agent in, open the shopper's widget, start the conversation, open it in the console.
    Returns the pages and the connected browsers, by role."""
    browsers = {role: p.chromium.connect_over_cdp(endpoint) for role, endpoint in endpoints.items()}
    try:
        pages = {}
        for role, connected in browsers.items():
            context = connected.contexts[0]
            context.add_init_script(SOCKET_PROBE)
            pages[role] = context.pages[0] if context.pages else context.new_page()
            pages[role].set_default_timeout(30_000)
        agent, shopper = pages["agent"], pages["shopper"]
        sign_in(agent, url)
        open_widget(shopper, url, product)
        opening = f"bench opening {secrets.token_hex(4)}"
        shopper.get_by_test_id("chat-input").fill(opening)
        shopper.get_by_test_id("chat-input").press("Enter")
        shopper.locator(f"{MESSAGE}[data-seq]").filter(has_text=opening).wait_for()
        agent.get_by_test_id("agent-conversation-item").filter(has_text=opening).click()
        agent.get_by_test_id("agent-thread").get_by_text(opening).wait_for()
        for page in (agent, shopper):
            page.evaluate(PAGE_PROBE, MESSAGE)
        return pages, browsers
    except BaseException:
        for connected in browsers.values():
            connected.close()
        raise


def converse(p, endpoints: dict[str, str], url: str, args: argparse.Namespace, server_pid: int | None) -> dict:
    """Run the conversation in the pages with Playwright detached; the pages' records and the server's CPU."""
    reports = Reports()
    try:
        pages, browsers = set_up_pages(p, endpoints, url, args.product)
        options = {
            "run": secrets.token_hex(3),
            "total": args.warmup + args.messages,
            "warmup": args.warmup,
            "gapMs": args.gap_ms,
            "timeoutMs": args.timeout_ms,
            "report": reports.url,
        }
        for role, input_selector in (("agent", AGENT_INPUT), ("shopper", SHOPPER_INPUT)):
            # Not awaited: the page goes on by itself once Playwright has let go.
            pages[role].evaluate(
                "(o) => { window.__bench.converse(o); }", {**options, "role": role, "input": input_selector}
            )
        for connected in browsers.values():
            connected.close()  # a connected browser's default context stays open: this only detaches

        records, cpu_start, cpu_end = {}, None, None
        deadline = time.monotonic() + options["total"] * 2 * (args.gap_ms + args.timeout_ms) / 1000 + 30
        while len(records) < 2:
            kind, body = reports.next(timeout=max(1.0, deadline - time.monotonic()))
            if kind == "warm" and body["role"] == "shopper":
                cpu_start = server_cpu_seconds(server_pid)
            elif kind == "progress":
                print(f"  {body['done']}/{options['total']} round trips", file=sys.stderr, flush=True)
            elif kind == "done":
                records[body["role"]] = body
                if body["role"] == "shopper":
                    cpu_end = server_cpu_seconds(server_pid)
            elif kind == "failed":
                raise RuntimeError(f"the {body['role']}'s page stopped: {body['error']}")
        return {"records": records, "options": options, "server_cpu": (cpu_start, cpu_end)}
    except queue.Empty:
        raise RuntimeError("the pages stopped reporting") from None
    finally:
        reports.close()


def summary(name: str, values: list[float]) -> tuple[str, bool]:
    p50, p90, p99 = (percentile(values, q) for q in (50, 90, 99))
    met = p50 < FLOOR_P50_MS and p99 < FLOOR_P99_MS
    line = (
        f"{name:<17} n={len(values):<4} p50={p50:7.2f}  p90={p90:7.2f}  p99={p99:7.2f}  max={max(values):7.2f}  "
        f"mean={statistics.fmean(values):7.2f} ms   floor (p50<{FLOOR_P50_MS:g}, p99<{FLOOR_P99_MS:g}): "
        f"{'met' if met else 'NOT met'}"
    )
    return line, met


def server_cpu_seconds(pid: int | None) -> float | None:
    """CPU time (user + system) of the server's process tree so far; None when it is not ours."""
    if pid is None:
        return None
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for process in (root, *root.children(recursive=True)):
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def shared_clock(records: dict) -> float:
    """Put both pages' timestamps on one clock, in place; returns the steady clocks' rate against it.

    Each page sampled (performance.now(), Date.now()) with every timestamp. Date.now() is the wall
    clock in whole milliseconds, the same for both browsers; a least-squares line through a page's
    samples (+0.5 for the truncation) maps its steady clock onto it. Milliseconds of the wall clock
    then stand for milliseconds of time: their rate differs by a fraction of a percent."""
    fits = {role: statistics.linear_regression(*zip(*body["clock"], strict=True)) for role, body in records.items()}
    base = min(intercept for _, intercept in fits.values())  # keeps the numbers small
    for role, body in records.items():
        slope, intercept = fits[role]
        for times in (
            *(body["record"][k] for k in ("sent", "echo", "got")),
            body["frames"]["sent"],
            body["frames"]["recv"],
        ):
            for marker, t in times.items():
                times[marker] = intercept + 0.5 - base + slope * t
    return statistics.fmean(slope for slope, _ in fits.values())


def report(result: dict, args: argparse.Namespace) -> bool:
    records, options = result["records"], result["options"]
    measured = range(args.warmup, options["total"])
    rate = shared_clock(records)
    print(
        f"delivery latency, one conversation, {args.messages} messages each way "
        f"(after {args.warmup} warm-up), taking turns, {args.gap_ms} ms gap, no automation attached "
        f"(both pages on the wall clock, which ran at {rate:.4f}× their steady clocks):"
    )
    met_all = True
    splits = {}
    for name, (sender, receiver, side) in DIRECTIONS.items():
        sent, got = records[sender]["record"], records[receiver]["record"]
        markers = [f"m{options['run']}x{side}{i:04d}" for i in measured]
        values = [got["got"][m] - sent["sent"][m] for m in markers]
        line, met = summary(name, values)
        met_all &= met
        print("  " + line)
        out, into = records[sender]["frames"]["sent"], records[receiver]["frames"]["recv"]
        splits[name] = [
            (out[m] - sent["sent"][m], into[m] - out[m], got["got"][m] - into[m])
            for m in markers
            if m in out and m in into
        ]
    print("for reference, the sender's own page showing the message stored (not the floor):")
    for sender, _receiver, side in DIRECTIONS.values():
        own = records[sender]["record"]
        values = [own["echo"][m] - own["sent"][m] for m in (f"m{options['run']}x{side}{i:04d}" for i in measured)]
        p50, p99 = percentile(values, 50), percentile(values, 99)
        print(f"  {sender + ' own copy':<17} p50={p50:7.2f}  p99={p99:7.2f}  max={max(values):7.2f} ms")
    print("where the time goes (p50 / p99 ms of each part, from the pages' socket frames):")
    labels = ("sender page→socket", "socket→socket (server)", "socket→DOM (receiver)")
    for name, rows in splits.items():
        if rows:
            cells = [
                f"{label} {percentile(list(column), 50):6.2f} / {percentile(list(column), 99):6.2f}"
                for label, column in zip(labels, zip(*rows, strict=True), strict=True)
            ]
            print(f"  {name:<17} " + "   ".join(cells))
    sent_count = 2 * args.messages
    print(f"work per message in the measured run ({sent_count} messages, both ways):")
    cpu_start, cpu_end = result["server_cpu"]
    if cpu_start is not None and cpu_end is not None:
        print(f"  server CPU {(cpu_end - cpu_start) * 1000 / sent_count:.1f} ms")
    for role in ("shopper", "agent"):
        body = records[role]
        frames, size = (end - start for end, start in zip(body["end"], body["record"]["warm"], strict=True))
        print(f"  {role} page received {frames / sent_count:.1f} socket frames, {size / 1024 / sent_count:.1f} KiB")
    print(
        f"issue floor (p50 < {FLOOR_P50_MS:g} ms and p99 < {FLOOR_P99_MS:g} ms each way): "
        f"{'MET' if met_all else 'NOT MET'}"
    )
    return met_all


def measure(url: str, args: argparse.Namespace, server_pid: int | None = None) -> bool:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        executable = browser.executable_path() or p.chromium.executable_path
        with chromium(executable) as agent_endpoint, chromium(executable) as shopper_endpoint:
            endpoints = {"agent": agent_endpoint, "shopper": shopper_endpoint}
            result = converse(p, endpoints, url, args, server_pid)
    if args.save:
        Path(args.save).write_text(json.dumps(result))
    return report(result, args)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.messages < 1:
        print("--messages must be at least 1", file=sys.stderr)
        return 2
    if args.url:
        met = measure(args.url.rstrip("/"), args)
    else:
        with served_app() as server:
            met = measure(server.url, args, server_pid=server.process.pid)
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
