"""Your own recordings as layers (``source:`` in a scene, and ``ambientgen loop``).

=============  =============================================================================================
module         what it offers
=============  =============================================================================================
``sources``    naming recordings (files, folders, globs), reading them in pieces, their levels and onsets
``excerpts``   excerpts arranged over any length so that no stretch of the source plays again soon
``layers``     a recording layer rendered: a bed of excerpts, or events cut at onsets
``loop``       ``loop`` / ``loop_scene``: one recording into a long seamless loop, through the pipeline
=============  =============================================================================================

The ``recording`` backend's declaration (what ``ambientgen models`` lists) is
:mod:`ambientgen.backends.recording`; the work is done here.
"""
