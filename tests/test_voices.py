"""`narrator voices`: the list of every engine's voices, and Piper voice installs
from a local HTTP server on 127.0.0.1 (good, missing, corrupt, cut short) or
from a local file, and removal. Nothing leaves this machine."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from narrator.build import voices
from narrator.cli import main
from narrator.engines import voicestore
from narrator.errors import InputError

from .test_piper import make_voice

NAME = "fr_FR-test-tiny"
KEYS = {"engine", "name", "language", "gender", "offline", "installed", "size_bytes"}


def cli(*args: str):
    return CliRunner(mix_stderr=False).invoke(main, list(args))


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("NARRATOR_DATA_DIR", str(path))
    monkeypatch.delenv("NARRATOR_VOICES_URL", raising=False)
    return path


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    model = make_voice(tmp_path_factory.mktemp("voice"))
    return {
        f"{NAME}.onnx": model.read_bytes(),
        f"{NAME}.onnx.json": Path(f"{model}.json").read_bytes(),
    }


@pytest.fixture
def tiny_model(tiny_files: dict[str, bytes], tmp_path: Path) -> Path:
    folder = tmp_path / "downloaded"
    folder.mkdir()
    for name, data in tiny_files.items():
        (folder / name).write_bytes(data)
    return folder / f"{NAME}.onnx"


def entry_for(
    name: str, files: dict[str, bytes], rank: int
) -> voicestore.CatalogueVoice:
    def item(suffix: str) -> voicestore.CatalogueFile:
        data = files[f"{NAME}{suffix}"]
        return voicestore.CatalogueFile(
            name=f"{name}{suffix}",
            url_path=f"fr/fr_FR/test/{name}{suffix}",
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )

    return voicestore.CatalogueVoice(
        name=name,
        language="fr-FR",
        gender="F",
        quality="x_low",
        sample_rate=16000,
        speakers=1,
        license="MIT",
        model=item(".onnx"),
        config=item(".onnx.json"),
        rank=rank,
    )


@pytest.fixture
def catalogue(
    tiny_files: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> voicestore.Catalogue:
    """The shipped catalogue plus the tiny voice, under two names."""
    real = voicestore.catalogue()
    extra = {
        NAME: entry_for(NAME, tiny_files, 100),
        "fr_FR-test-best": entry_for("fr_FR-test-best", tiny_files, -1),
    }
    fake = voicestore.Catalogue(
        base_url="http://127.0.0.1:9/", voices={**extra, **real.voices}
    )
    monkeypatch.setattr(voicestore, "catalogue", lambda: fake)
    return fake


class FakeMirror:
    """A static file server for the catalogue's paths, misbehaving on demand:
    mode "ok", "404", "corrupt" (same size, other bytes) or "cut" (announces
    the full length, sends half, closes)."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.mode = "ok"
        self.requests: list[str] = []
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                mirror.requests.append(self.path)
                name = self.path.rsplit("/", 1)[-1]
                data = mirror.files.get(name.replace("fr_FR-test-best", NAME))
                if data is None or mirror.mode == "404":
                    self.send_error(404, "Not Found")
                    return
                if mirror.mode == "corrupt":
                    data = bytes(len(data))
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if mirror.mode == "cut" and name.endswith(".onnx"):
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mirror"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeMirror:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mirror(
    tiny_files: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeMirror]:
    with FakeMirror(tiny_files) as server:
        monkeypatch.setenv("NARRATOR_VOICES_URL", server.url)
        yield server


def leftovers(data_dir: Path) -> list[str]:
    root = data_dir / "voices"
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


# -- listing ---------------------------------------------------------------------


def test_voices_json_lists_edge_piper_and_espeak_french_voices() -> None:
    result = cli("voices", "--json")
    assert result.exit_code == 0, result.stderr
    listed = json.loads(result.stdout)
    assert all(set(v) >= KEYS for v in listed)

    def french(engine: str) -> list[dict[str, object]]:
        return [
            v
            for v in listed
            if v["engine"] == engine and str(v["language"]).startswith("fr")
        ]

    edge = french("edge")
    assert len(edge) >= 2 and {"fr-FR-DeniseNeural", "fr-FR-HenriNeural"} <= {
        v["name"] for v in edge
    }
    assert all(v["offline"] is False for v in edge)
    piper = french("piper")
    assert len(piper) >= 2
    assert {v["name"] for v in piper} >= {"fr_FR-siwis-medium", "fr_FR-upmc-medium"}
    assert all(v["offline"] and isinstance(v["size_bytes"], int) for v in piper)
    assert all(v["installed"] is False for v in piper)  # an empty data dir
    espeak = french("espeak")
    assert espeak and all(v["installed"] and v["offline"] for v in espeak)
    assert "fr" in {v["name"] for v in espeak}
    assert french("gtts")


def test_voices_text_table_and_engine_filter() -> None:
    result = cli("voices", "--engine", "piper")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["engine", "name", "language"]
    assert all(line.startswith("piper") for line in lines[1:])
    assert any("fr_FR-siwis-medium" in line and "63.2 MB" in line for line in lines)
    assert cli("voices", "--engine", "nope").exit_code == 2


def test_voices_catalogue_is_complete_and_well_formed() -> None:
    shipped = voicestore.catalogue()
    assert (
        shipped.base_url == "https://huggingface.co/rhasspy/piper-voices/resolve/main/"
    )
    assert list(shipped.voices) == [
        "fr_FR-siwis-medium",
        "fr_FR-upmc-medium",
        "fr_FR-tom-medium",
        "fr_FR-mls-medium",
        "fr_FR-siwis-low",
        "fr_FR-gilles-low",
    ]
    for name, entry in shipped.voices.items():
        for item, suffix in ((entry.model, ".onnx"), (entry.config, ".onnx.json")):
            assert item.url_path.startswith("fr/fr_FR/")
            assert item.url_path.endswith(f"/{name}{suffix}")
            assert len(item.sha256) == 64 and int(item.sha256, 16) >= 0
            assert item.size > 0
        assert entry.model.size > 10_000_000


# -- install from a mirror ---------------------------------------------------------


def test_voices_install_downloads_verifies_and_lists(
    catalogue: voicestore.Catalogue, mirror: FakeMirror, data_dir: Path
) -> None:
    result = cli("voices", "install", NAME)
    assert result.exit_code == 0, result.stderr
    assert NAME in result.stderr  # the progress bar names the file
    model = data_dir / "voices" / NAME / f"{NAME}.onnx"
    assert model.is_file() and Path(f"{model}.json").is_file()
    assert mirror.requests == [
        f"/mirror/fr/fr_FR/test/{NAME}.onnx.json",
        f"/mirror/fr/fr_FR/test/{NAME}.onnx",
    ]
    assert leftovers(data_dir) == [NAME]
    listed = {v["name"]: v for v in json.loads(cli("voices", "--json").stdout)}
    assert listed[NAME]["installed"] is True
    # Installed: a second install downloads nothing.
    again = cli("voices", "install", NAME)
    assert again.exit_code == 0 and "already installed" in again.stdout
    assert len(mirror.requests) == 2


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("404", "HTTP 404"),
        ("corrupt", "SHA-256"),
        ("cut", "interrupted"),
    ],
)
def test_voices_install_failures_leave_nothing_installed(
    catalogue: voicestore.Catalogue,
    mirror: FakeMirror,
    data_dir: Path,
    mode: str,
    message: str,
) -> None:
    mirror.mode = mode
    result = cli("voices", "install", NAME)
    assert result.exit_code == 1, result.stdout
    error_lines = [
        line for line in result.stderr.splitlines() if line.startswith("narrator:")
    ]
    assert len(error_lines) == 1 and message in error_lines[0]
    assert leftovers(data_dir) == []
    assert voicestore.find_installed(NAME) is None


def test_voices_install_unreachable_mirror_is_one_line_exit_1(
    catalogue: voicestore.Catalogue, monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    monkeypatch.setenv("NARRATOR_VOICES_URL", "http://127.0.0.1:9/")
    result = cli("voices", "install", NAME)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "cannot reach" in result.stderr
    assert leftovers(data_dir) == []


def test_voices_failed_reinstall_keeps_the_previous_install(
    catalogue: voicestore.Catalogue, mirror: FakeMirror, data_dir: Path
) -> None:
    assert cli("voices", "install", NAME).exit_code == 0
    model = data_dir / "voices" / NAME / f"{NAME}.onnx"
    before = model.read_bytes()
    mirror.mode = "corrupt"
    assert cli("voices", "install", NAME, "--force").exit_code == 1
    assert model.read_bytes() == before
    assert leftovers(data_dir) == [NAME]


def test_voices_unknown_name_without_from_is_exit_2(
    catalogue: voicestore.Catalogue,
) -> None:
    result = cli("voices", "install", "fr_FR-nobody")
    assert result.exit_code == 2 and "not in narrator's catalogue" in result.stderr
    assert cli("voices", "install", "../escape", "--from", "x.onnx").exit_code == 2


# -- install from a file, remove, installed_voices ----------------------------------


def test_voices_install_from_file_checks_catalogue_names(
    catalogue: voicestore.Catalogue, tiny_model: Path, tmp_path: Path, data_dir: Path
) -> None:
    # A name outside the catalogue: any valid voice is accepted.
    result = cli("voices", "install", "my-voice", "--from", str(tiny_model))
    assert result.exit_code == 0, result.stderr
    # A catalogue name: the file must be the catalogue's.
    result = cli("voices", "install", "fr_FR-siwis-medium", "--from", str(tiny_model))
    assert result.exit_code == 2 and "is not the catalogue's" in result.stderr
    assert voicestore.find_installed("fr_FR-siwis-medium") is None
    result = cli("voices", "install", NAME, "--from", str(tiny_model))
    assert result.exit_code == 0, result.stderr
    # A model without its config beside it.
    lone = tmp_path / "lone.onnx"
    lone.write_bytes(tiny_model.read_bytes())
    result = cli("voices", "install", "lone", "--from", str(lone))
    assert result.exit_code == 2 and "config is missing" in result.stderr
    assert leftovers(data_dir) == [NAME, "my-voice"]


def test_voices_installed_voices_best_first_for_auto(
    catalogue: voicestore.Catalogue, tiny_model: Path
) -> None:
    assert voices.installed_voices("piper", "fr") == []
    voices.install("my-voice", source=tiny_model)
    voices.install(NAME, source=tiny_model)
    voices.install("fr_FR-test-best", source=tiny_model)
    found = voices.installed_voices("piper", "fr")
    assert [v.name for v in found] == ["fr_FR-test-best", NAME, "my-voice"]
    assert all(v.path is not None and v.path.is_file() for v in found)
    assert voices.installed_voices("piper", "en") == []
    assert [v.name for v in voices.installed_voices("espeak", "fr")][0] == "fr"


def test_voices_remove(
    catalogue: voicestore.Catalogue, tiny_model: Path, data_dir: Path
) -> None:
    voices.install(NAME, source=tiny_model)
    result = cli("voices", "remove", NAME)
    assert result.exit_code == 0, result.stderr
    assert voicestore.find_installed(NAME) is None and leftovers(data_dir) == []
    again = cli("voices", "remove", NAME)
    assert again.exit_code == 2 and "not installed" in again.stderr
    with pytest.raises(InputError):
        voices.remove("../..")
