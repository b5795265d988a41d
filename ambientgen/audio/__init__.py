"""Audio DSP: everything that reads or shapes samples, with no knowledge of scenes, backends or files.

Arrays are ``np.float32`` shaped ``(channels, samples)``; sample rates are always passed.

=================  ==========================================================================================
module             what it offers
=================  ==========================================================================================
``placement``      resampling (soxr), DC removal, pan law, stereo width, dB <-> gain: putting a layer in the mix
``stitch``         level-matched equal-power crossfades, ``stitch_chunks``, ``close_loop`` (the loop algorithm)
``arrange``        a bounded pool of tiles arranged into any length; sparse events scheduled (``arrange``,
                   ``schedule_events``)
``streams``        layer streams: any stretch of a layer, or of the whole ``Mix``, generated on demand
``timeline``       a layer following its timeline: curves, absent stretches on its own clock, thinned events
``bands``          band energies of short frames (``BandTrack``): the one feature seams, check and picture share
``seams``          the seam measure: how unusual a moment is against the track itself (``seam_report``,
                   ``Ranker``)
``loudness``       streaming BS.1770-4 integrated loudness and EBU loudness range (``LoudnessMeter``)
``true_peak``      4x-oversampled true peak, the look-ahead limiter's gain, ``CLIP_LEVEL``
``clicks``         clicks anywhere, found as the signal streams past (``ClickFinder``)
``repetition``     recurring stretches in a streaming band track (``RepetitionFinder``) and the repetition rule
                   (``REPEAT_MIN_S``, ``REPEAT_WITHIN_S``, ``MIN_RECURRENCE_S``)
=================  ==========================================================================================
"""
