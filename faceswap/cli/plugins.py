"""``faceswap plugins``: list every plugin and its load status; ``show`` prints its options."""
from __future__ import annotations

import sys

import click

from faceswap.cli.context import AppContext
from faceswap.options import describe
from faceswap.plugin_api import KINDS


@click.group("plugins", invoke_without_command=True)
@click.pass_context
def plugins_command(ctx: click.Context) -> None:
    """List installed plugins: kind, name, version, origin and whether it loads.

    Plugins come from installed packages (entry points) and from *.py files dropped
    into <workspace>/plugins/.
    """
    if ctx.invoked_subcommand is not None:
        return
    app: AppContext = ctx.obj
    rows = [("KIND", "NAME", "VERSION", "ORIGIN", "STATUS")]
    rows += [(r.kind, r.name, r.version, r.origin, r.status) for r in app.registry.report()]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4])


@plugins_command.command("show")
@click.argument("kind", type=click.Choice(sorted(KINDS)))
@click.argument("name")
@click.pass_obj
def show_command(app: AppContext, kind: str, name: str) -> None:
    """Print the options of plugin NAME of KIND, with types, defaults and help."""
    plugin_cls = app.registry.load(kind, name)
    click.echo(f"{kind} '{name}' version {plugin_cls.version}")
    doc = (plugin_cls.__doc__ or sys.modules[plugin_cls.__module__].__doc__ or "").strip()
    if doc:
        click.echo(doc.splitlines()[0])
    rows = describe(plugin_cls.Options)
    if not rows:
        click.echo("no options")
        return
    for row in rows:
        limits = []
        if row.spec.choices:
            limits.append("one of " + ", ".join(map(str, row.spec.choices)))
        if row.spec.min is not None:
            limits.append(f"min {row.spec.min}")
        if row.spec.max is not None:
            limits.append(f"max {row.spec.max}")
        if row.spec.multiple_of:
            limits.append(f"multiple of {row.spec.multiple_of}")
        if row.spec.locked:
            limits.append("locked once trained")
        extra = f" ({'; '.join(limits)})" if limits else ""
        click.echo(f"  {kind}.{row.name}  [{row.type}, default {row.default}]{extra}\n      {row.spec.help}")
