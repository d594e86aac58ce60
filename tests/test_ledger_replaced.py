"""A ledger replaced under a run (git checkout, stash or pull of results/): the run stops before writing into the
new file, saves what it held, leaves the new file intact, and `cerepro merge` adds the saved trials to it."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from click.testing import CliRunner

from cerepro import cli
from cerepro.ledger import Ledger, LedgerReplaced

KEY = {"experiment": "exp1", "row": "r", "variant": "paper", "model": "lstm97", "config_hash": "abc", "run_seed": 1}


def _trials(path) -> set[int]:
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return {t for (t,) in db.execute("SELECT trial FROM trials")}


def test_a_replaced_ledger_stops_the_writer_saves_its_trials_and_merge_adds_them(tmp_path):
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger(path)
    ledger.add({**KEY, "trial": 0}, {"outcome": "success"}, "v")
    ledger.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # as before a commit
    committed = tmp_path / "committed.sqlite"
    shutil.copy(path, committed)  # the committed ledger: trial 0
    ledger.add({**KEY, "trial": 1}, {"outcome": "success"}, "v")  # in the WAL only
    shutil.copy(committed, tmp_path / "incoming.sqlite")
    (tmp_path / "incoming.sqlite").replace(path)  # as git does: a new file under the old name

    with pytest.raises(LedgerReplaced) as caught:
        ledger.add({**KEY, "trial": 2}, {"outcome": "success"}, "v")
    with pytest.raises(LedgerReplaced):  # every later write too, saving once
        ledger.release(("host", 1, "start"))
    ledger.close()  # removes the old file's WAL, which would corrupt the new one
    saved = caught.value.saved
    assert list(tmp_path.glob("ledger.replaced-*.sqlite")) == [saved]
    assert _trials(saved) == {0, 1} and _trials(path) == {0}  # nothing lost, nothing written into the new file
    assert str(path) in str(caught.value) and f"cerepro merge {saved}" in str(caught.value)

    result = CliRunner().invoke(cli.main, ["merge", str(saved), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("1 trial added to ") and "1 already there" in result.output
    assert _trials(path) == {0, 1}
    result = CliRunner().invoke(cli.main, ["merge", str(saved), "--out", str(tmp_path)])  # idempotent
    assert result.output.startswith("0 trials added")


def test_merge_keeps_this_ledgers_record_where_both_hold_a_trial(tmp_path):
    ours, theirs = Ledger(tmp_path / "ledger.sqlite"), Ledger(tmp_path / "other.sqlite")
    ours.add({**KEY, "trial": 0}, {"outcome": "success"}, "v")
    theirs.add({**KEY, "trial": 0}, {"outcome": "cap"}, "v")
    ours.close(), theirs.close()
    result = CliRunner().invoke(cli.main, ["merge", str(tmp_path / "other.sqlite"), "--out", str(tmp_path)])
    assert result.exit_code == 0 and "1 trial with another record there kept as they were" in result.output
    assert '"success"' in Ledger(tmp_path / "ledger.sqlite").db.execute("SELECT record FROM trials").fetchone()[0]


@pytest.mark.parametrize("make", ["text", "empty-sqlite", "itself"])
def test_merge_of_what_is_not_another_ledger_exits_2_with_one_line(tmp_path, make):
    Ledger(tmp_path / "ledger.sqlite").close()
    source = tmp_path / "source.sqlite"
    if make == "text":
        source.write_text("not a database\n")
    elif make == "empty-sqlite":
        sqlite3.connect(source).execute("CREATE TABLE x (a)").connection.close()
    else:
        source = tmp_path / "ledger.sqlite"
    result = CliRunner().invoke(cli.main, ["merge", str(source), "--out", str(tmp_path)])
    assert result.exit_code == 2 and result.output.startswith("Error: ") and len(result.output.splitlines()) == 1, result.output
