"""Scenes: what a soundscape is, validated completely before any model work.

=============  =============================================================================================
module         what it offers
=============  =============================================================================================
``schema``     ``Scene``, ``Layer``, ``ModelSettings``, ``Events``, ``Animate``; ``scene_from_dict`` reports
               every problem at once; ``parse_duration`` (``90``, ``"10m"``, ``"1h30m"``)
``timeline``   moments that change layers over the duration: validation, lanes, whether it closes
``durations``  durations as people write them
``files``      finding scene files (a path or a bundled name), ``load_scene``, ``dump_scene``
=============  =============================================================================================
"""
