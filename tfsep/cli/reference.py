"""The command-line reference as Markdown, generated from the click commands themselves.

``docs/cli.md`` holds it between two marker lines; ``make docs`` rewrites
that part (``python -m tfsep.cli.reference docs/cli.md``) and
``tests/test_docs.py`` fails when the committed page differs from what the
commands say, so the reference cannot disagree with ``tfsep ... --help``.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import click

BEGIN = "<!-- BEGIN GENERATED: python -m tfsep.cli.reference docs/cli.md -->"
END = "<!-- END GENERATED -->"


def walk(command: click.Command, path: tuple[str, ...] = ("tfsep",)):
    """Yield ``(path, command)`` for ``command`` and every subcommand, depth first, in listing order."""
    yield path, command
    if isinstance(command, click.Group):
        for name in command.list_commands(click.Context(command)):
            sub = command.get_command(click.Context(command), name)
            if sub is not None and not sub.hidden:
                yield from walk(sub, (*path, name))


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _kind(param: click.Parameter) -> str:
    if isinstance(param, click.Option) and param.is_flag:
        return "flag"
    kind = param.type
    if isinstance(kind, click.Choice):
        return " \\| ".join(f"`{choice}`" for choice in kind.choices)
    if isinstance(kind, click.IntRange):
        label = "INT"
    elif isinstance(kind, click.FloatRange):
        label = "FLOAT"
    else:
        name = getattr(kind, "name", "") or type(kind).__name__
        label = {"integer": "INT", "float": "FLOAT", "text": "TEXT", "path": "PATH", "boolean": "BOOL"}.get(name, name)
    if isinstance(kind, click.types._NumberRangeBase) and (kind.min is not None or kind.max is not None):
        label += f" in {kind._describe_range()}"
    return label


def _default(param: click.Option) -> str:
    if param.is_flag or param.default is None or param.default == () or callable(param.default):
        return ""
    if param.show_default is False:
        return ""
    value = param.default
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    return f"`{value}`"


def command_markdown(path: tuple[str, ...], command: click.Command) -> str:
    """One command's section: usage, help text, arguments and an options table."""
    ctx = click.Context(command, info_name=" ".join(path))
    level = "#" * min(len(path) + 1, 4)
    lines = [f"{level} `{' '.join(path)}`", "", "```text", command.get_usage(ctx), "```", ""]
    if command.help:
        lines += [inspect.cleandoc(command.help).replace("\b\n", ""), ""]
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    if arguments:
        names = ", ".join(f"`{p.human_readable_name}`" + (" (repeatable)" if p.nargs == -1 else "") for p in arguments)
        lines += [f"Arguments: {names}.", ""]
    helps = set(ctx.help_option_names)
    options = [
        p for p in command.get_params(ctx) if isinstance(p, click.Option) and not p.hidden and not helps & set(p.opts)
    ]
    if options:
        lines += ["| option | value | default | meaning |", "|---|---|---|---|"]
        for option in options:
            names = ", ".join(f"`{name}`" for name in (*option.opts, *option.secondary_opts))
            meaning = _cell(option.help or "") + (" Repeatable." if option.multiple else "")
            lines.append(f"| {names} | {_kind(option)} | {_default(option)} | {meaning} |")
        lines.append("")
    if isinstance(command, click.Group):
        subs = [p[-1] for p, _ in walk(command, path) if len(p) == len(path) + 1]
        lines += ["Commands: " + ", ".join(f"`{' '.join(path)} {name}`" for name in subs) + ".", ""]
    return "\n".join(lines)


def reference(root: click.Command | None = None) -> str:
    """The whole reference: every command of ``tfsep`` in turn."""
    if root is None:
        from . import main as root
    return "\n".join(command_markdown(path, command) for path, command in walk(root)).rstrip() + "\n"


def splice(page: str, generated: str) -> str:
    """``page`` with the part between :data:`BEGIN` and :data:`END` replaced by ``generated``."""
    head, begin, rest = page.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"the page has no '{BEGIN}' ... '{END}' block")
    return f"{head}{BEGIN}\n\n{generated}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m tfsep.cli.reference docs/cli.md", file=sys.stderr)
        return 2
    page = Path(argv[0])
    text = page.read_text()
    updated = splice(text, reference())
    if updated != text:
        page.write_text(updated)
        print(f"{page}: command reference regenerated")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
