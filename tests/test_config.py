"""config.load_settings: defaults < narrator.toml < NARRATOR_* < options."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from narrator.cli.build import build
from narrator.config import PROJECT_OPTIONS, environment, load_settings
from narrator.errors import ConfigError


@pytest.fixture
def doc(tmp_path: Path) -> Path:
    path = tmp_path / "doc.md"
    path.write_text("## Titre\n\nUne phrase.\n", encoding="utf-8")
    return path


def write_toml(doc: Path, text: str) -> None:
    (doc.parent / "narrator.toml").write_text(text, encoding="utf-8")


def test_each_layer_overrides_the_one_below(doc: Path) -> None:
    assert load_settings(doc, {}, {}).preset == "phone"  # the default
    write_toml(doc, '[build]\npreset = "small"\nengine = "gtts"\njobs = 3\n')
    from_file = load_settings(doc, {}, {})
    assert (from_file.preset, from_file.engine, from_file.jobs) == ("small", "gtts", 3)
    env = {"NARRATOR_ENGINE": "espeak", "NARRATOR_JOBS": "5"}
    from_env = load_settings(doc, {}, env)
    assert (from_env.preset, from_env.engine, from_env.jobs) == ("small", "espeak", 5)
    typed = load_settings(doc, {"engine": "edge", "preset": "hq"}, env)
    assert (typed.preset, typed.engine, typed.jobs) == ("hq", "edge", 5)
    assert typed.engine_options["jobs"] == "5"


def test_paths_in_narrator_toml_are_relative_to_it(doc: Path) -> None:
    write_toml(doc, '[build]\ncover = "art/cover.jpg"\nlexicon = "lex.toml"\n')
    settings = load_settings(doc, {}, {})
    assert settings.cover_path == doc.parent / "art" / "cover.jpg"
    assert settings.lexicon_path == doc.parent / "lex.toml"


def test_seconds_become_pauses_in_ms(doc: Path) -> None:
    write_toml(doc, "[build]\npause-section = 2.5\n")
    settings = load_settings(doc, {"pause_title": 1.2}, {})
    assert settings.pauses.section_ms == 2500 and settings.pauses.title_ms == 1200


@pytest.mark.parametrize(
    ("toml", "word"),
    [
        ("[build]\nvolume = 3\n", "volume"),
        ("[build]\nloudness = -2\n", "loudness"),
        ('[build]\npreset = "tiny"\n', "preset"),
        ("[build]\njobs = 0\n", "jobs"),
        ('[build]\ngtts-slow = "oui"\n', "gtts-slow"),
        ("[build\n", "not valid TOML"),
    ],
)
def test_a_bad_narrator_toml_is_a_config_error(doc: Path, toml: str, word: str) -> None:
    write_toml(doc, toml)
    with pytest.raises(ConfigError, match=word):
        load_settings(doc, {}, {})


def test_environment_is_parsed_once_and_checked(tmp_path: Path) -> None:
    env = environment(
        {
            "NARRATOR_LOCK_DIR": str(tmp_path / "locks"),
            "NARRATOR_GTTS_BASE_URL": "http://127.0.0.1:9",
            "NARRATOR_EDGE_URL": "ws://127.0.0.1:1/edge?x=1",
            "NARRATOR_DEBUG": "1",
        }
    )
    assert env.lock_dir == tmp_path / "locks" and env.debug
    settings = load_settings(None, {}, {"NARRATOR_EDGE_URL": "ws://127.0.0.1:1/e?"})
    assert settings.engine_options["url"] == "ws://127.0.0.1:1/e?"
    with pytest.raises(ConfigError, match="NARRATOR_JOBS"):
        environment({"NARRATOR_JOBS": "beaucoup"})


def test_narrator_toml_has_the_command_lines_bounds() -> None:
    """One option, one range: the file is checked like the command line."""
    params = {p.name: p for p in build.params}
    for key, (name, convert) in PROJECT_OPTIONS.items():
        param = params[name]
        if isinstance(param.type, click.FloatRange | click.IntRange):
            low, high = param.type.min, param.type.max
            assert convert(low) == low, key
            if high is not None:
                assert convert(high) == high, key
            with pytest.raises(ValueError):
                convert(low - 1)
        if isinstance(param.type, click.Choice):
            for choice in param.type.choices:
                # A repeatable option is a list in the file: one value, a list
                # of one.
                expected = (choice,) if param.multiple else choice
                assert convert(choice) == expected, key
