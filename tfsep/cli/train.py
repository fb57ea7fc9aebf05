"""Command line: ``tfsep train`` and ``tfsep data synth``.

TensorFlow is imported inside the commands; every ``TfsepError`` becomes one
``tfsep: error:`` line on stderr and exit code 1.
"""

from __future__ import annotations

import os

import click

from ..errors import TfsepError
from .common import EXIT_INTERRUPTED, fail


@click.command()
@click.option("-c", "--config", "config", required=True, help="Training config: JSON file or built-in name.")
@click.option(
    "-o",
    "--output",
    "run_dir",
    default=None,
    help="Run directory (checkpoints, logs, final model). [default: runs/<config name>]",
)
@click.option("--resume", is_flag=True, help="Continue the run in OUTPUT from its latest checkpoint.")
@click.option(
    "--max-steps",
    type=click.IntRange(min=1),
    default=None,
    help="Stop at this step (checkpoint and model written as at the end). The learning-rate schedule stays "
    "the config's (training.train_max_steps), so a later --resume continues exactly.",
)
@click.option("--keep-worker-dirs", is_flag=True, hidden=True, help="Keep non-chief workers' outputs (tests).")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
def train(config, run_dir, resume, max_steps, keep_worker_dirs, quiet):
    """Train a separation model from a JSON config.

    The run directory ends as a tfsep model directory: `tfsep separate -m RUN_DIR`.
    Under TF_CONFIG (several machines) it trains with MultiWorkerMirroredStrategy.
    """
    try:
        from ..config import load_config
        from ..training import Trainer

        cfg = load_config(config)
        run_dir = run_dir or os.path.join("runs", cfg["name"])
        trainer = Trainer(
            cfg,
            run_dir,
            resume=resume,
            max_steps=max_steps,
            quiet=quiet,
            keep_worker_dirs=keep_worker_dirs,
            log=lambda m: click.echo(m, err=True),
        )
        summary = trainer.run()
    except TfsepError as exc:
        fail(str(exc))
    except KeyboardInterrupt:  # while loading data or building the model, or a second Ctrl-C: nothing more saved
        fail(
            f"interrupted; --resume -o {run_dir or 'RUN'} continues from the latest checkpoint, if any",
            EXIT_INTERRUPTED,
        )
    if summary["stop_reason"] == "interrupted":
        fail(
            f"interrupted at step {summary['resume_step']}; checkpoint saved, continue with --resume -o {run_dir}",
            EXIT_INTERRUPTED,
        )
    if not quiet and trainer.is_chief:
        best = f", best validation SDR {summary['best_sdr']:.2f} dB" if summary["best_sdr"] is not None else ""
        click.echo(f"trained {summary['steps']} steps ({summary['stop_reason']}){best}; model: {run_dir}", err=True)


@click.group()
def data():
    """Datasets: generate synthetic multitrack songs."""


@data.command()
@click.option("-o", "--output", "out_dir", required=True, help="Output directory: <OUTPUT>/<track>/<stem>.wav")
@click.option("--tracks", type=int, default=10, show_default=True, help="Number of songs.")
@click.option("--seconds", type=float, default=30.0, show_default=True, help="Length of each song.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed: the same seed gives the same songs.")
@click.option(
    "--stems",
    default="vocals,drums,bass,other",
    show_default=True,
    help="Stems to render (subset of vocals,drums,bass,other).",
)
@click.option("--sample-rate", type=int, default=44100, show_default=True)
@click.option("--soundfont", default=None, help="General MIDI .sf2 (default: $TFSEP_SOUNDFONT or Debian's FluidR3_GM).")
@click.option("-j", "--jobs", type=int, default=None, help="Songs rendered in parallel.")
@click.option(
    "--profile",
    type=click.Choice(["basic", "studio"]),
    default="basic",
    show_default=True,
    help="basic: one soundfont, one part per stem, no effects. studio: arranged parts, several soundfonts "
    "and drum kits, a mixing chain per part and on the bus (needs pedalboard).",
)
@click.option(
    "--hydrogen-kits",
    is_flag=True,
    help="studio: half the drum parts play recorded samples of the installed Hydrogen drum kits "
    "(apt-get install hydrogen-drumkits).",
)
@click.option("-q", "--quiet", is_flag=True)
def synth(out_dir, tracks, seconds, seed, stems, sample_rate, soundfont, jobs, profile, hydrogen_kits, quiet):
    """Generate synthetic songs (MIDI rendered by FluidSynth) with separate stems."""
    from ..data import synth as synth_mod

    stem_list = [s.strip() for s in stems.split(",") if s.strip()]
    try:
        paths = synth_mod.generate(
            out_dir,
            tracks,
            seconds,
            seed,
            stem_list,
            sample_rate,
            soundfont,
            jobs,
            progress=not quiet,
            profile=profile,
            hydrogen_kits=hydrogen_kits,
        )
    except TfsepError as exc:
        fail(str(exc))
    if not quiet:
        click.echo(f"{len(paths)} songs of {seconds:g} s in {out_dir}", err=True)
