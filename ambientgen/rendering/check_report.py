"""Step 7 of a render: its check report and picture (``NAME.check.json``, ``NAME.check.png``).

A WAV mix is checked from its blocks as they are written (:func:`written_check`); its report and picture are made
while the export hashes its files (:class:`EarlyCheck`). Any other mix is checked by reading the file back once it
is in place (:func:`check_report`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..output.files import report_names, write_atomic
from ..progress import ProgressFn


def written_check(plan, layers, fmt, bit_depth: str):
    """The check of the mix fed as it is written (:class:`~ambientgen.check.written.WrittenCheck`) when the file
    checked, the first format's, reads back exactly as written (WAV); None otherwise (it is read back)."""
    from ..check.levels import seam_times
    from ..check.written import WrittenCheck
    from ..output.formats import subtype

    kind = subtype(fmt, bit_depth)
    if not WrittenCheck.exact(fmt.container, kind):
        return None
    return WrittenCheck(sample_rate=plan.scene.sample_rate, channels=2, frames=plan.frames, subtype=kind,
                        seams_s=seam_times(layer.seams_s for layer in layers))  # as the manifest will list them


class EarlyCheck:
    """Step 7 for a mix checked as it was written: its report and picture made in a thread from the export's draft
    manifest (every figure the check reads; only the files' hashes missing), while the export hashes and lists the
    files (which leave Python's lock free), then written beside them once they are in place."""

    def __init__(self, output: Path, watch) -> None:
        self.output, self.watch = output, watch
        self._pool = None
        self._future = None

    def start(self, draft: dict[str, Any], mix_file: Path) -> None:
        """Called with the export's draft manifest and its mix file, which is read here (its header and the second
        either side of the loop point): the thread does not touch the files, which the export moves."""
        from concurrent.futures import ThreadPoolExecutor

        import soundfile as sf

        from ..check.picture import edges_of

        read = sf.info(str(mix_file)).format, edges_of(mix_file)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="check-report")
        self._future = self._pool.submit(self._make, draft, *read)

    def _make(self, draft: dict[str, Any], container: str, edges: tuple):
        from ..check.picture import prepare

        mix, seams, preset = _judged_by(draft)
        spectrogram = self.watch.spectrogram()
        result = self.watch.report(self.output / mix["path"], draft, preset, container=container) \
            if spectrogram is not None else None
        if result is None:  # the blocks gathered were not the file's, or not around its seams: it is read instead
            return None
        return draft["name"], result, _picture(result, prepare(self.output / mix["path"], spectrogram, edges), seams,
                                               preset)

    def finish(self):
        """The report, its JSON and PNG written in the output folder (the file is read and checked instead if the
        manifest's seams were not the ones the check gathered around)."""
        try:
            made = self._future.result()
        finally:
            self._pool.shutdown()
        if made is None:
            return None
        _write(self.output, *made)
        return made[1]

    def cancel(self) -> None:
        """The export failed: the report is dropped once the thread is done with the files."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def check_report(output: Path, manifest: dict[str, Any], on_progress: ProgressFn | None, watch=None):
    """Step 7: the mix judged against its own scene (target, ceiling, loop), written as JSON and PNG; from what
    ``watch`` gathered as the mix was written, or by reading the file."""
    from concurrent.futures import ThreadPoolExecutor

    from ..check.picture import prepare
    from ..check.report import check_file

    mix, seams, preset = _judged_by(manifest)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="picture") as pool:
        # matplotlib loads (if it has not yet) while the check runs; a check fed the written blocks has the
        # picture's spectrogram from them, once its analyses are done
        spectrogram = watch.spectrogram() if watch is not None else None
        prepared = pool.submit(prepare, output / mix["path"], spectrogram)
        result = watch.report(output / mix["path"], manifest, preset) if watch is not None else None
        if result is None:
            result = check_file(output / mix["path"], preset=preset, manifest=manifest, on_progress=on_progress)
        prepared = prepared.result()
    _write(output, manifest["name"], result, _picture(result, prepared, seams, preset))
    return result


def _judged_by(manifest: dict[str, Any]):
    """(the manifest's first mix file, its seams, the preset its scene is judged by: target, ceiling, loop)."""
    from ..check.levels import manifest_times
    from ..check.report import scene_preset

    seams, _ = manifest_times(manifest)
    mix = next(f for f in manifest["files"] if f["kind"] == "mix")
    return mix, seams, scene_preset(manifest["target_lufs"], manifest["true_peak_dbtp"], loop=bool(manifest["loop"]))


def _picture(result, prepared: tuple, seams: list[float], preset) -> bytes:
    """The report's picture, as PNG bytes."""
    import io

    from ..check.picture import draw

    png = io.BytesIO()
    draw(result, png, seams_s=seams, preset=preset, prepared=prepared)
    return png.getvalue()


def _write(output: Path, name: str, result, png: bytes) -> None:
    """``NAME.check.json`` and ``NAME.check.png`` in ``output``, each whole or not at all."""
    json_name, png_name = report_names(name)
    write_atomic(output / json_name, (json.dumps(result.to_json(), indent=2) + "\n").encode("utf-8"))
    write_atomic(output / png_name, png)
