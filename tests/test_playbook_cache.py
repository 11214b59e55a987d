"""The validated playbook library kept between starts: served only while nothing it was made from changed."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest

from bot.core.playbooks.loader import PlaybookLibrary, PlaybookLoadError, load_playbooks, shipped_playbooks_dir
from bot.settings import Settings


@pytest.fixture
def playbooks(tmp_path: Path) -> Path:
    return Path(shutil.copytree(shipped_playbooks_dir(), tmp_path / "playbooks"))


def _kept(cache: Path) -> Path:
    (only,) = cache.iterdir()
    return only


def _same(a: PlaybookLibrary, b: PlaybookLibrary) -> None:
    assert a.ids == b.ids
    for pa, pb in zip(a, b, strict=True):
        assert (pa.name, pa.aliases, pa.summary, pa.file) == (pb.name, pb.aliases, pb.summary, pb.file)
        assert pa.items == pb.items and pa.conference_plan == pb.conference_plan
        assert pa.view("us-img").cadences == pb.view("us-img").cadences


def test_a_second_load_comes_from_the_cache_and_equals_the_files(playbooks: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = load_playbooks(playbooks, cache)
    kept = _kept(cache)
    assert kept.stat().st_mode & 0o077 == 0  # the user's own
    second = load_playbooks(playbooks, cache)
    _same(first, second)
    _same(second, load_playbooks(playbooks))  # and what parsing the files gives
    # what comes back is what the cache holds under the key: a library of one playbook kept
    # under the same key is served as it is
    key = kept.read_bytes().split(b"\n", 1)[0]
    one = first.ids[0]
    kept.write_bytes(key + b"\n" + pickle.dumps(PlaybookLibrary([first.get(one)], playbooks)))
    assert load_playbooks(playbooks, cache).ids == [one]


def test_a_changed_file_is_read_again_even_with_the_same_size_and_time(playbooks: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert load_playbooks(playbooks, cache).get("psych").name == "Psychiatry"
    path = playbooks / "psychiatry.yaml"
    st = path.stat()
    path.write_text(path.read_text().replace("name: Psychiatry\n", "name: Psychiatrx\n", 1))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    assert load_playbooks(playbooks, cache).get("psych").name == "Psychiatrx"
    assert load_playbooks(playbooks, cache).get("psych").name == "Psychiatrx"  # the new one is kept


def test_a_file_broken_after_caching_is_reported_not_served_stale(playbooks: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load_playbooks(playbooks, cache)
    path = playbooks / "psychiatry.yaml"
    path.write_text(path.read_text().replace("name: Psychiatry\n", "name: ''\n", 1))
    with pytest.raises(PlaybookLoadError, match=r"psychiatry.yaml: name \(line 2\)"):
        load_playbooks(playbooks, cache)


def test_an_added_or_removed_file_is_seen(playbooks: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    before = load_playbooks(playbooks, cache).ids
    (playbooks / "psychiatry.yaml").rename(playbooks / "psychiatry.yml.off")
    assert "psych" not in load_playbooks(playbooks, cache).ids
    (playbooks / "psychiatry.yml.off").rename(playbooks / "psychiatry.yml")
    assert load_playbooks(playbooks, cache).ids == before


def test_a_damaged_or_writable_by_others_cache_file_is_passed_over(playbooks: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    reference = load_playbooks(playbooks, cache)
    kept = _kept(cache)
    key = kept.read_bytes().split(b"\n", 1)[0]
    kept.write_bytes(key + b"\nnot a pickle")
    _same(reference, load_playbooks(playbooks, cache))  # parsed again, and kept again
    assert pickle.loads(kept.read_bytes().split(b"\n", 1)[1]).ids == reference.ids
    # a file others may write is never unpickled
    kept.write_bytes(key + b"\n" + pickle.dumps(PlaybookLibrary([reference.get("psych")], playbooks)))
    kept.chmod(0o666)
    assert load_playbooks(playbooks, cache).ids == reference.ids


def test_a_cache_that_cannot_be_written_only_costs_the_cache(playbooks: Path, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    _same(load_playbooks(playbooks), load_playbooks(playbooks, not_a_dir))


def test_the_setting_turns_the_cache_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMGBOT_PLAYBOOK_CACHE", raising=False)
    on = Settings(_env_file=None)  # type: ignore[call-arg]
    assert on.playbook_cache_dir is not None and on.playbook_cache_dir.name == "imgbot"
    monkeypatch.setenv("IMGBOT_PLAYBOOK_CACHE", "false")
    assert Settings(_env_file=None).playbook_cache_dir is None  # type: ignore[call-arg]
