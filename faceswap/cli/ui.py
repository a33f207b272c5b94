"""``faceswap ui``: serve the local web app (thin: parse, warn, run the server)."""
from __future__ import annotations

import click

from faceswap.cli.context import AppContext


@click.command("ui")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but this machine (127.0.0.1) lets others on the network "
                   "use the app, its files and its jobs: there is no login.")
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True, help="Port to listen on.")
@click.pass_obj
def ui_command(app: AppContext, host: str, port: int) -> None:
    """Serve the web app for the workspace: face sets, training, merge tuner, mask labels.

    Jobs started from the page are faceswap commands running on their own: closing the
    browser, or stopping this server, does not stop them, and a server started later lists them
    again. Nothing is fetched from the internet.
    """
    import uvicorn                                  # imported here: other commands start without it

    from faceswap.ui.app import create_app, is_loopback

    if not is_loopback(host):
        click.echo(f"warning: listening on {host}: anyone who can reach this machine on port {port} can read the "
                   f"workspace and start jobs (there is no login)", err=True)
    app.workspace.ensure(app.workspace.root)
    web = create_app(app)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(f"faceswap ui: http://{shown}:{port}/  (workspace {app.workspace.root.resolve()}; Ctrl-C stops the "
               f"server, running jobs go on)")
    uvicorn.run(web, host=host, port=port, log_level="warning", access_log=False)
