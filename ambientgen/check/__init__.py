"""``ambientgen check``: is a file clean, on target and loopable? One streaming pass, bounded memory.

=============  =============================================================================================
module         what it offers
=============  =============================================================================================
``report``     ``check_file`` (loudness, peaks, clipping, gaps, clicks, repetition, seams, loop point),
               ``Report``, the presets and ``verdict``
``reading``    how a file is read: blocks ahead of the analysis, stretches kept as they stream past or read
               alone by seeking
``levels``     silent gaps and sudden level changes, judged against what a render's manifest intends (its
               seams, events, fades and timeline: ``Intended``)
``splices``    where a file looks spliced, for files without a manifest
``picture``    the report as a PNG (spectrogram with seams, loudness curve, loop-point zoom)
=============  =============================================================================================

The measures themselves (seams, loudness, true peak, clicks, repetition) live in :mod:`ambientgen.audio`.
"""
