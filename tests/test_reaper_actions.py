"""Our actual ReaScripts, run inside the stand-in as REAPER runs them, against a fake daemon API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reaper_standin.fakedaemon import FakeDaemon
from tests.reaper_standin.fixtures import ReaperEnv, make_wav, one_item_project, reaper  # noqa: F401

ACTION_BUDGET_MS = 100.0


@pytest.fixture
def daemon(_isolated_home: Path) -> Iterator[FakeDaemon]:
    fake = FakeDaemon(_isolated_home)
    yield fake
    fake.close()


def _run(reaper: ReaperEnv, script: str) -> dict[str, Any]:  # noqa: F811
    run = reaper.standin.run_script(script)
    assert run["error"] is None, run["error"]
    assert run["elapsed_ms"] < ACTION_BUDGET_MS, f"{script} took {run['elapsed_ms']:.1f} ms"
    return run


def test_inpaint_captures_gap_in_source_time_honouring_rate_and_offset(reaper: ReaperEnv,  # noqa: F811
                                                                       daemon: FakeDaemon) -> None:
    source = make_wav(reaper.tmp / "voice.wav", 10.0)
    reaper.standin.load(one_item_project(source, position_s=2.0, length_s=4.0, start_offset_s=0.5, playrate=2.0,
                                         time_selection=(3.0, 3.5),
                                         markers=[{"pos_s": 1.0, "number": 3},
                                                  {"isrgn": True, "pos_s": 2.0, "end_s": 5.0, "number": 1}]))
    _run(reaper, "reamend_inpaint_time_selection.py")
    (post,) = daemon.posts
    assert post["kind"] == "inpaint" and post["origin"] == "reaper" and post["inputs"] == [str(source)]
    (gap,) = post["options"]["gaps"]
    assert gap == {"start_s": pytest.approx(2.5), "end_s": pytest.approx(3.5)}
    item = reaper.standin.items()[0]
    (captured,) = post["reaper"]["items"]
    assert captured["item_guid"] == item["guid"] and captured["take_guid"] == item["takes"][0]["guid"]
    assert (captured["start_offset_s"], captured["playrate"], captured["position_s"]) == (0.5, 2.0, 2.0)
    assert post["reaper"]["time_selection"] == {"start_s": 3.0, "end_s": 3.5}
    assert [(m["isrgn"], m["number"]) for m in post["reaper"]["markers"]] == [(False, 3), (True, 1)]
    assert any("inpaint queued" in line for line in reaper.standin.messages()["console"])


def test_every_action_posts_the_right_job(reaper: ReaperEnv, daemon: FakeDaemon) -> None:  # noqa: F811
    a, b = make_wav(reaper.tmp / "host.wav", 3.0), make_wav(reaper.tmp / "guest.wav", 3.0, seed=2)
    reaper.standin.load({"tracks": [
        {"name": "Host", "items": [{"position_s": 0, "length_s": 3, "selected": True, "takes": [{"source": str(a)}]}]},
        {"name": "Guest", "items": [{"position_s": 0, "length_s": 3, "takes": [{"source": str(b)}]}]}]})
    _run(reaper, "reamend_detect_dropouts.py")
    reaper.standin.control("user-inputs", {"answers": ["podcast,edit", "interview,"]})
    _run(reaper, "reamend_clean_selected.py")
    _run(reaper, "reamend_clean_project.py")
    _run(reaper, "reamend_transcribe.py")
    detect, clean_sel, clean_all, transcribe = daemon.posts
    assert detect["kind"] == "inpaint" and detect["options"] == {"detect": True}
    assert (clean_sel["kind"], clean_sel["preset"], clean_sel["inputs"]) == ("clean", "podcast", [str(a)])
    assert clean_sel["options"] == {"multitrack": False} and clean_sel["reaper"]["mode"] == "edit"
    assert (clean_all["preset"], clean_all["inputs"], clean_all["options"]) == (
        "interview", [str(a), str(b)], {"multitrack": True})
    assert clean_all["reaper"]["scope"] == "project" and len(clean_all["reaper"]["items"]) == 2
    assert clean_all["reaper"]["mode"] is None  # the preset decides
    assert transcribe["kind"] == "transcribe" and transcribe["inputs"] == [str(a)]
    ext = reaper.standin.messages()["ext_state"]
    assert ext["reamend/last_clean_preset"] == "interview"
    _run(reaper, "reamend_status.py")
    assert "4 queued" in reaper.standin.messages()["console"][-1]


def test_two_actions_in_quick_succession_capture_their_own_selection(reaper: ReaperEnv,  # noqa: F811
                                                                     daemon: FakeDaemon) -> None:
    a, b = make_wav(reaper.tmp / "a.wav", 3.0), make_wav(reaper.tmp / "b.wav", 3.0, seed=3)
    reaper.standin.load({"time_selection": [0.5, 1.0], "tracks": [{"items": [
        {"position_s": 0, "length_s": 3, "selected": True, "takes": [{"source": str(a)}]},
        {"position_s": 4, "length_s": 3, "takes": [{"source": str(b)}]}]}]})
    items = reaper.standin.items()
    _run(reaper, "reamend_inpaint_time_selection.py")
    reaper.standin.control("select", {"item_guids": [items[1]["guid"]], "time_selection": [4.25, 4.5]})
    _run(reaper, "reamend_inpaint_time_selection.py")
    first, second = daemon.posts
    assert first["inputs"] == [str(a)] and first["options"]["gaps"] == [{"start_s": 0.5, "end_s": 1.0}]
    assert second["inputs"] == [str(b)] and second["options"]["gaps"] == [{"start_s": 0.25, "end_s": 0.5}]


def test_daemon_not_running_gives_clear_instructions(reaper: ReaperEnv, _isolated_home: Path) -> None:  # noqa: F811
    reaper.standin.load(one_item_project(make_wav(reaper.tmp / "v.wav", 2.0), time_selection=(2.5, 3.0)))
    _run(reaper, "reamend_inpaint_time_selection.py")
    (box,) = reaper.standin.messages()["message_boxes"]
    assert "not running" in box["msg"] and "reamend daemon" in box["msg"]
    # A stale api.json (daemon crashed) reads the same.
    (_isolated_home / "api.json").write_text(json.dumps({"port": 1, "token": "x", "pid": 2**22 + 12345}))
    _run(reaper, "reamend_status.py")
    assert "reamend daemon" in reaper.standin.messages()["message_boxes"][-1]["msg"]


def test_user_errors_are_messages_not_tracebacks(reaper: ReaperEnv, daemon: FakeDaemon) -> None:  # noqa: F811
    reaper.standin.load(one_item_project(make_wav(reaper.tmp / "v.wav", 2.0), selected=False))
    _run(reaper, "reamend_transcribe.py")
    _run(reaper, "reamend_inpaint_time_selection.py")
    reaper.standin.control("select", {"item_guids": [reaper.standin.items()[0]["guid"]]})
    reaper.standin.control("user-inputs", {"answers": [None, "missing,", "podcast,shred"]})
    _run(reaper, "reamend_clean_selected.py")  # cancelled: nothing sent, nothing said
    _run(reaper, "reamend_clean_selected.py")
    _run(reaper, "reamend_clean_selected.py")
    boxes = [b["msg"] for b in reaper.standin.messages()["message_boxes"]]
    assert "Select at least one audio item" in boxes[0] and "time selection" in boxes[1]
    assert "refused the request (400)" in boxes[2] and "missing" in boxes[2]
    assert "review, edit or render" in boxes[3]
    assert daemon.posts == [] and reaper.standin.messages()["errors"] == []


def test_actions_run_through_the_action_list_like_a_shortcut(reaper: ReaperEnv, daemon: FakeDaemon) -> None:  # noqa: F811
    import urllib.request

    from daemon.reaper.install import command_id

    reaper.standin.load(one_item_project(make_wav(reaper.tmp / "v.wav", 2.0)))
    code = command_id("reamend/reamend_transcribe.py")
    urllib.request.urlopen(f"http://127.0.0.1:{reaper.settings.reaper_web_port}/_/_{code}", timeout=10).read()
    assert [p["kind"] for p in daemon.posts] == ["transcribe"]


def test_scripts_are_standard_library_only_and_never_exit() -> None:
    import ast
    import sys

    from tests.reaper_standin.harness import REPO_ROOT

    for script in sorted((REPO_ROOT / "reaper_scripts").glob("reamend_*.py")):
        tree = ast.parse(script.read_text())
        roots = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names}
        roots |= {node.module.split(".")[0] for node in ast.walk(tree)
                  if isinstance(node, ast.ImportFrom) and node.module}
        allowed = set(sys.stdlib_module_names) | {"reamend_common"} | ({"reapy"} if "server" in script.stem else set())
        assert roots <= allowed, f"{script.name} imports {roots - allowed}"
        calls = {ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
        assert not calls & {"sys.exit", "exit", "quit", "os._exit"}, script.name
        # Module-level names are shared with every script in REAPER's __main__: keep them prefixed.
        top = {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
               if isinstance(t, ast.Name)} | {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        if script.stem != "reamend_common":
            assert all(name.startswith("_reamend") for name in top), f"{script.name}: {top}"
