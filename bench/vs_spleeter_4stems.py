"""The 4-stem pipeline beside Deezer's 4stems graph, and beside itself in float32 the way it ran before.

Deezer released the 4stems graph (``tests/data/spleeter-graphs/4stems``,
MIT) but its weights are not here: the graph is filled with random values of
the right names and shapes (``spleeter_reference.random_checkpoint``) and
timed as Spleeter runs it (``frame_length`` zeros in front).  Its stems are
meaningless; its speed is Deezer's graph's.  Against it, on ``--seconds`` of
real music (the MUSDB18 test mixtures of --musdb concatenated, else Falcon 69
looped): each of ``--model`` (comma-separated; default the shipped
``4stems-real``) with the default and fast presets in ``auto`` precision and
in float32.  With ``--baseline DIR`` (a checkout of an older tfsep, e.g.
``git worktree add /tmp/before 407d9b8^``), that tree's ``tfsep`` package is
imported under another name and ``--baseline-model`` (default the first
``--model``) is also timed with it in float32: "float32 the old way", which
every model's ``auto`` default is then compared with.
Everything is loaded and warmed up once, then timed ``--repeats`` times,
alternating, in one process; medians.  Stems of the new float32 path are
compared with the old one's (signal-to-difference ratio) as a check that
both run the same model.

    .venv/bin/python bench/vs_spleeter_4stems.py --musdb ../shared/data/musdb18-7 [--baseline /tmp/before]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

from _common import SAMPLE_RATE, machine, median, sdr, time_alternating  # noqa: E402

GRAPH = os.path.join(os.path.dirname(HERE), "tests", "data", "spleeter-graphs", "4stems", "model.meta")


def import_tree(root: str, name: str = "tfsep_before"):
    """The ``tfsep`` package of another checkout, imported as ``name`` (its imports are relative)."""
    init = os.path.join(root, "tfsep", "__init__.py")
    if not os.path.isfile(init):
        sys.exit(f"--baseline {root}: no tfsep/__init__.py there")
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[os.path.dirname(init)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--musdb", default=None, help="a MUSDB18 root: time on its test mixtures")
    p.add_argument("--model", default="4stems-real", help="model names or directories, comma-separated")
    p.add_argument("--baseline", default=None, help="an older tfsep checkout to time in float32 as well")
    p.add_argument("--baseline-model", default=None, help="the model the old checkout runs (default: first --model)")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()

    from speed_table import music
    from spleeter_reference import OUTPUT_TENSORS_4STEMS, SpleeterGraph, random_checkpoint

    from tfsep.separation import Separator
    from tfsep.separation.precision import native_bfloat16

    timing, _ = music(args.musdb, args.seconds)
    methods = {}
    with tempfile.TemporaryDirectory() as ckpt:
        random_checkpoint(GRAPH, ckpt, seed=0)
        graph = SpleeterGraph(ckpt, outputs=OUTPUT_TENSORS_4STEMS)
    methods["Spleeter 4stems graph (Deezer's, float32, random weights)"] = lambda x: graph.separate(x)
    model_names = [m.strip() for m in args.model.split(",") if m.strip()]
    base_model = args.baseline_model or model_names[0]
    seps = {}
    for model in model_names:
        for quality in ("default", "fast"):
            for precision in ("auto", "float32"):
                sep = Separator(model, quality=quality, precision=precision)
                seps[model, quality, precision] = sep
                label = f"tfsep {model} {quality} ({sep.precision})"
                methods[label] = lambda x, sep=sep: sep.separate(x, SAMPLE_RATE)
    old_name = None
    if args.baseline:
        import_tree(args.baseline)
        old = importlib.import_module("tfsep_before.separation").Separator(base_model, quality="default")
        old_name = f"tfsep {base_model} default (float32), code of {args.baseline}"
        methods[old_name] = lambda x: old.separate(x, SAMPLE_RATE)
    times, outs = time_alternating(methods, timing, args.repeats)
    print(f"# {machine()}; native bfloat16 used: {native_bfloat16()}")
    print(f"# speed on {args.seconds:g} s of real music, median of {args.repeats}, same process, alternating")
    print("| method | x real time | vs Spleeter's 4stems graph |")
    print("|---|---:|---:|")
    names = list(methods)
    base = median(times[names[0]])
    for name in names:
        t = median(times[name])
        print(f"| {name} | {args.seconds / t:.1f} | {base / t:.2f}x |")
    for model in model_names:
        fp32 = f"tfsep {model} default (float32)"
        auto = f"tfsep {model} default ({seps[model, 'default', 'auto'].precision})"
        print(f"# {auto} vs {fp32}: {median(times[fp32]) / median(times[auto]):.2f}x")
        if old_name:
            print(f"# {auto} vs {base_model} float32 the old way: {median(times[old_name]) / median(times[auto]):.2f}x")
    if old_name:
        fp32 = f"tfsep {base_model} default (float32)"
        for stem, y in outs[fp32].items():
            print(f"# {stem}: new float32 path vs old, {sdr(outs[old_name][stem], y):.1f} dB signal-to-difference")
    graph.close()


if __name__ == "__main__":
    main()
