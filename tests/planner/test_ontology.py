"""The planner's data: places and the sources they imply (ambientgen/data/ontology.yaml)."""

from __future__ import annotations

from ambientgen.planner.compose import PlanTarget, ontology, plan

NEURAL = PlanTarget("audioldm2")


def test_at_least_sixty_places_each_implying_known_sources_across_every_domain():
    onto = ontology()
    assert len(onto.environments) >= 60
    for env in onto.environments.values():
        assert env.implies and all(s in onto.sources for s in env.implies), env.name
    for place in ("hospital", "train station", "pub", "stadium", "desert", "tundra", "swamp", "haunted house",
                  "cyberpunk city", "submarine", "bakery", "lighthouse", "bowling alley", "casino"):
        assert plan(f"a {place}", backend=NEURAL).layers, place

