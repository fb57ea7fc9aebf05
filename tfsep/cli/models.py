"""``tfsep models``: the pretrained and local models, where each comes from, whether it is present."""

from __future__ import annotations

import json

import click

from ..errors import TfsepError
from .common import fail


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def models(as_json):
    """List pretrained models, where each comes from, and whether it is present."""
    from ..pretrained import list_models

    try:
        rows = list_models()
    except TfsepError as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = "present" if row.get("present") else "not present"
        click.echo(f"{row['name']:<10} {state:<12} {row.get('path') or '-'}")
        click.echo(f"{'':<10} source: {row.get('source', '-')}")
