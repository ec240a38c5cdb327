import reflex as rx

from rxchat.settings import settings

config = rx.Config(
    app_name="rxchat",
    db_url=settings.sync_db_url,
    async_db_url=settings.async_db_url,
    redis_url=settings.redis_url,
    trusted_proxy_hops=settings.trusted_proxy_hops,  # the widget's client address behind a proxy
    # One process keeps tab states in memory: `reflex run` starts the disk store empty
    # anyway, and skipping the pickling shortens every event.
    state_manager_mode="redis" if settings.redis_url else "memory",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo", gray_color="slate", radius="large"))],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
