"""Markdown tables of a run's figures, for docs/performance.md: `python bench/tables.py [latest.json]`."""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cell(value, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}" if isinstance(value, int | float) else str(value)


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else HERE / "results" / "latest.json"
    run = json.loads(path.read_text())
    s = run["scenarios"]
    m = run["machine"]
    print(f"Run: commit {run['commit']}, mode {run['mode']}, {run['started']} to {run['finished']} "
          f"({run.get('seconds', '?')} s), {m['cpus']} CPUs, load average {m['load_average_at_start']} at the start, "
          f"{m.get('load_average_at_end')} at the end.\n")  # fmt: skip
    if "one_conversation" in s:
        print("| one conversation | to shopper p50 / p99 | to agent p50 / p99 | server CPU per message |")
        print("| --- | --- | --- | --- |")
        for side in ("rxchat", "baseline"):
            r = s["one_conversation"][side]
            a, b = r["agent_to_shopper"], r["shopper_to_agent"]
            print(f"| {side} | {cell(a['p50_ms'])} / {cell(a['p99_ms'])} ms | {cell(b['p50_ms'])} / {cell(b['p99_ms'])} ms "  # noqa: E501
                  f"| {cell(r['server_cpu_ms_per_message'])} ms |")  # fmt: skip
        print()
    if "capacity" in s:
        print("| system | shoppers (active) | p50 | p90 | p99 | max | msgs/s | server CPU | CPU per msg | RSS | "
              "client CPU | to agent p99 | widget live p99 |")  # fmt: skip
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for side in ("rxchat", "baseline"):
            for st in s["capacity"][side]["steps"]:
                print(f"| {side} | {st['shoppers']} ({st['active']}) | {cell(st['p50_ms'])} | {cell(st['p90_ms'])} | "
                      f"{cell(st['p99_ms'])} | {cell(st['max_ms'])} | {cell(st['throughput_msgs_per_s'])} | "
                      f"{cell(st['server_cpu_pct'])}% | {cell(st['server_cpu_ms_per_message'])} ms | "
                      f"{cell(st['rss_mib'])} MiB | {cell(st['client_cpu_pct'])}% | "
                      f"{cell(st['shopper_to_agent']['p99_ms'])} | {cell(st['widget_live']['p99_ms'])} |")  # fmt: skip
        print()
        for side in ("rxchat", "baseline"):
            print(f"- {side}: largest step with p99 < 100 ms: {s['capacity'][side]['max_shoppers_p99_under_100ms']}")
        print()
    if "page_views" in s:
        print("| system | page views/s | widget live p50 | p99 | failed | server CPU |")
        print("| --- | --- | --- | --- | --- | --- |")
        for side in ("rxchat", "baseline"):
            for st in s["page_views"][side]["steps"]:
                print(f"| {side} | {st['rate']} | {cell(st['p50_ms'])} ms | {cell(st['p99_ms'])} ms | {st['failed']} | "
                      f"{cell(st['server_cpu_pct'])}% |")  # fmt: skip
        for side in ("rxchat", "baseline"):
            print(
                f"- {side}: {s['page_views'][side]['max_views_per_s_live_p99_under_1s']} page views/s with live p99 ≤ 1 s"  # noqa: E501
            )
        print()
    if "idle_memory" in s:
        for side in ("rxchat", "baseline"):
            r = s["idle_memory"][side]
            print(f"- idle memory, {side}: {r['kib_per_shopper']} KiB per connected shopper ({r['shoppers']} shoppers, "
                  f"RSS {r['rss_before_mib']} → {r['rss_after_mib']} MiB)")  # fmt: skip
        print()
    if "crowd" in s:
        for side in ("rxchat", "baseline"):
            r = s["crowd"][side]
            print(f"- crowd, {side}: {r['shoppers']} shoppers connected ({r['connect_failures']} failed), RSS "
                  f"{r['rss_mib']} MiB; new pages at {r['arrivals_per_s']}/s: widget live p50 "
                  f"{r['widget_live_p50_ms']} ms, p99 {r['widget_live_p99_ms']} ms ({r['arrivals_failed']} failed), "
                  f"server CPU {r['server_cpu_pct']}%")  # fmt: skip
        print()
    if "history" in s:
        h = s["history"]
        for side in ("rxchat", "baseline"):
            r = h[side]
            print(f"- history, {side}: first page {r['first_page_ms']} ms (max {r['first_page']['max_ms']}), "
                  f"{r['pages']} pages back in {r['paging_back_total_ms']} ms (page p50 {r['page']['p50_ms']} ms)")  # fmt: skip  # noqa: E501
        print(f"- query plan: {h['query_plan']}")
        print()
    if "page" in s:
        for side in ("rxchat", "baseline"):
            r = s["page"][side]
            print(f"- page, {side}: {r['compressed_kib']} KiB (gzip) of page and scripts, "
                  f"+{r['stylesheet_compressed_kib']} KiB styles; widget usable after {r['widget_usable_ms']} ms "
                  f"(max {r['widget_usable_max_ms']}); served encodings {r['served_encodings']}")  # fmt: skip
        print()
    if s.get("scaling"):
        for key, st in s["scaling"]["rxchat"].items():
            if st:
                print(f"- PostgreSQL + Redis, {key}: {st['shoppers']} shoppers: p50 {st['p50_ms']} p99 {st['p99_ms']} ms, "  # noqa: E501
                      f"{st['throughput_msgs_per_s']} msgs/s, server CPU {st['server_cpu_pct']}% "
                      f"({st['server_cpu_ms_per_message']} ms/msg), RSS {st['rss_mib']} MiB")  # fmt: skip
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
