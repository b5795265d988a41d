"""The scene planner: one sentence becomes a layered scene, deterministically and explainably.

===============  ===========================================================================================
module           what it offers
===============  ===========================================================================================
``compose``      ``plan(description, backend=...)``: phrases to layers (roles, levels, pans, prompts), places
                 expanded into the layers they imply, fitted to what the backend renders
``phrases``      reading the sentence: phrases, whole-word matches of known names, modifier words
``ontology``     the sources and places the planner knows (``ambientgen/data/ontology.yaml``)
``scene_plan``   what a plan is (``ScenePlan``, ``PlannedLayer``, ``PlanTarget``): a table, a scene, a file
``change``       change over time in the sentence (rolls in, fades out, as you fall asleep) as timeline moments
``lexicon``      English beyond the ontology: nouns and lemmas (lemminflect), kinds of sound (``data/kinds.yaml``)
``unknown``      phrases the ontology does not know: compound nouns, and the layers they become
``beds``         a scene file's beds that name only single events (``one_event_beds``), planned only when they may
===============  ===========================================================================================

The public entry point is :func:`ambientgen.plan_scene`.
"""
