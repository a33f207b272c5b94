"""``faceswap plugins``: list every plugin and its load status; ``show`` prints its options;
``trust`` lets drop-in files run."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from faceswap.cli.context import AppContext
from faceswap.errors import InputError
from faceswap.options import describe
from faceswap.plugin_api import KINDS
from faceswap.plugin_trust import TrustStore, default_trust_file


@click.group("plugins", invoke_without_command=True)
@click.pass_context
def plugins_command(ctx: click.Context) -> None:
    """List installed plugins: kind, name, version, origin and whether it loads.

    Plugins come from installed packages (entry points) and from *.py files dropped
    into <workspace>/plugins/. A drop-in file is code: it runs only once you trusted it
    with 'faceswap plugins trust'; until then (and after it changes) it is listed as
    not trusted and never imported.
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


@plugins_command.command("trust")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.pass_obj
def trust_command(app: AppContext, files: tuple[Path, ...]) -> None:
    """Let drop-in plugin FILES (default: every *.py in <workspace>/plugins/) run, as they are now.

    Read them first: faceswap will import (run) them. The record, each file's absolute path
    and sha256, is kept in your own config folder, not in the workspace; a file that changes
    afterwards must be trusted again.
    """
    folder = app.workspace.plugins
    chosen = [f if f.is_absolute() or f.parent != Path(".") else folder / f for f in files]
    chosen = chosen or sorted(folder.glob("*.py"))
    if not chosen:
        raise InputError(f"no drop-in plugin files (*.py) in {folder}")
    for file in chosen:
        if not (file.is_file() and file.suffix == ".py"):
            raise InputError(f"{file} is not a drop-in plugin file (a .py file)")
    store = TrustStore(default_trust_file())
    for path, digest in store.trust(chosen):
        click.echo(f"trusted {path.resolve()} (sha256 {digest[:16]}...)")
    click.echo(f"recorded in {store.path}")
