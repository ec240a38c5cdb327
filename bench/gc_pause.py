"""How long one full garbage-collection pass stalls the server, before and after `gc.freeze()`.

Loads and compiles the demo app in this process, as the server does at start,
then times full collections. Every full pass stops the event loop, so it is a
delay every live message waiting at that moment pays. The demo app freezes its
start-up heap in a lifespan task (rxchat/rxchat.py); this shows why.

Run: `python bench/gc_pause.py` (about 20 s: it compiles the pages once).
"""

import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSES = 5


def full_pass_ms() -> float:
    started = time.perf_counter()
    gc.collect()
    return (time.perf_counter() - started) * 1000


def main() -> int:
    os.chdir(ROOT)  # rxconfig.py and assets/ are found from the app's directory
    os.environ.setdefault("REFLEX_DB_URL", f"sqlite:///{tempfile.mkdtemp(prefix='rxchat-gc-')}/unused.db")
    import rxchat.rxchat as demo

    demo.app._compile(prerender_routes=False)  # what a starting server builds and keeps
    tracked = len(gc.get_objects())
    before = [full_pass_ms() for _ in range(PASSES)]
    gc.freeze()
    after = [full_pass_ms() for _ in range(PASSES)]
    print(f"objects the collector tracks after start-up: {tracked:,}")
    print(f"one full collection pass, median of {PASSES}:")
    print(f"  before gc.freeze(): {statistics.median(before):7.1f} ms  (max {max(before):.1f})")
    print(f"  after gc.freeze():  {statistics.median(after):7.1f} ms  (max {max(after):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
