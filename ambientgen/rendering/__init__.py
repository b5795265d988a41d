"""Rendering a scene: the pipeline behind ``ambientgen render`` and :func:`ambientgen.render`.

(Named ``rendering``, not ``render``: ``ambientgen.render`` is the public function.)

================  ==========================================================================================
module            what it offers
================  ==========================================================================================
``pipeline``      ``render()``: scene, validation and preflight, backend, plan, model work, master and
                  export, check report, in numbered steps
``prepare``       step 1: the scene from a scene, file or sentence; overrides; ``validate_scene``
``presets``       render presets: ``sleep`` as a recipe sharing ``check``'s preset
``preflight``     can the outputs be written, is there room, would they replace an earlier render
``chunk_plan``    what each layer renders (kind, chunk seeds, window geometry), before any model work
``engine``        the layers rendered: model work, seams, loop closure, arrangement, ready to stream
``layers``        what every rendered layer is (``LayerOutput``), brought to the output rate; seeded randomness
``cache``         the content-addressed render cache: model work done once, resumed after a crash
``ray``           the model work spread over a Ray cluster, byte for byte the same result
``recordings/``   your own recordings as layers: ``sources`` (reading, levels, onsets), ``excerpts``
                  (arranging excerpts without replay), ``layers`` (beds and events), ``loop`` (``ambientgen loop``)
================  ==========================================================================================
"""
