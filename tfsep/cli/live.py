"""``tfsep live``: separate while the music plays, from a file, standard input or a sound card."""

from __future__ import annotations

import sys

import click

from ..errors import TfsepError
from ..separation.precision import PRECISIONS
from ..separation.presets import DEFAULT_QUALITY, QUALITIES
from .common import EXIT_INTERRUPTED, FiniteFloat, Terminated, fail, status_line
from .options import MODEL

DEFAULT_LATENCY = 0.5
# A block read from the source per step: 1024 samples is 23 ms at 44.1 kHz.
DEFAULT_BLOCK = 1024


@click.command()
@click.argument("source", required=False, type=click.Path(dir_okay=False, allow_dash=True, path_type=str))
@MODEL
@click.option(
    "--latency",
    type=FiniteFloat(min=0, min_open=True),
    default=DEFAULT_LATENCY,
    show_default=True,
    help="Seconds from a sample in to its stems out, compute buffer included (the sound card's own not).",
)
@click.option("--quality", type=click.Choice(list(QUALITIES)), default=DEFAULT_QUALITY, show_default=True)
@click.option("--precision", type=click.Choice(list(PRECISIONS)), default=None, help="Network arithmetic [auto].")
@click.option("--window", type=FiniteFloat(min=0, min_open=True), default=None, help="Live window, seconds.")
@click.option("--hop", type=FiniteFloat(min=0, min_open=True), default=None, help="Seconds between windows.")
@click.option(
    "--block", type=click.IntRange(16, 1 << 16), default=DEFAULT_BLOCK, show_default=True, help="Samples read per step."
)
@click.option(
    "--buffer",
    type=FiniteFloat(min=0),
    default=None,
    help="Seconds of the latency kept to absorb the model's compute [default: measured at start].",
)
@click.option("--threads", type=click.IntRange(1, 256), default=None, help="TensorFlow threads [all cores].")
@click.option(
    "--as-fast-as-possible", "fast_as_possible", is_flag=True, help="Read a file as fast as it goes, not at its pace."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["wav", "s16le", "s32le", "f32le"]),
    default=None,
    help="Standard input's format [wav].",
)
@click.option(
    "--rate", type=click.IntRange(1, None), default=None, help="Sample rate of raw input (or of a sound card)."
)
@click.option(
    "--channels", type=click.IntRange(1, 64), default=None, help="Channels of raw input (or of a sound card)."
)
@click.option("--input-device", default=None, help="Sound card input (name or index; see --list-devices).")
@click.option(
    "--output-device", default=None, help="Play the remix on this sound card ('default' for the default one)."
)
@click.option("--list-devices", is_flag=True, help="List sound cards and exit.")
@click.option("-o", "--output", "output_dir", default=None, help="Write <stem>.wav files here as they grow.")
@click.option(
    "--bit-depth",
    type=click.Choice(["16", "24", "32"]),
    default="16",
    show_default=True,
    help="Stem files: PCM 16/24 or float 32.",
)
@click.option("--overwrite", is_flag=True, help="Replace existing stem files.")
@click.option("--stdout", "to_stdout", is_flag=True, help="Write the remix to standard output.")
@click.option(
    "--stdout-format", type=click.Choice(["wav", "s16le", "s32le", "f32le"]), default="wav", show_default=True
)
@click.option("--mute", multiple=True, metavar="STEM", help="Leave STEM out of the remix (e.g. vocals: karaoke).")
@click.option("--solo", multiple=True, metavar="STEM", help="Only STEM (repeatable) in the remix.")
@click.option("--gain", multiple=True, metavar="STEM=DB", help="Change STEM's level in the remix, e.g. drums=-6.")
@click.option("-q", "--quiet", is_flag=True, help="No status line.")
def live(source, model, latency, quality, precision, window, hop, block, buffer, threads, fast_as_possible, fmt, rate,
         channels, input_device, output_device, list_devices, output_dir, bit_depth, overwrite, to_stdout,
         stdout_format, mute, solo, gain, quiet):  # fmt: skip
    """Separate live: stems while the music plays.

    SOURCE is a file (played at its real pace unless --as-fast-as-possible)
    or - for standard input (a WAV stream, or raw PCM with --format, --rate,
    --channels); or give --input-device instead.  Stems go to -o DIR
    (<stem>.wav files, playable while they grow), --stdout (the remix), and
    --output-device (the remix on a sound card).  The remix is every stem but
    those --mute'd, or only the --solo'ed ones, with --gain per stem.
    Ctrl-C stops: the files are complete.
    """
    from ..live import sources as src

    if list_devices:
        try:
            click.echo(src.sounddevice().query_devices())
        except TfsepError as exc:
            fail(str(exc))
        return
    if (source is None) == (input_device is None):
        fail("give one source: a file, - for standard input, or --input-device", 2)
    if not (output_dir or to_stdout or output_device):
        fail("nothing to output: give -o DIR, --stdout or --output-device", 2)
    talk = not quiet
    stopped = None
    session = None
    try:
        session = _Session(
            source, input_device, block, fmt, rate, channels, fast_as_possible, model, quality, precision, threads
        )
        session.open_stream(latency, buffer, window, hop, talk)
        session.open_sinks(output_dir, bit_depth, overwrite, to_stdout, stdout_format, output_device, mute, solo, gain)
        stats = session.run(talk)
    except TfsepError as exc:
        if session is not None:
            session.close()
        fail(str(exc))
    except KeyboardInterrupt as exc:
        stopped = exc
        stats = session.stats if session is not None else None
        if session is not None:
            session.close()
    else:
        session.close()
    if talk and stats is not None:
        if sys.stderr.isatty():
            click.echo("", err=True)
        status_line(stats.line(session.latency) + f" · {stats.blocks} blocks")
        if session.files is not None:
            status_line(f"stems in {session.files.folder}: {', '.join(session.files.paths)}")
    if isinstance(stopped, Terminated):
        fail("interrupted (SIGTERM)", EXIT_INTERRUPTED)
    # Ctrl-C is how a live session ends: the files are complete, nothing failed.


class _Session:
    """One ``tfsep live`` run: its source, separator and stream, sinks and figures."""

    def __init__(self, source, input_device, block, fmt, rate, channels, fast, model, quality, precision, threads):
        from ..live import sources as src

        if source == "-":
            self.source = src.PipeSource(sys.stdin.buffer, block, fmt, rate, channels)
        elif source is not None:
            if fmt is not None:
                raise TfsepError("--format is for standard input (-): a file says its own format")
            self.source = src.FileSource(source, block, paced=not fast)
        else:
            self.source = src.DeviceSource(_device(input_device), block, rate, channels)
        self.paced = not (source not in (None, "-") and fast)
        self.model, self.quality, self.precision, self.threads = model, quality, precision, threads
        self.sinks, self.files, self.device, self.stats = [], None, None, None

    def open_stream(self, latency, buffer, window, hop, talk):
        if self.threads:
            import tensorflow as tf

            try:
                tf.config.threading.set_intra_op_parallelism_threads(self.threads)
                tf.config.threading.set_inter_op_parallelism_threads(self.threads)
            except RuntimeError:  # TensorFlow already started in this process (tests, notebooks): keep its pools
                pass
        from ..separation import Separator

        if talk:
            status_line(f"loading model {self.model or '2stems'}...")
        sep = Separator(self.model, quality=self.quality, precision=self.precision)
        rate = self.source.sample_rate
        block = self.source.block / rate
        # What the stream may spend on lookahead: the latency less one block and the compute buffer.
        probe = None
        if buffer is None and not self.paced:
            buffer = 0.0
        elif buffer is None:
            from ..live.session import measured_buffer

            probe = sep.stream(latency=max(latency - block, 0.1), sample_rate=rate, window=window, hop=hop)
            buffer = measured_buffer(probe)
        self.buffer = buffer
        lookahead = latency - block - buffer
        try:
            self.stream = sep.stream(latency=lookahead, sample_rate=rate, window=window, hop=hop)
        except TfsepError as exc:
            raise TfsepError(
                f"--latency {latency:g} s leaves {lookahead:.3f} s for the stream after one {block * 1000:.0f} ms "
                f"block and a {buffer:.3f} s compute buffer: {exc}"
            ) from None
        if probe is None or probe.plan.window != self.stream.plan.window:  # else the probe traced and warmed it
            self.stream.warm_up()
        self.latency = self.stream.latency + block + buffer
        if talk:
            p = self.stream.plan
            least, most = p.lookahead
            status_line(
                f"{self.source.name}: {rate} Hz; latency {self.latency:.2f} s = {self.stream.latency:.2f} s stream "
                f"(window {p.window / sep.sample_rate:.2f} s every {p.hop / sep.sample_rate * 1000:.0f} ms, "
                f"hearing {least / sep.sample_rate:.2f}-{most / sep.sample_rate:.2f} s ahead) + {block * 1000:.0f} ms "
                f"block + {buffer:.3f} s buffer"
            )

    def open_sinks(self, output_dir, bit_depth, overwrite, to_stdout, stdout_format, output_device, mute, solo, gain):
        from ..live.sinks import DeviceSink, PipeSink, Remix, StemFiles

        rate, stems = self.source.sample_rate, self.stream.stems
        out_channels = 1 if self.source.channels == 1 else 2
        remix = Remix(stems, mute, solo, gain)
        if output_dir:
            subtype = {"16": "PCM_16", "24": "PCM_24", "32": "FLOAT"}[bit_depth]
            self.files = StemFiles(output_dir, stems, rate, out_channels, subtype, overwrite)
            self.sinks.append(self.files)
        if to_stdout:
            self.sinks.append(PipeSink(sys.stdout.buffer, remix, rate, out_channels, stdout_format))
        if output_device:
            self.device = DeviceSink(_device(output_device), remix, rate, out_channels, self.buffer)
            self.sinks.append(self.device)

    def run(self, talk):
        from ..live.session import LiveStats, run_session

        tty = talk and sys.stderr.isatty()

        def status(stats):
            click.echo("\rtfsep: " + stats.line(self.latency), err=True, nl=False)

        self.stats = LiveStats(self.stream.sample_rate)
        run_session(
            self.stream,
            self.source,
            self.sinks,
            buffer=self.buffer,
            on_status=status if tty else None,
            stats=self.stats,
        )
        if self.device is not None:
            self.device.drain()
        return self.stats

    def close(self):
        for thing in [self.source, *self.sinks]:
            try:
                thing.close()
            except Exception:  # noqa: BLE001 (closing what is left: the first error was said)
                pass


def _device(value):
    """A device option: an index (digits) or a name; ``default`` -> None (PortAudio's default)."""
    if value is None or value == "default":
        return None
    return int(value) if value.isdigit() else value
