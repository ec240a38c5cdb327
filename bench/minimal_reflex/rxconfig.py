import reflex as rx

# The smallest Reflex app the benchmarks compare rxchat with: one state, one product route, memory state manager
# (as rxchat runs in one process). bench/idle_memory.py --plain measures its memory per connected tab.
config = rx.Config(
    app_name="minimal_reflex",
    state_manager_mode="memory",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    disable_plugins=[rx.plugins.SitemapPlugin],
)
