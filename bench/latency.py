"""Delivery latency of one conversation, both ways, measured inside two real browser pages.

Starts the app as in production (a private copy, its own SQLite database, migrated,
seeded, one staff account; `reflex run --env prod`), then opens headless Chromium
with two contexts: a shopper on /products/<id> with the widget open, and an agent
signed in on /agent with that conversation open.

Each message carries a unique marker. The sender's page records
`performance.timeOrigin + performance.now()` just before it submits the form
(the text is put in the input and the form submitted from inside the page, so
no Playwright round trip is timed); the receiver's page has a MutationObserver
that records the same clock when a `chat-message` holding the marker appears.
Both pages run on this machine, so they share that clock. Messages go one at a
time: the next is sent after the previous one arrived and the sender shows it
stored, plus a short gap (`--gap-ms`) for the read/seen marks it triggers.

Run: `python bench/latency.py` (or `--messages 20` for a quick look; `--url`
to measure a server that is already running, with the bench agent created).
"""

import argparse
import re
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent / "tests")]

from _serve import AGENT, PRODUCT, percentile, served_app  # noqa: E402

import browser  # noqa: E402  (tests/browser.py: which Chromium, and its launch arguments)

FLOOR_P50_MS = 10.0
FLOOR_P99_MS = 50.0
MESSAGE = '[data-testid="chat-message"]'

# Installed once in each page: a MutationObserver that timestamps wanted messages, and a sender.
PAGE_PROBE = """
(selector) => {
  if (window.__bench) return;
  const now = () => performance.timeOrigin + performance.now();
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
  b.send = (inputSelector, text) => {
    const input = document.querySelector(inputSelector);
    input.value = text;
    const t = now();
    input.form.requestSubmit();
    return t;
  };
}
"""

ENABLED = "(s) => { const el = document.querySelector(s); return !!el && !el.disabled; }"
# Installed before any page script: timestamps the socket frames that carry a marker (first seen), so a
# delivery splits into sender page → socket, socket → socket (server and loopback), socket → DOM.
SOCKET_PROBE = r"""
(() => {
  const now = () => performance.timeOrigin + performance.now();
  const seen = window.__benchFrames = {sent: new Map(), recv: new Map(), frames: 0, bytes: 0};
  const count = (data) => {
    seen.frames += 1;
    seen.bytes += typeof data === 'string' ? data.length : (data.byteLength || 0);
  };
  const note = (map, data) => {
    if (typeof data !== 'string' || !data.includes('bench m')) return;
    const t = now();
    for (const m of data.matchAll(/bench (m[0-9a-f]+x[sa]\d{4})/g)) if (!map.has(m[1])) map.set(m[1], t);
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
FRAMES = "([m, kind]) => window.__benchFrames[kind].get(m) ?? null"
RECEIVED = "() => [window.__benchFrames.frames, window.__benchFrames.bytes]"

SHOPPER_INPUT = '[data-testid="chat-input"]'
AGENT_INPUT = '[data-testid="agent-reply-input"]'


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
        help="pause after each message once delivered, for the read marks it triggers (default 100)",
    )
    parser.add_argument(
        "--timeout-ms", type=int, default=10_000, help="give up on a message after this (default 10000)"
    )
    parser.add_argument("--product", default=PRODUCT, help=f"product page the shopper chats on (default {PRODUCT})")
    parser.add_argument("--url", help="measure this running server instead of starting one (needs the bench agent)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the floor is not met")
    return parser.parse_args(argv)


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


def one_message(
    sender, receiver, *, input_selector: str, author: str, marker: str, timeout_ms: int, gap_ms: int
) -> tuple[float, float, tuple[float, float, float] | None]:
    """Send one message from `sender`.

    Returns ms until it appeared in `receiver`, ms until the sender showed it stored, and the delivery split
    into (sender page until its socket sent it, socket to the receiver's socket, receiver's socket to DOM).
    """
    receiver.evaluate("([m, a]) => window.__bench.expect(m, a)", [marker, author])
    sender.evaluate("([m, a]) => window.__bench.expect(m, a)", [marker, author])  # the sender's own stored copy
    sent_at = sender.evaluate("([s, text]) => window.__bench.send(s, text)", [input_selector, f"bench {marker}"])
    arrived_at = receiver.evaluate("([m, ms]) => window.__bench.wait(m, ms)", [marker, timeout_ms])
    echoed_at = sender.evaluate("([m, ms]) => window.__bench.wait(m, ms)", [marker, timeout_ms])
    socket_sent_at = sender.evaluate(FRAMES, [marker, "sent"])
    socket_received_at = receiver.evaluate(FRAMES, [marker, "recv"])
    time.sleep(gap_ms / 1000)
    parts = None
    if socket_sent_at is not None and socket_received_at is not None:
        parts = (socket_sent_at - sent_at, socket_received_at - socket_sent_at, arrived_at - socket_received_at)
    return arrived_at - sent_at, echoed_at - sent_at, parts


def summary(name: str, values: list[float]) -> tuple[str, bool]:
    p50, p90, p99 = (percentile(values, q) for q in (50, 90, 99))
    met = p50 < FLOOR_P50_MS and p99 < FLOOR_P99_MS
    line = (
        f"{name:<17} n={len(values):<4} p50={p50:7.2f}  p90={p90:7.2f}  p99={p99:7.2f}  max={max(values):7.2f}  "
        f"mean={statistics.fmean(values):7.2f} ms   floor (p50<{FLOOR_P50_MS:g}, p99<{FLOOR_P99_MS:g}): "
        f"{'met' if met else 'NOT met'}"
    )
    return line, met


def server_cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system) of the server's process tree so far; 0 when it is not ours."""
    if pid is None:
        return 0.0
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


def measure(url: str, args: argparse.Namespace, server_pid: int | None = None) -> bool:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=browser.executable_path(), args=browser.LAUNCH_ARGS)
        try:
            contexts = [chromium.new_context(viewport={"width": 1280, "height": 800}) for _ in range(2)]
            for context in contexts:
                context.add_init_script(SOCKET_PROBE)
            agent, shopper = (context.new_page() for context in contexts)
            agent.set_default_timeout(30_000)
            shopper.set_default_timeout(30_000)
            sign_in(agent, url)
            open_widget(shopper, url, args.product)

            opening = f"bench opening {secrets.token_hex(4)}"
            shopper.get_by_test_id("chat-input").fill(opening)
            shopper.get_by_test_id("chat-input").press("Enter")
            shopper.locator(f"{MESSAGE}[data-seq]").filter(has_text=opening).wait_for()
            item = agent.get_by_test_id("agent-conversation-item").filter(has_text=opening)
            item.click()
            agent.get_by_test_id("agent-thread").get_by_text(opening).wait_for()
            for page in (agent, shopper):
                page.evaluate(PAGE_PROBE, MESSAGE)

            run = secrets.token_hex(3)
            results: dict[str, list[float]] = {"shopper → agent": [], "agent → shopper": []}
            echoes: dict[str, list[float]] = {"shopper → agent": [], "agent → shopper": []}
            splits: dict[str, list[tuple[float, float, float]]] = {"shopper → agent": [], "agent → shopper": []}
            total = args.warmup + args.messages
            work_start = None
            for i in range(total):
                if i == args.warmup:
                    work_start = (server_cpu_seconds(server_pid), shopper.evaluate(RECEIVED), agent.evaluate(RECEIVED))
                for name, sender, receiver, input_selector, author in (
                    ("shopper → agent", shopper, agent, SHOPPER_INPUT, "shopper"),
                    ("agent → shopper", agent, shopper, AGENT_INPUT, "agent"),
                ):
                    ms, echo_ms, parts = one_message(
                        sender,
                        receiver,
                        input_selector=input_selector,
                        author=author,
                        marker=f"m{run}x{author[0]}{i:04d}",
                        timeout_ms=args.timeout_ms,
                        gap_ms=args.gap_ms,
                    )
                    if i >= args.warmup:
                        results[name].append(ms)
                        echoes[name].append(echo_ms)
                        if parts is not None:
                            splits[name].append(parts)
                if (i + 1) % 25 == 0:
                    print(f"  {i + 1}/{total} round trips", file=sys.stderr, flush=True)
            work_end = (server_cpu_seconds(server_pid), shopper.evaluate(RECEIVED), agent.evaluate(RECEIVED))
        finally:
            chromium.close()

    print(
        f"delivery latency, one conversation, {args.messages} messages each way "
        f"(after {args.warmup} warm-up), sent one at a time, {args.gap_ms} ms gap:"
    )
    met_all = True
    for name, values in results.items():
        line, met = summary(name, values)
        met_all &= met
        print("  " + line)
    print("for reference, the sender's own page showing the message stored (not the floor):")
    for name, values in echoes.items():
        p50, p99 = percentile(values, 50), percentile(values, 99)
        print(f"  {name.split(' ')[0] + ' own copy':<17} p50={p50:7.2f}  p99={p99:7.2f}  max={max(values):7.2f} ms")
    print("where the time goes (p50 / p99 ms of each part, from the pages' socket frames):")
    for name, rows in splits.items():
        if not rows:
            continue
        cells = []
        labels = ("sender page→socket", "socket→socket (server)", "socket→DOM (receiver)")
        for label, column in zip(labels, zip(*rows, strict=True), strict=True):
            cells.append(f"{label} {percentile(list(column), 50):6.2f} / {percentile(list(column), 99):6.2f}")
        print(f"  {name:<17} " + "   ".join(cells))
    sent = 2 * args.messages
    print(f"work per message in the measured run ({sent} messages, both ways):")
    if server_pid is not None:
        print(f"  server CPU {(work_end[0] - work_start[0]) * 1000 / sent:.1f} ms")
    for name, index in (("shopper page", 1), ("agent page", 2)):
        frames, size = (end - start for end, start in zip(work_end[index], work_start[index], strict=True))
        print(f"  {name} received {frames / sent:.1f} socket frames, {size / 1024 / sent:.1f} KiB")
    print(
        f"issue floor (p50 < {FLOOR_P50_MS:g} ms and p99 < {FLOOR_P99_MS:g} ms each way): "
        f"{'MET' if met_all else 'NOT MET'}"
    )
    return met_all


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
