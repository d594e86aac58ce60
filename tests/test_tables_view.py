"""Tables never shrink: a table is the view of every row configuration its folder's ledger holds; the rule that
picks one configuration per row; the backfill of ledgers written before configurations were stored."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from cerepro import cli, config
from cerepro.ledger import GROUP, Ledger

RESULTS = Path(__file__).resolve().parent.parent / "results"
# Since 2026-12-02 05:23 UTC a run stores its rows' settings; since 2026-12-04 16:26 UTC (commit 3cfb12d) so
# does `cerepro explain` for the trials it takes over from the ledger (before, backfill found those). What ran
# before, backfill must find; a bound-scale row whose trials all succeed below its cap shows that cap nowhere
# but in its settings.
EVERY_ROW_STORED = 1796401585.0
TINY = ["--trials", "2", "--max-sequences", "40", "--workers", "1"]


def invoke(*args):
    return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)


def lines_of(table: str, rows: set[tuple[str, str]]) -> list[str]:
    """The lines of a table (CSV text) that belong to the given (row, variant) keys."""
    text = table.splitlines()
    head = text[0].split(",")
    r, v = head.index("row"), head.index("variant")
    return [line for line in text[1:] if (line.split(",")[r], line.split(",")[v]) in rows]


def test_a_subset_run_keeps_every_other_row_byte_identical(tmp_path):
    assert invoke("run", "exp6a", "--variants", "all", *TINY, "--out", str(tmp_path)).exit_code == 0
    before = {p: (tmp_path / p).read_text() for p in ("exp6a.csv", "exp6a.trials.csv", "exp6a.md")}
    others = {("lstm-2x2", v) for v in ("st3-sae", "st3-mse", "no-output-derivative")}
    assert len(lines_of(before["exp6a.csv"], others)) == 3
    for args in (["--rows", "lstm-2x2", "--fresh", *TINY], ["--tables-only"], ["--rows", "lstm-2x2", "--tables-only"],
                 [*TINY, "--max-sequences", "30", "--trials", "1"]):
        snapshot = {p: (tmp_path / p).read_text() for p in before}
        result = invoke("run", "exp6a", *args, "--out", str(tmp_path))
        assert result.exit_code == 0, (args, result.output)
        for name in ("exp6a.csv", "exp6a.trials.csv"):
            assert lines_of((tmp_path / name).read_text(), others) == lines_of(before[name], others), args
        assert len(pd.read_csv(tmp_path / "exp6a.csv")) == 4, args
        if args[-1] == "--tables-only":  # nothing ran: every file as it was
            assert {p: (tmp_path / p).read_text() for p in before} == snapshot
    # the last run asked for another cap: its row shows the run's config, the others theirs
    table = pd.read_csv(tmp_path / "exp6a.csv").set_index("variant")
    assert table.loc["paper", "cap"] == 30 and set(table.drop(index="paper")["cap"]) == {40}
    assert invoke("run", "exp6a", *TINY, "--tables-only", "--out", str(tmp_path)).exit_code == 0
    assert pd.read_csv(tmp_path / "exp6a.csv").set_index("variant").loc["paper", "cap"] == 40  # asked for again: shown


def _fake_trials(ledger: Ledger, row: config.Row, seed: int, n: int, started_at: float, protocol: str = "reber") -> None:
    from cerepro import tables

    ledger.record_config(tables.stored(row, seed, protocol, started_at=started_at))
    for t in range(n):
        record = {"trial": t, "seed": t, "success": True, "outcome": "success", "sequences": 10 * (t + 1), "wall_s": 0.1,
                  "reason": ""}
        ledger.add({"experiment": row.experiment, "row": row.name, "variant": row.variant, "model": row.config.model,
                    "config_hash": row.config_hash(), "run_seed": seed, "trial": t}, record, "test")


def _at(row: config.Row, cap: int, trials: int) -> config.Row:
    return dataclasses.replace(row, config=dataclasses.replace(row.config, max_sequences=cap, trials=trials))


def test_one_configuration_per_row_the_commands_then_the_specs_then_the_latest(tmp_path):
    from cerepro import tables

    exp = config.resolve("reber")
    a, b = exp.rows[0], exp.rows[1]
    ledger = Ledger(tmp_path / "ledger.sqlite")
    try:
        _fake_trials(ledger, _at(a, 300, 2), 1997, 2, started_at=1.0)  # reduced cap, early
        _fake_trials(ledger, a, 1997, 3, started_at=2.0)  # the spec's own config (cap 100,000, 30 trials asked)
        _fake_trials(ledger, _at(a, 400, 5), 1997, 5, started_at=3.0)  # another reduced cap, latest
        _fake_trials(ledger, _at(b, 300, 2), 1997, 2, started_at=1.0)
        _fake_trials(ledger, _at(b, 500, 4), 1997, 4, started_at=2.0)
        view = {row.key: (row.config.max_sequences, len(records), row.reduced(len(records)))
                for row, records in tables.view(exp, (), 1997, ledger)}
        assert view == {a.key: (100_000, 3, True), b.key: (500, 4, True)}  # a: the spec's (3 of 30 trials); b: the latest
        command = tuple(config.with_overrides((a,), max_sequences=300, trials=1))  # the command's own config wins
        view = {row.key: (row.config.max_sequences, len(records)) for row, records in tables.view(exp, command, 1997, ledger)}
        assert view[a.key] == (300, 1)
        assert [row.name for row, _ in tables.view(exp, (), 1997, ledger)] == [a.name, b.name]  # spec order
    finally:
        ledger.close()


def test_rows_of_another_table_and_of_another_seed_stay_out(tmp_path):
    from cerepro import tables

    exp = config.resolve("reber")
    ledger = Ledger(tmp_path / "ledger.sqlite")
    try:
        _fake_trials(ledger, exp.rows[0], 1997, 2, started_at=1.0)
        _fake_trials(ledger, exp.rows[1], 7, 2, started_at=1.0)
        hyp = dataclasses.replace(exp.rows[2], variant="hyp-x")
        ledger.record_config(tables.stored(hyp, 1997, "reber", tabled=False))
        assert [row.key for row, _ in tables.view(exp, (), 1997, ledger)] == [exp.rows[0].key]
    finally:
        ledger.close()


def _committed_copy(tmp_path: Path) -> Path:
    out = tmp_path / "results"
    out.mkdir()
    for path in RESULTS.iterdir():
        if path.suffix in (".csv", ".sqlite"):
            shutil.copy(path, out / path.name)
    return out


def test_backfill_finds_every_committed_configuration_and_tables_only_rebuilds_the_committed_tables(tmp_path):
    """The acceptance test of the ledger view, on a copy of the committed results (exp6a and xor: a faithful row
    with variants, and rows the ledger holds at two caps of which the table shows the later)."""
    out = _committed_copy(tmp_path)
    with sqlite3.connect(out / "ledger.sqlite") as db:
        # as the ledger an earlier cerepro wrote: no settings for the rows it ran before every row's were stored
        db.execute(f"DELETE FROM configs WHERE ({', '.join(GROUP)}) IN (SELECT {', '.join(GROUP)} FROM trials "
                   f"GROUP BY {', '.join(GROUP)} HAVING MIN(finished_at) < ?)", (EVERY_ROW_STORED,))
    ledger = Ledger(out / "ledger.sqlite")
    missing = len(ledger.unconfigured())
    ledger.close()
    assert missing > 100
    result = invoke("backfill", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"Stored the settings of {missing} row configurations" in result.output and "Could not match" not in result.output
    again = invoke("backfill", "--out", str(out))
    assert "Stored the settings of 0 row configurations" in again.output  # idempotent
    for name in ("exp6a", "xor"):
        committed = {p: (out / f"{name}{p}").read_bytes() for p in (".csv", ".trials.csv")}
        result = invoke("run", name, "--tables-only", "--out", str(out))
        assert result.exit_code == 0, result.output
        assert "trials in" not in result.output  # --tables-only runs nothing and says nothing about it
        for suffix, data in committed.items():
            assert (out / f"{name}{suffix}").read_bytes() == data, (name, suffix)


def test_backfill_lists_what_it_cannot_match_and_a_run_says_it_is_missing(tmp_path):
    exp = config.resolve("exp6a")
    ledger = Ledger(tmp_path / "ledger.sqlite")
    try:
        _fake_trials(ledger, exp.rows[0], 1997, 2, started_at=1.0, protocol="online")
        odd = dataclasses.replace(exp.rows[0], variant="gone-variant")
        _fake_trials(ledger, odd, 1997, 1, started_at=1.0, protocol="online")
        ledger.db.execute("DELETE FROM configs")  # as a ledger written before configurations were stored
    finally:
        ledger.close()
    result = invoke("run", "exp6a", "--tables-only", "--out", str(tmp_path))
    assert "1 row configuration of exp6a recorded before it kept their settings" in result.output  # not gone-variant
    assert "cerepro backfill --out" in result.output
    dry = invoke("backfill", "--out", str(tmp_path), "--dry-run")
    assert "Would store the settings of 1 row configuration " in dry.output
    result = invoke("backfill", "--out", str(tmp_path))
    assert "Could not match 1 row configuration" in result.output and "gone-variant" in result.output
    assert invoke("run", "exp6a", "--tables-only", "--out", str(tmp_path)).exit_code == 0
    assert pd.read_csv(tmp_path / "exp6a.csv")["variant"].tolist() == ["paper"]


def test_backfill_is_one_transaction_beside_a_concurrent_writer(tmp_path):
    """A writer holding the ledger briefly (as a running `cerepro run` between trials) delays the backfill, never breaks it."""
    out = _committed_copy(tmp_path)
    holder = subprocess.Popen(["python3", "-c", f"""
import sqlite3, time
db = sqlite3.connect({str(out / 'ledger.sqlite')!r}, isolation_level=None)
db.execute("BEGIN IMMEDIATE"); print("locked", flush=True); time.sleep(2); db.execute("COMMIT")
"""], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    result = invoke("backfill", "--out", str(out))
    holder.wait(timeout=30)
    assert result.exit_code == 0 and "Stored the settings of" in result.output, result.output


def test_a_stored_configuration_rebuilds_the_same_row():
    from cerepro import tables

    exp = config.resolve("exp2a")
    for row in exp.spec_rows():
        stored = tables.stored(row, 1997, exp.protocol)
        again = tables.restored(stored, exp, exp.spec_row(*row.key))
        assert again.config == row.config and again.config_hash() == row.config_hash()
