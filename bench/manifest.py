"""Speed and memory of ``cvatcore manifest create``, normal and ``--fast``, against baselines.

It makes 5,000 small images (640x480 JPEG) and 300 12-megapixel images (4000x3000 JPEG) in a
temporary directory, then runs on each set, one after the other:

- ``md5``: a plain md5 of every file, one process (the floor: reading and hashing the bytes);
- ``cvat-like``: CVAT's create.py algorithm replayed on one core (open, EXIF orientation, md5 of
  ``Image.tobytes()``, one JSON line per image), since CVAT's own script is not installed here;
  its output must be byte-identical to cvatcore's;
- ``cvatcore``: ``cvatcore manifest create`` with every core;
- ``cvatcore --fast``: checksums of the file bytes, sizes from the headers.

Each runs as a child process whose whole process tree is sampled for memory (PSS, so pages
that forked workers share with their parent count once); it prints wall time, CPU time,
images/s (also without the CLI's fixed start-up time, measured separately), peak memory, and
the ratios to CVAT's tool (118 small images/s on one core is the reference figure for this kind
of machine; the cvat-like run measures the same thing here) and to the md5 baseline. Then the
normal mode runs on 1,000 and on 5,000 small images to show that memory does not grow.

Usage: ``python bench/manifest.py [--small 5000] [--large 300] [--jobs N] [--keep] [--direct]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from _venv import reexec_in_venv

CVAT_REFERENCE_SMALL = 118.0  # CVAT's create.py, small images/s, one core, this machine kind
TARGET_NORMAL, TARGET_FAST = 2.0, 20.0

MD5_SCRIPT = r"""
import hashlib, os, sys
for top, _, files in os.walk(sys.argv[1]):
    for name in files:
        with open(os.path.join(top, name), "rb") as f:
            hashlib.md5(f.read()).hexdigest()
"""

# What CVAT's utils/dataset_manifest/create.py does per image (DatasetImagesReader and
# ImageManifestManager), in one process, as a same-machine reference.
CVAT_LIKE_SCRIPT = r"""
import hashlib, json, mimetypes, os, sys
from PIL import Image
root, out = sys.argv[1], sys.argv[2]
def is_image(p):
    t = mimetypes.guess_type(p)[0]
    return t is not None and t.startswith("image") and not t.startswith("image/svg")
sources = []
for top, _, files in os.walk(root):
    sources.extend(os.path.join(top, f) for f in files if is_image(f))
sources = sorted(s for s in sources if "related_images" + os.sep not in s)
with open(out, "w") as f:
    f.write('{"version":"1.1"}\n{"type":"images"}\n')
    for path in sources:
        img = Image.open(path, mode="r")
        rel = os.path.relpath(path, root)
        name, ext = os.path.splitext(rel)
        props = {"name": name.replace("\\", "/"), "extension": ext}
        width, height = img.width, img.height
        if img.getexif().get(274, 1) > 4:
            width, height = height, width
        props["width"], props["height"] = width, height
        props["meta"] = {"related_images": []}
        props["checksum"] = hashlib.md5(img.tobytes()).hexdigest()
        f.write(json.dumps(props, separators=(",", ":")) + "\n")
"""


# --- images ---------------------------------------------------------------------------------


def _make_images(args: tuple[str, int, int, int, int]) -> None:
    """Images ``first..last-1`` of one size: a shared base with a distinct patch and noise."""
    from PIL import Image, ImageDraw

    folder, width, height, first, last = args
    base = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 24)
    rgb = Image.merge("RGB", (base, noise, base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    for i in range(first, last):
        img = rgb.copy()
        draw = ImageDraw.Draw(img)
        x, y = (i * 37) % (width - 80), (i * 53) % (height - 60)
        draw.rectangle((x, y, x + 80, y + 60), fill=(i % 256, (i * 7) % 256, (i * 13) % 256))
        draw.text((10, 10), f"image {i}", fill=(255, 255, 255))
        img.save(os.path.join(folder, f"img_{i:05d}.jpg"), quality=90)


def make_images(folder: Path, count: int, size: tuple[int, int], jobs: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    step = max(1, count // (jobs * 8))
    parts = [(str(folder), *size, i, min(i + step, count)) for i in range(0, count, step)]
    with get_context("spawn").Pool(jobs) as pool:
        pool.map(_make_images, parts)


# --- measuring ------------------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return pids


def _pss_kib(pid: int) -> int:
    """Proportional set size: pages shared with forked workers count once in a sum."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Run:
    seconds: float
    cpu: float  # user + system seconds of the whole process tree
    peak_mib: float  # PSS of the whole process tree, summed, at its highest


def measure(argv: list[str]) -> Run:
    """Run ``argv`` to completion, sampling its process tree's memory every 20 ms."""
    peak = 0
    done = threading.Event()
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, sum(_pss_kib(p) for p in _tree(proc.pid)))
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)  # usage counts the reaped workers too
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n"
                               f"{err.read().decode(errors='replace')[-2000:]}")
    return Run(seconds, usage.ru_utime + usage.ru_stime, peak / 1024)


def startup_cost(cvatcore: list[str]) -> tuple[float, float]:
    """The CLI's fixed cost (imports, plugins) in wall and CPU seconds: the medians of three
    ``manifest --help`` runs."""
    runs = [measure([*cvatcore, "--help"]) for _ in range(3)]
    return statistics.median(r.seconds for r in runs), statistics.median(r.cpu for r in runs)


# --- one image set --------------------------------------------------------------------------


def run_set(label: str, folder: Path, count: int, work: Path, cvatcore: list[str], jobs: int,
            startup: tuple[float, float]) -> list[tuple[str, Run, tuple[float, float]]]:
    py = sys.executable
    out = {m: work / f"{label}-{m}" for m in ("cvat", "normal", "fast")}
    for path in out.values():
        path.mkdir(parents=True, exist_ok=True)
    jobs_args = ["--jobs", str(jobs)] if jobs else []
    create = [*cvatcore, "create", str(folder), "--no-progress", *jobs_args]
    runs = [
        ("md5", measure([py, "-c", MD5_SCRIPT, str(folder)]), (0.0, 0.0)),
        ("cvat-like", measure([py, "-c", CVAT_LIKE_SCRIPT, str(folder),
                               str(out["cvat"] / "manifest.jsonl")]), (0.0, 0.0)),
        ("cvatcore", measure([*create, "--output-dir", str(out["normal"])]), startup),
        ("cvatcore --fast", measure([*create, "--output-dir", str(out["fast"]), "--fast"]),
         startup),
    ]
    same = (out["cvat"] / "manifest.jsonl").read_bytes() == (
        out["normal"] / "manifest.jsonl"
    ).read_bytes()
    print(f"  {label}: cvatcore's manifest is byte-identical to the cvat-like one: "
          f"{'yes' if same else 'NO'}", flush=True)
    if not same:
        raise RuntimeError("the manifests differ")
    return runs


def report(label: str, count: int, runs: list[tuple[str, Run, tuple[float, float]]]
           ) -> list[str]:
    rate = {name: count / run.seconds for name, run, _ in runs}
    net = {name: count / max(run.seconds - fixed[0], 1e-9) for name, run, fixed in runs}
    per_cpu = {name: count / max(run.cpu - fixed[1], 1e-9) for name, run, fixed in runs}
    print(f"\n{label}: {count} images")
    print(f"  {'run':<16} {'seconds':>8} {'cpu s':>7} {'img/cpu-s*':>10} {'img/s':>8} "
          f"{'img/s*':>8} {'peak MiB':>9} {'x cvat-like':>11} {'x 118/s':>8} {'x md5':>6}")
    for name, run, _ in runs:
        print(f"  {name:<16} {run.seconds:>8.2f} {run.cpu:>7.2f} {per_cpu[name]:>10.1f} "
              f"{rate[name]:>8.1f} {net[name]:>8.1f} {run.peak_mib:>9.1f} "
              f"{net[name] / rate['cvat-like']:>11.2f} {net[name] / CVAT_REFERENCE_SMALL:>8.2f} "
              f"{net[name] / rate['md5']:>6.2f}")
    missed = []
    for name, target in (("cvatcore", TARGET_NORMAL), ("cvatcore --fast", TARGET_FAST)):
        if net[name] / rate["cvat-like"] < target:
            missed.append(f"{label} {name}: {net[name] / rate['cvat-like']:.1f}x < {target}x")
    return missed


def flat_memory(folder: Path, work: Path, cvatcore: list[str], jobs: int) -> None:
    """Peak memory of the normal mode on 1,000 images (a glob) and on all of them."""
    jobs_args = ["--jobs", str(jobs)] if jobs else []
    peaks = {}
    for label, source in (("1,000", str(folder / "img_00*.jpg")), ("all", str(folder))):
        out = work / f"flat-{label}"
        run = measure([*cvatcore, "create", source, "--no-progress",
                       "--output-dir", str(out), *jobs_args])
        peaks[label] = run.peak_mib
    print(f"\nmemory, normal mode, small images: peak {peaks['1,000']:.1f} MiB for 1,000 images, "
          f"{peaks['all']:.1f} MiB for all")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=5000, help="640x480 images")
    parser.add_argument("--large", type=int, default=300, help="12-megapixel images")
    parser.add_argument("--jobs", type=int, default=0, help="cvatcore --jobs (default: all)")
    parser.add_argument("--keep", action="store_true", help="keep the images and manifests")
    parser.add_argument("--direct", action="store_true",
                        help="run python -m cvatcore.cli.manifest instead of cvatcore manifest "
                             "(the same command without the CLI's plugin loading)")
    args = parser.parse_args()
    reexec_in_venv("cvatcore.core.manifest.create")
    cvatcore = [sys.executable, "-m", "cvatcore.cli.manifest"] if args.direct else [
        str(Path(sys.executable).with_name("cvatcore")), "manifest"]
    cores = len(os.sched_getaffinity(0))
    work = Path(tempfile.mkdtemp(prefix="cvatcore-bench-manifest-"))
    missed: list[str] = []
    try:
        started = time.perf_counter()
        make_images(work / "small", args.small, (640, 480), cores)
        make_images(work / "large", args.large, (4000, 3000), cores)
        print(f"made {args.small} + {args.large} images in {time.perf_counter() - started:.0f} s"
              f" ({cores} cores)", flush=True)
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        startup = startup_cost(cvatcore)
        print(f"cvatcore CLI start-up (manifest --help): {startup[0]:.2f} s, "
              f"{startup[1]:.2f} cpu s", flush=True)
        for label, count in (("small 640x480", args.small), ("large 4000x3000", args.large)):
            folder = work / label.split()[0]
            runs = run_set(label.split()[0], folder, count, work, cvatcore, args.jobs, startup)
            missed += report(label, count, runs)
        if args.small >= 1000:
            flat_memory(work / "small", work, cvatcore, args.jobs)
    finally:
        if args.keep:
            print(f"work dir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"(other work on the machine slows every run; 'cpu s' shows the work itself)")
    print("* leaves out the CLI's fixed start-up (wall or CPU); the ratios use img/s*. "
          "img/cpu-s* is what one idle core would do. Targets: cvatcore "
          f">= {TARGET_NORMAL:g}x and --fast >= {TARGET_FAST:g}x the cvat-like run: "
          + ("met" if not missed else "missed: " + "; ".join(missed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
