"""Writing a render: mastering as it streams, the files users keep, and their formats.

============  ==============================================================================================
module        what it offers
============  ==============================================================================================
``master``    two-pass streaming mastering: loudness to target, true-peak limiting, written block by block
              (``assemble``)
``export``    the mix, one aligned stem per layer and the manifest (``export_render``, ``build_manifest``)
``formats``   WAV/FLAC/Ogg/Opus/MP3 and the loop metadata engines read (``smpl``, cue points, LOOPSTART)
``files``     output names in one place, atomic writes (``.partial`` then rename), overwrite protection
``reaper``    the REAPER session (``.RPP``): one track per stem, the mix set up
============  ==============================================================================================
"""
