import reflex as rx

config = rx.Config(
    app_name="host_store",
    db_url="sqlite:///host_store.db",  # the store's database; `rxchat migrate` puts rxchat's tables beside its own
    telemetry_enabled=False,
    show_built_with_reflex=False,  # Reflex's badge would sit in the corner the chat launcher uses
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="jade", radius="medium"))],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
