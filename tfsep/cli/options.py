"""The options ``tfsep separate`` and ``tfsep catalogue`` share, declared once.

Two groups: how a model separates (segmenting, preset, stems: the keyword
arguments of :class:`~tfsep.separation.Separator`) and how stems are written
(template, codec, bit depth, clipping, rate: those of
:func:`~tfsep.separation.stemfiles.separate_file`).  A command takes them as
``**params`` and splits them with :func:`separator_kwargs` and
:func:`writer_kwargs`.
"""

from __future__ import annotations

import click

from ..config import MASK_EXTENSIONS, MAX_BATCH_SIZE, MAX_OVERLAP
from ..separation.precision import PRECISIONS
from ..separation.presets import DEFAULT_QUALITY, QUALITIES
from ..separation.tta import MAX_SHIFTS
from .common import FiniteFloat


def parse_stems(value):
    """``"vocals, drums"`` -> ``["vocals", "drums"]``; None stays None (all stems); empty is refused."""
    if value is None:
        return None
    stems = [s.strip() for s in value.split(",") if s.strip()]
    if not stems:
        raise click.BadParameter("give stem names separated by commas, e.g. vocals,drums")
    return stems


def _stems_callback(ctx, param, value):
    return parse_stems(value)


MODEL = click.option(
    "-m", "--model", default=None, help="Model name (2stems, 4stems, 5stems) or model directory. [default: 2stems]"
)

SEPARATION = [
    click.option(
        "--segment",
        type=FiniteFloat(min=0, min_open=True),
        default=None,
        help="Segment length in seconds (default: the model's T frames).",
    ),
    click.option(
        "--overlap",
        type=FiniteFloat(min=0, max=MAX_OVERLAP),
        default=None,
        help="Overlap of segments as a fraction of a segment (default 0.125 = 1.5 s crossfades for Spleeter models).",
    ),
    click.option(
        "--batch-size", type=click.IntRange(min=1, max=MAX_BATCH_SIZE), default=None, help="Segments per model call."
    ),
    click.option(
        "--stems",
        "stems",
        default=None,
        callback=_stems_callback,
        help="Write only these stems, e.g. vocals or vocals,drums.",
    ),
    click.option(
        "--quality",
        type=click.Choice(list(QUALITIES)),
        default=DEFAULT_QUALITY,
        show_default=True,
        help="Preset of the six options below (docs/performance.md: what each costs and gains).",
    ),
    click.option(
        "--mask-extension",
        type=click.Choice(list(MASK_EXTENSIONS)),
        default=None,
        help="Above the bins a model sees (11 kHz for Spleeter's): zeros (Spleeter's output) or average (full band).",
    ),
    click.option(
        "--residual",
        default=None,
        metavar="STEM|auto|none",
        help="Make STEM the mixture minus the other stems, so that the stems sum to the mixture.",
    ),
    click.option(
        "--wiener",
        type=click.IntRange(min=0),
        default=None,
        help="Multichannel Wiener filter EM iterations on the model's masks (0: off).",
    ),
    click.option(
        "--shifts",
        type=click.IntRange(min=0, max=MAX_SHIFTS),
        default=None,
        help="Also separate N delayed copies of each segment (up to 0.5 s) and average: N+1 times the work.",
    ),
    click.option(
        "--channel-swap/--no-channel-swap",
        default=None,
        help="Also separate with left and right swapped and average (stereo models).",
    ),
    click.option(
        "--precision",
        type=click.Choice(list(PRECISIONS)),
        default=None,
        help="The network's arithmetic; auto: bfloat16 where the CPU runs it natively (AVX512-BF16, AMX, Arm BF16), "
        "else float32. [default: auto]",
    ),
]

OUTPUT = [
    click.option(
        "-f",
        "--filename-template",
        default="{track}/{stem}.{codec}",
        show_default=True,
        help="Output path inside OUTPUT; placeholders {track}, {stem}, {codec}, {folder}.",
    ),
    click.option(
        "-c",
        "--codec",
        type=click.Choice(["wav", "flac", "mp3", "ogg", "m4a"]),
        default=None,
        help="Output format. [default: the template's extension (-f '{stem}.mp3'), else wav]",
    ),
    click.option("-b", "--bitrate", default="320k", show_default=True, help="Bitrate of mp3/ogg/m4a output."),
    click.option(
        "--bit-depth",
        type=click.Choice(["16", "24", "32"]),
        default="16",
        show_default=True,
        help="WAV/FLAC sample format (32 = float WAV).",
    ),
    click.option(
        "--clip",
        type=click.Choice(["rescale", "clamp", "none"]),
        default="rescale",
        show_default=True,
        help="rescale: scale all stems down together if any would clip; clamp: hard clip; none: leave as is.",
    ),
    click.option(
        "--sample-rate",
        type=click.IntRange(min=8000, max=384000),
        default=None,
        help="Write the stems at this rate (default: the input's rate, sample-aligned with it).",
    ),
]


def apply(options):
    """A decorator applying click ``options`` in the order they are listed (as ``--help`` shows them)."""

    def decorate(fn):
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def separator_kwargs(params: dict) -> dict:
    """The :class:`~tfsep.separation.Separator` keyword arguments among a command's parameters."""
    return dict(
        quality=params["quality"],
        segment=params["segment"],
        overlap=params["overlap"],
        batch_size=params["batch_size"],
        stems=params["stems"],
        wiener_iterations=params["wiener"],
        mask_extension=params["mask_extension"],
        residual=params["residual"],
        shifts=params["shifts"],
        channel_swap=params["channel_swap"],
        precision=params["precision"],
    )


def precision_note(params: dict) -> str | None:
    """What to tell a user who asked for bfloat16 on a CPU that only emulates it (None: nothing to tell)."""
    from ..separation.precision import native_bfloat16

    if params.get("precision") != "bfloat16" or native_bfloat16():
        return None
    return (
        "--precision bfloat16: this CPU has no native bfloat16 (AVX512-BF16, AMX or Arm BF16), so it is emulated "
        "and several times slower than float32 (5x measured on AVX2); --precision auto picks float32 here"
    )


def writer_kwargs(params: dict) -> dict:
    """The :func:`~tfsep.separation.stemfiles.separate_file` output options among a command's parameters."""
    return dict(
        filename_template=params["filename_template"],
        codec=params["codec"],
        bitrate=params["bitrate"],
        bit_depth=int(params["bit_depth"]),
        clip=params["clip"],
        sample_rate=params["sample_rate"],
    )
