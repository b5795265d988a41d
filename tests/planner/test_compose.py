from __future__ import annotations

import pytest
from typer.testing import CliRunner

import ambientgen
from ambientgen.cli import commands as cli
from ambientgen.errors import AmbientgenError
from ambientgen.planner.compose import MAX_LAYERS, PlanTarget, ontology, plan
from ambientgen.scene.files import load_scene

runner = CliRunner()
B, E = "bed", "events"

# (description, {source: role} expected, exactly or at least: "exact" | "includes")
CASES = [
    ("rain on a tin roof with distant thunder and crickets", {"rain": B, "thunder": E, "crickets": B}, "exact"),
    ("heavy rain", {"rain": B}, "exact"),
    ("light drizzle on the window", {"rain": B}, "exact"),
    ("torrential downpour", {"rain": B}, "exact"),
    ("rain and wind", {"rain": B, "wind": B}, "exact"),
    ("Rain, wind, thunder.", {"rain": B, "wind": B, "thunder": E}, "exact"),
    ("RAIN ON LEAVES", {"rain": B}, "exact"),
    ("a thunderstorm", {"rain": B, "thunder": E, "howling-wind": B}, "exact"),
    ("stormy night", {"rain": B, "thunder": E, "howling-wind": B}, "includes"),
    ("crackling campfire", {"fire": B}, "exact"),
    ("a fireplace with a ticking clock", {"fire": B, "clock-ticking": B}, "exact"),
    ("campfire with owls and occasional wolves", {"fire": B, "owls": E, "wolves": E}, "exact"),
    ("ocean waves", {"waves": B}, "exact"),
    ("waves and seagulls", {"waves": B, "gulls": E}, "exact"),
    ("at the beach", {"waves": B, "gulls": E, "wind": B}, "exact"),
    ("a harbour with creaking boats", {"boat-creaking": E, "waves": B, "gulls": E}, "exact"),
    ("a babbling brook", {"stream": B}, "exact"),
    ("river with frogs", {"river": B, "frogs": B}, "exact"),
    ("waterfall in the jungle", {"waterfall": B, "rain": B, "cicadas": B, "frogs": B, "songbirds": B}, "exact"),
    ("birdsong in a forest", {"songbirds": B, "wind": B, "rustling-leaves": B}, "exact"),
    ("forest", {"wind": B, "songbirds": B, "rustling-leaves": B}, "exact"),
    ("woods at dawn", {"dawn-chorus": B, "wind": B, "rustling-leaves": B}, "exact"),
    ("a dawn chorus", {"dawn-chorus": B}, "exact"),
    ("summer night with crickets and frogs", {"crickets": B, "frogs": B}, "includes"),
    ("cicadas", {"cicadas": B}, "exact"),
    ("a cricket", {"crickets": B}, "exact"),
    ("owls hooting", {"owls": E}, "exact"),
    ("a woodpecker and crows", {"woodpecker": E, "crows": E}, "exact"),
    ("loons on a lake", {"loons": E, "lake-lapping": B, "frogs": B}, "exact"),
    ("distant dog barking", {"dog-barking": E}, "exact"),
    ("a cat purring by the fire", {"cat-purring": B, "fire": B}, "exact"),
    ("rooster and cows on a farm", {"rooster": E, "cows": E, "songbirds": B}, "exact"),
    ("buzzing bees", {"bees": B}, "exact"),
    ("whale song", {"whales": E}, "exact"),
    ("busy Tokyo street in the rain", {"rain": B, "traffic": B, "crowd-murmur": B, "car-horns": E}, "exact"),
    ("city traffic with sirens", {"traffic": B, "sirens": E}, "exact"),
    ("a busy cafe", {"crowd-murmur": B, "cafe-clatter": B}, "exact"),
    ("coffee shop chatter with an espresso machine", {"crowd-murmur": B, "cafe-clatter": B}, "exact"),
    ("restaurant", {"crowd-murmur": B, "cafe-clatter": B}, "exact"),
    ("a street market", {"market": B}, "exact"),
    ("children playing in a park", {"children-playing": E}, "includes"),
    ("church bells in the distance", {"church-bells": E}, "includes"),
    ("train carriage at night", {"train-interior": B}, "exact"),
    ("night train with rain on the windows", {"train-interior": B, "crowd-murmur": B, "rain": B}, "exact"),
    ("subway", {"train-interior": B}, "exact"),
    ("airplane cabin hum", {"airplane-cabin": B}, "exact"),
    ("road trip in the rain", {"car-interior": B, "rain": B}, "exact"),
    ("a spaceship engine room", {"spaceship-hum": B}, "exact"),
    ("on a space station", {"spaceship-hum": B, "spaceship-beeps": E, "air-conditioner": B}, "exact"),
    ("a quiet library", {"room-tone": B, "pages-turning": E, "clock-ticking": B}, "exact"),
    ("typing on a keyboard in an office", {"keyboard-typing": B, "air-conditioner": B, "crowd-murmur": B}, "exact"),
    ("pages turning and a pencil writing", {"pages-turning": E, "pen-writing": B}, "exact"),
    ("a ceiling fan", {"fan": B}, "exact"),
    ("air conditioner hum", {"air-conditioner": B}, "exact"),
    ("fridge hum in a kitchen", {"refrigerator": B, "clock-ticking": B, "kitchen-clatter": B}, "exact"),
    ("washing machine", {"washing-machine": B}, "exact"),
    ("brown noise", {"brown-noise": B}, "exact"),
    ("pink noise and rain", {"pink-noise": B, "rain": B}, "exact"),
    ("white noise", {"white-noise": B}, "exact"),
    ("wind chimes in a breeze", {"wind-chimes": E, "wind": B}, "exact"),
    ("howling wind on a mountain", {"howling-wind": B, "crows": E}, "exact"),
    ("a blizzard", {"howling-wind": B}, "exact"),
    ("footsteps in snow", {"snow-footsteps": E}, "exact"),
    ("hail on a car roof", {"hail": B}, "exact"),
    ("dripping water in a cave", {"drips": E}, "includes"),
    ("leaves rustling and a creaking branch", {"rustling-leaves": B, "creaking-branches": E}, "exact"),
    ("a cabin", {"fire": B, "clock-ticking": B, "wind": B}, "exact"),
    ("camping in a tent with rain", {"fire": B, "crickets": B, "wind": B, "rain": B}, "exact"),
    ("server room", {"server-room": B}, "exact"),
    ("radiator clanking", {"radiator": E}, "exact"),
    ("a kettle boiling", {"kettle": E}, "exact"),
    ("horses in a field", {"horses": E}, "includes"),
    ("ducks on a pond", {"ducks": E, "lake-lapping": B, "loons": E, "frogs": B}, "exact"),
    # typos and plurals
    ("thundr and rain", {"thunder": E, "rain": B}, "exact"),
    ("cricekts", {"crickets": B}, "exact"),
    ("waterfal", {"waterfall": B}, "exact"),
    ("seagull", {"gulls": E}, "exact"),
    ("frog", {"frogs": B}, "exact"),
]


def sources(p):
    return {layer.source: layer.role for layer in p.layers if layer.source}


def test_every_ontology_source_is_well_formed():
    for src in ontology().sources.values():
        assert src.role in ("bed", "events") and src.words, src.name
        assert "{adj}" in src.prompt or "noise" in src.name, src.name  # modifiers have a place in the prompt
        assert src.role == "bed" or src.rate > 0, src.name  # events say how often they sound


@pytest.mark.parametrize("description, expected, how", CASES, ids=[c[0][:40] for c in CASES])
def test_descriptions_become_the_expected_layers(description, expected, how):
    got = sources(plan(description))
    if how == "exact":
        assert got == expected
    else:
        assert expected.items() <= got.items(), got
    assert len(plan(description).layers) <= MAX_LAYERS


def test_modifiers_shape_prompt_gain_and_rate():
    p = plan("rain on a tin roof with distant thunder and occasional owls")
    rain, thunder, owls = p.layers
    assert rain.prompt == "field recording of rain on a tin roof"
    assert thunder.prompt == "field recording of distant rolling thunder" and thunder.gain_db < -6
    assert owls.per_minute == pytest.approx(0.25)  # 0.5 per minute, halved by "occasional"
    heavy, light = plan("heavy rain").layers[0], plan("light rain").layers[0]
    assert heavy.gain_db > light.gain_db and "heavy rain" in heavy.prompt and "light rain" in light.prompt
    assert plan("rain on the window").layers[0].prompt == "field recording of rain on a window"
    close = plan("a close dog barking").layers[0]
    assert close.prompt == "field recording of a close dog barking"
    assert plan("an owl").layers[0].prompt == "field recording of an owl hooting at night"
    assert plan("a distant owl").layers[0].prompt == "field recording of a distant owl hooting at night"


def test_unknown_phrases_become_layers_with_a_warning():
    p = plan("waves, gulls and a distant foghorn")
    assert [layer.source for layer in p.layers] == ["waves", "gulls", None]
    foghorn = p.layers[2]
    assert foghorn.prompt == "field recording of a distant foghorn" and foghorn.name == "distant-foghorn"
    assert p.warnings == ["'a distant foghorn' is not in the sound ontology: it gets a layer of its own with your "
                          "words as the prompt"]
    typo = plan("thunder and hevy rian")  # four-letter typos are not guessed: kept, and said
    assert any("hevy rian" in w for w in typo.warnings)


@pytest.mark.parametrize("text, message", [
    ("", "description: empty"), ("   ", "description: empty"), ("!!! ???", "description: empty"),
    ("asdf qwer", "no sound or place I know in 'asdf qwer'"), ("the of and with", "no sound or place I know"),
])
def test_empty_or_nonsense_is_an_error(text, message):
    with pytest.raises(AmbientgenError, match=message):
        plan(text)


def test_layers_are_capped_and_the_rest_said():
    p = plan("rain, wind, thunder, crickets, frogs, owls, a fire and a stream in a forest")
    assert len(p.layers) == MAX_LAYERS
    # beds merge into a bed, never into an event layer
    assert "merged 'fire' into 'frogs': at most 6 layers" in p.warnings
    assert "merged 'stream' into 'frogs': at most 6 layers" in p.warnings
    frogs = next(layer for layer in p.layers if layer.source == "frogs")
    assert frogs.merged == ["fire", "stream"] and frogs.prompt.endswith("and a crackling fire and a babbling stream")
    assert any("left out" in w and "implied by forest" in w for w in p.warnings)


def test_plans_are_deterministic_and_explained():
    a, b = plan("busy Tokyo street in the rain"), plan("busy Tokyo street in the rain")
    assert a.explain() == b.explain() and a.scene() == b.scene()
    explain = {e["layer"]: e for e in a.explain()}
    assert explain["rain"]["from"] == "rain"
    assert explain["traffic"]["implied_by"] == "city-street" and "tokyo" in explain["traffic"]["from"]
    assert "tokyo" in a.layers[1].prompt  # words the ontology does not know are kept in the prompt


@pytest.mark.parametrize("description", [c[0] for c in CASES[::5]])
def test_plan_yaml_load_round_trip(description, tmp_path):
    p = plan(description)
    scene = p.scene()
    path = tmp_path / "s.yaml"
    path.write_text(p.scene_text(scene))
    assert load_scene(path) == scene


@pytest.mark.slow
def test_cli_plan_writes_a_scene_render_accepts(tmp_path):
    out = tmp_path / "storm.yaml"
    result = runner.invoke(cli.app, ["plan", "rain on a tin roof with distant thunder and crickets", "-o", str(out),
                                     "--duration", "20s"])
    assert result.exit_code == 0, result.output
    assert "thunder" in result.output and "events" in result.output and out.is_file()
    assert out.read_text().startswith("# planned by `ambientgen plan` from: rain on a tin roof")
    rendered = runner.invoke(cli.app, ["render", str(out), "-o", str(tmp_path / "o"), "-q", "--no-report",
                                       "--backend", "procedural"])
    assert rendered.exit_code == 0, rendered.output


@pytest.mark.slow
def test_cli_render_takes_a_description(tmp_path):
    import json

    result = runner.invoke(cli.app, ["render", "heavy rain with distant thunder", "-o", str(tmp_path / "o"), "-q",
                                     "--no-report", "--duration", "20s", "--backend", "procedural"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert [layer["name"] for layer in manifest["layers"]] == ["rain", "thunder"]
    assert manifest["plan"]["layers"][1] == {"layer": "thunder", "source": "thunder", "from": "distant thunder",
                                             "renders_with": "procedural: thunder distant"}
    assert "rain" in result.stdout and "thunder distant" in result.stdout  # the plan table, as `plan` prints it


@pytest.mark.parametrize("args, code, message", [
    (["plan", ""], 1, "description: empty"),
    (["render", ""], 1, "description: empty"),  # not a path error
    (["render", "   "], 1, "description: empty"),
    (["plan", "zzzz"], 1, "no sound or place I know"),
    (["plan", "rain", "--duration", "0"], 2, "--duration: must be greater than 0 seconds"),
    (["render", "blorp glorp"], 1, "no sound or place I know in 'blorp glorp'"),
    (["render", "missing.yaml"], 1, "missing.yaml: no such scene file"),
    (["plan", "rain", "-o", "{tmp}"], 2, "is a directory; give a file name such as scene.yaml"),
    (["plan", "rain", "-o", "/proc/ambientgen.yaml"], 1, "--output: cannot write /proc/ambientgen.yaml"),
])
def test_cli_plan_errors(args, code, message, tmp_path):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = runner.invoke(cli.app, args + (["-o", str(tmp_path / "x")] if args[0] == "render" else []))
    assert result.exit_code == code, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


# --- planning for the backend that will render -------------------------------------------------------------

def procedural_target():
    from ambientgen.backends.procedural import ProceduralBackend
    from ambientgen.planner.compose import PlanTarget

    backend = ProceduralBackend()
    return PlanTarget("procedural", True, backend.supports, backend.renderer)


def test_every_ontology_source_says_what_the_offline_backend_renders_it_with():
    """The ontology's `offline` field is what the procedural backend really does with the source's prompt."""
    from ambientgen.backends.procedural import SOURCES, match_source

    generators = {s.name for s in SOURCES}
    for src in ontology().sources.values():
        prompt = src.prompt.replace("{adj}", "").replace("{where}", "")
        found = match_source(prompt)
        if src.offline == "none":
            assert found is None, (src.name, found[0].name)  # neural-only: no generator takes it by a keyword
        else:
            generator = src.offline.removeprefix("near ")
            assert generator in generators, src.name
            assert found is not None and found[0].name == generator, (src.name, found and found[0].name)


SIX = {  # the sentences of the offline-backend issue: what each renders with, and what is left out
    "a cozy library with a ticking clock and rain on the windows":
        ({"clock-ticking": "clock", "rain": "rain surface=window", "room-tone": "room tone",
          "pages-turning": "pages"}, []),
    "train carriage at night": ({"train-interior": "train"}, []),
    "desert wind with distant camels": ({"wind": "wind"}, ["'distant camels'"]),
    "seagulls over the harbour": ({"gulls": "gulls", "waves": "waves"}, ["no boat-creaking generator"]),
    "gentle lake lapping at dusk": ({"lake-lapping": "waves", "frogs": "frogs"}, ["no loons generator"]),
    "softly hissing embers": ({"embers": "fire size=embers"}, []),
}


@pytest.mark.parametrize("description", SIX)
def test_a_plan_for_the_procedural_backend_holds_only_what_it_renders(description):
    expected, left_out = SIX[description]
    p = plan(description, backend=procedural_target())
    assert p.backend == "procedural"
    assert {la.name: la.renders_with for la in p.layers} == {k: f"procedural: {v}" for k, v in expected.items()}
    assert len(p.left_out) == len(left_out) and all(w in got for w, got in zip(left_out, p.left_out))
    assert all("left out" in w for w in p.left_out)
    neural = plan(description)  # without a backend: the whole ontology
    assert len(neural.layers) >= len(p.layers) and all(la.renders_with is None for la in neural.layers)


def test_stand_ins_are_said_and_unknown_phrases_left_out_with_the_reason():
    p = plan("water lapping, distant camels", backend=procedural_target())
    assert "'water lapping': the procedural backend has no lake-lapping generator; the nearest, waves, stands in" \
        in p.warnings
    assert p.left_out == ["'distant camels': the procedural backend has no generator for it (not a sound the "
                          "ontology knows); left out"]
    assert not any("gets a layer of its own" in w for w in p.warnings)  # it did not


def test_nothing_renderable_is_an_error_that_names_the_backend():
    with pytest.raises(AmbientgenError, match="nothing in 'a howling wolf' can be rendered by the procedural backend"
                                              " .*no wolves generator"):
        plan("a howling wolf", backend=procedural_target())


def test_a_neural_target_keeps_every_layer_and_names_itself():
    from ambientgen.planner.compose import PlanTarget

    p = plan("rain with distant camels", backend=PlanTarget("stable-audio-3"))
    assert [(la.name, la.renders_with) for la in p.layers] == [("rain", "stable-audio-3"),
                                                               ("distant-camels", "stable-audio-3")]


def test_too_many_sources_for_the_procedural_backend_are_left_out_not_merged():
    p = plan("rain, wind, thunder, crickets, frogs, birds, a fire and a stream", backend=procedural_target())
    assert len(p.layers) == MAX_LAYERS and not any(la.merged for la in p.layers)
    assert "left out 'fire': at most 6 layers" in p.warnings and "left out 'stream': at most 6 layers" in p.warnings


def test_night_leaves_out_a_places_daytime_sounds():
    day, night = sources(plan("a forest")), sources(plan("a forest at night"))
    assert "songbirds" in day and "songbirds" not in night and "crickets" in night
    assert "left out 'songbirds' (implied by forest): not heard at night" in plan("a forest at night").warnings
    assert "songbirds" in sources(plan("songbirds at night"))  # named by the user: kept


def test_after_a_storm_is_its_aftermath():
    p = plan("a garden after a storm")  # the garden's own sources, and what is left of the storm
    assert sources(p) == {"drips": "events", "songbirds": "bed", "bees": "bed", "wind": "bed"}
    assert "'after a storm': it is over; planned as what is left of it (drips)" in p.warnings
    assert "rain" not in sources(plan("a forest after the rain")) and "rain" in sources(plan("a forest in the rain"))


def test_modifiers_apply_to_unknown_phrases():
    near, far = plan("rain with camels").layers[1], plan("rain with distant camels").layers[1]
    assert far.gain_db == near.gain_db - 6 and far.prompt == "field recording of distant camels"
    assert near.role == far.role == "events" and near.per_minute == 1.0  # an animal: separate calls
    assert plan("rain and occasional distant trucks").layers[1].per_minute == 0.5
    hum = plan("rain and a faint electric buzz").layers[1]  # neither an animal nor a vehicle: a bed
    assert hum.role == "bed" and hum.gain_db == -13


def test_cli_plan_shows_what_renders_each_layer_and_what_is_left_out():
    result = runner.invoke(cli.app, ["plan", "desert wind with distant camels", "--backend", "procedural"],
                           env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "1 layer for the procedural backend" in result.stdout and "renders with" in result.stdout
    assert "'distant camels': the procedural backend has no generator for it" in result.stderr
    neural = runner.invoke(cli.app, ["plan", "desert wind with distant camels", "--backend", "audioldm2"],
                           env={"COLUMNS": "160"})
    assert "distant-camels" in neural.stdout and "for the audioldm2 backend" in neural.stdout


def test_a_modifier_the_prompt_already_says_is_not_added_again():
    embers = plan("a campfire with softly hissing embers").layers[1]
    assert embers.source == "embers" and embers.prompt.count("softly") == 1
    assert embers.words == "hissing embers (+ softly)"  # the words it came from are all still said
    cabin = plan("rain with cozy owls").layers[1]
    assert cabin.prompt.endswith(", cozy")  # a word the prompt lacks still qualifies it


def test_cli_plan_table_keeps_layer_names_whole_in_a_narrow_terminal():
    """Layer names are what a scene is edited by: at 80 columns prompts and words wrap, names are never cut."""
    result = runner.invoke(cli.app, ["plan", "a cozy library with a ticking clock and rain on the windows",
                                     "--backend", "procedural"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    firsts = [line.split()[0] for line in result.stdout.splitlines()[4:] if line[:2].strip()]
    assert firsts[:4] == ["clock-ticking", "rain", "room-tone", "pages-turning"], result.stdout
    assert "from your words" not in result.stdout and "120 columns wide also shows the words" in result.stdout
    wide = runner.invoke(cli.app, ["plan", "a cozy library with a ticking clock and rain on the windows",
                                   "--backend", "procedural"], env={"COLUMNS": "160"})
    assert "from your words" in wide.stdout and "ticking clock" in wide.stdout


@pytest.mark.parametrize("args, message", [
    (["plan", "rain", "--backend", "nope"], "error: --backend: must be one of auto, audioldm2, procedural, "
                                            "stable-audio-3, recording, got 'nope'"),
    (["plan", "a howling wolf", "--backend", "procedural"], "error: description: nothing in 'a howling wolf' can "
                                                             "be rendered by the procedural backend"),
    (["plan", "rain", "--device", "tpu"], "error: --device: must be one of auto, cpu, cuda, mps, got 'tpu'"),
    (["validate", "{tmp}/missing.yaml", "--device", "tpu"],
     "error: --device: must be one of auto, cpu, cuda, mps, got 'tpu'"),
    (["render", "a howling wolf", "--backend", "procedural", "-o", "{tmp}/o"],
     "error: description: nothing in 'a howling wolf' can be rendered by the procedural backend"),
])
def test_cli_planning_for_a_backend_errors(args, message, tmp_path):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = runner.invoke(cli.app, args)
    assert result.exit_code in (1, 2) and result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


def test_validate_checks_the_layers_against_the_backend_the_scene_would_use(tmp_path):
    scene = tmp_path / "s.yaml"
    scene.write_text("name: s\nduration: 10\nlayers:\n  - {name: rain, prompt: heavy rain on a tin roof}\n"
                     "  - {name: camels, prompt: distant camels grumbling}\n")
    result = runner.invoke(cli.app, ["validate", str(scene)])
    assert result.exit_code == 0, result.output
    assert "rain: procedural: rain intensity=heavy surface=roof" in result.stdout
    assert "camels: left out: no generator for its prompt" in result.stdout
    assert "layer 'camels' will be left out: the procedural backend has no generator" in result.stderr
    import ambientgen

    found = ambientgen.validate_scene(scene)  # the library does what the command does
    assert found.renders == {"rain": "procedural: rain intensity=heavy surface=roof",
                             "camels": "left out: no generator for its prompt"}
    assert found.choice.backend == "procedural" and found.warnings[0].startswith("layer 'camels' will be left out")
    strict = tmp_path / "strict.yaml"
    strict.write_text(scene.read_text().replace("duration: 10", "duration: 10\nmodel: {backend: procedural}"))
    refused = runner.invoke(cli.app, ["validate", str(strict)])
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: layers: backend procedural has no generator for layer(s) 'camels'")


@pytest.mark.slow
@pytest.mark.parametrize("description", SIX)
def test_the_six_sentences_render_with_the_planned_generators(description, tmp_path):
    """Planned, rendered, and each layer rendered by the generator the plan named (the manifest says so)."""
    from ambientgen import render

    result = render(description, tmp_path, duration=12, backend="procedural", report=False, stems=False,
                    session=False)
    expected, _ = SIX[description]
    assert {e["name"]: e["rendered_by"] for e in result.manifest["layers"]} == expected
    assert result.manifest["skipped_layers"] == []


def test_prompts_follow_the_style_of_the_backend_that_renders():
    """AudioLDM2's sentence style by default; Stable Audio 3's tag style (sound first) when planned for it; a source's
    own prompt for a backend replaces the rewrite."""
    sentence = "heavy rain on a tin roof with distant thunder, a ticking clock and whales"
    default = [layer.prompt for layer in plan(sentence).layers]
    assert default == [layer.prompt for layer in plan(sentence, backend=PlanTarget("audioldm2")).layers]
    sa3 = {layer.source: layer.prompt for layer in plan(sentence, backend=PlanTarget("stable-audio-3")).layers}
    assert sa3["rain"] == "heavy rain on a tin roof, field recording"
    assert sa3["thunder"] == "distant rolling thunder, field recording"
    assert sa3["clock-ticking"] == "clock ticking in a quiet room, close-up recording"
    assert sa3["whales"] == "whale song, underwater recording, hydrophone"  # the source's own prompt for SA3
    assert "field recording of heavy rain on a tin roof" in default


def test_every_prompt_style_and_own_prompt_names_a_registered_backend_and_applies():
    from ambientgen.backends import backend_names
    from ambientgen.planner.compose import RECORDING

    onto = ontology()
    names = set(backend_names())
    assert onto.prompt_styles and set(onto.prompt_styles) <= names
    for src in onto.sources.values():
        assert set(src.prompts) <= names, src.name
        assert all("{adj}" in own for own in src.prompts.values()), src.name
        for backend in onto.prompt_styles:  # restyled, given its own prompt, or already a list of tags
            default = src.prompt.replace("{adj}", "").replace("{where}", "")
            assert RECORDING.match(default) or backend in src.prompts or "recording" not in default, src.name


def test_styled_prompt_keeps_a_prompt_not_in_the_ontology_style():
    from ambientgen.planner.compose import styled_prompt

    assert styled_prompt("my own words", "{sound}, {recording}") == "my own words"
    assert styled_prompt("recording of an electric fan whirring", "{sound}, {recording}") == \
        "electric fan whirring, recording"


def test_a_description_planned_for_stable_audio_3_gets_its_prompt_style():
    from ambientgen.rendering.prepare import plan_description

    layers = plan_description("a crackling fire and light rain", backend="stable-audio-3").layers
    assert [layer.prompt for layer in layers] == ["crackling fire, field recording", "light rain, field recording"]
    assert plan_description("a crackling fire", backend="procedural").layers[0].prompt == \
        "field recording of a crackling fire"


def test_a_plan_records_its_backend_and_validate_judges_it_for_that_backend(tmp_path):
    """`plan --backend X -o f.yaml` writes model.backend: X, so validate and render judge the file for X."""
    out = tmp_path / "x.yaml"
    result = runner.invoke(cli.app, ["plan", "rain and distant thunder", "--backend", "procedural", "-o", str(out)])
    assert result.exit_code == 0, result.output
    from ambientgen.scene.files import load_scene

    assert load_scene(out).model.backend == "procedural"
    checked = runner.invoke(cli.app, ["validate", str(out)])
    assert checked.exit_code == 0 and "backend procedural" in checked.stdout


def test_validate_takes_backend_like_render(tmp_path):
    scene = tmp_path / "s.yaml"
    scene.write_text("name: s\nduration: 30\nlayers:\n  - name: rain\n    prompt: rain\n")
    found = ambientgen.validate_scene(scene, backend="procedural")
    assert found.choice.backend == "procedural" and found.renders["rain"].startswith("procedural")
    bad = runner.invoke(cli.app, ["validate", str(scene), "--backend", "magic"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: --backend: must be one of")


@pytest.mark.parametrize("text, prompt", [
    ("rolling thunder", "field recording of rolling thunder"),
    ("distant rolling thunder", "field recording of distant rolling thunder"),
    ("gentle rain on leaves and rolling thunder", "field recording of rolling thunder"),
])
def test_a_modifier_the_prompt_already_says_is_not_doubled(text, prompt):
    thunder = next(layer for layer in plan(text).layers if layer.name == "thunder")
    assert thunder.prompt == prompt


NEURAL = PlanTarget("audioldm2")


@pytest.mark.parametrize("description, layers", [
    ("a lighthouse on a foggy night with a foghorn",  # a place the ontology knows: what it implies
     {"foghorn": ("events", "field recording of a foghorn"), "waves": ("bed", "field recording of ocean waves on a beach"),
      "wind": ("bed", "field recording of wind blowing"), "gulls": ("events", "field recording of seagulls calling")}),
    ("a bakery at dawn with ovens and a dough mixer",  # indoors: no dawn chorus
     {"ovens": ("bed", "field recording of ovens"), "dough-mixer": ("bed", "field recording of a dough mixer"),
      "kitchen-clatter": ("bed", "field recording of dishes, pots and pans clattering in a kitchen"),
      "crowd-murmur": ("bed", "field recording of the murmur of a crowd, indistinct voices"),
      "air-conditioner": ("bed", "recording of an air conditioner humming")}),
    ("a bowling alley on a friday night",
     {"bowling-pins": ("events", "field recording of bowling balls rolling and pins crashing"),
      "crowd-murmur": ("bed", "field recording of the murmur of a crowd, indistinct voices")}),
    ("a carpenter's workshop with saws and sanding",
     {"saws": ("events", "field recording of saws"), "sanding": ("bed", "field recording of sanding"),
      "construction": ("events", "field recording of construction work, hammering and drilling"),
      "fan": ("bed", "recording of an electric fan whirring")}),
    ("a pet shop full of budgies",  # a place it does not know: an ambience in the sentence's words
     {"pet-shop-ambience": ("bed", "ambient field recording of a pet shop"),
      "budgies": ("bed", "field recording of budgies")}),  # many birds: a chorus, not single calls
    ("a petting zoo on a foggy night",
     {"petting-zoo-ambience": ("bed", "ambient field recording of a petting zoo on a foggy night")}),
])
def test_everyday_places_plan_for_a_neural_backend_in_their_own_words(description, layers):
    got = {la.name: (la.role, la.prompt) for la in plan(description, backend=NEURAL).layers}
    assert got == layers


@pytest.mark.parametrize("description, name, role", [
    ("a car wash", "car-wash-ambience", "bed"), ("an old clock tower with pigeons", "old-clock-tower-ambience", "bed"),
    ("a church organ", "church-organ", "bed"), ("a coffee grinder", "coffee-grinder", "bed"),
])
def test_compound_nouns_are_one_source_not_their_first_word(description, name, role):
    layers = plan(description, backend=NEURAL).layers
    assert layers[0].name == name and layers[0].role == role
    assert not any(la.source in ("traffic", "clock-ticking", "cafe") for la in layers)


def test_an_offline_backend_gets_the_nearest_generator_for_a_compound_with_a_note():
    from ambientgen.rendering.prepare import plan_target

    planned = plan("a car wash", backend=plan_target(backend="procedural"))
    assert [la.source for la in planned.layers] == ["traffic"]
    assert any("'a car wash'" in w and "the nearest, traffic, stands in" in w for w in planned.warnings)


def test_strings_that_name_nothing_are_still_refused():
    with pytest.raises(AmbientgenError, match="no sound or place I know"):
        plan("asdf qwerty", backend=NEURAL)


def test_an_everyday_sentence_the_offline_backend_cannot_render_says_which_backend_can():
    from ambientgen.rendering.prepare import plan_target

    with pytest.raises(AmbientgenError, match=r"nothing in 'a pet shop with ovens' can be rendered by the procedural "
                                              r"backend \('a pet shop', 'ovens' need a neural backend"):
        plan("a pet shop with ovens", backend=plan_target(backend="procedural"))


def test_indoors_dawn_brings_no_birdsong_and_night_no_crickets():
    assert "dawn-chorus" not in {la.source for la in plan("a bakery at dawn", backend=NEURAL).layers}
    assert "crickets" not in {la.source for la in plan("a hospital ward at night", backend=NEURAL).layers}
    assert "crickets" in {la.source for la in plan("a field at night", backend=NEURAL).layers}
