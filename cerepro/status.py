"""What a results folder holds and what is being computed into it (`cerepro status`): for the long runs that go
to the background (`nohup cerepro run ... &`) and resume through the ledger.

From the ledger alone: its totals, the trials other runs have claimed (by whom, since when, whether that
process still lives: a dead owner's trials are taken over by the next run into the folder), and the trials
finished in the last minutes with their outcome. Reads only; returns text lines, the CLI prints them.
"""

from __future__ import annotations

import time

from cerepro.ledger import Ledger, Owner
from cerepro.text import plural


def lines(ledger: Ledger, since_minutes: float, now: float | None = None, suspended: list[dict] = ()) -> list[str]:
    """The status of `ledger` as text lines: totals, claims, the trials finished in the last `since_minutes`, and
    the `suspended` lane engines of the folder (checkpoints.Store.suspended)."""
    now = time.time() if now is None else now
    total, successes = ledger.totals()
    out = [f"{ledger.path}: {plural(total, 'finished trial')} ({successes:,} successful)"]
    claims = ledger.claimed()
    if claims:
        out.append("Claimed by runs into this folder (computing or queued there; a dead run's trials go to the next run):")
        for (experiment, row, variant), owner, trials, at in claims:
            out.append(f"  {trial_name(experiment, row, variant)}: {_trials(trials)}, claimed {_clock(at)} by "
                       f"{_owner(owner)}")
    else:
        out.append("Nothing is being computed into this folder.")
    if suspended:
        out.append("Suspended in lanes (a run of their row goes on with them where they are):")
        for h in suspended:
            done = ", ".join(f"{t} at {n:,}" for t, n in sorted(h["done"].items()))
            other = "" if h["resumable"] else " (by another state of cerepro's code: a run of this one starts them over)"
            out.append(f"  {h['row']} (seed {h['seed']}): trials {done} sequences, saved {_clock(h['saved_at'])}{other}")
    recent = ledger.finished_since(now - since_minutes * 60.0)
    out.append(f"Finished in the last {since_minutes:g} minutes: {plural(len(recent), 'trial')}"
               + (":" if recent else "."))
    for t in recent:
        record = t["record"]
        out.append(f"  {_clock(t['finished_at'])} {trial_name(t['experiment'], t['row'], t['variant'])} trial {t['trial']}: "
                   f"{outcome_text(record)}, {time_text(record)}")
    return out


def time_text(record: dict) -> str:
    """'748 s', or '748 s (512 s CPU)' where the trial waited for a busy machine (wall a tenth above its CPU time)."""
    wall, cpu = record.get("wall_s", 0.0), record.get("cpu_s")
    return f"{wall:.0f} s" + (f" ({cpu:.0f} s CPU)" if cpu is not None and wall > 1.1 * cpu + 1.0 else "")


def outcome_text(record: dict) -> str:
    """'success after 41,210 sequences', 'no success within 5,000,000 sequences (the cap)', ..."""
    n = f"{record['sequences']:,} sequences"
    return {"success": f"success after {n}", "cap": f"no success within {n} (the cap)",
            "diverged": f"diverged after {n}"}.get(record["outcome"], f"{record['outcome']} after {n}")


def trial_name(experiment: str, row: str, variant: str) -> str:
    """'exp2c q50-p50', or 'exp2c q50-p50 [lr-x10]' for a row other than the faithful one."""
    return f"{experiment} {row}" + ("" if variant == "paper" else f" [{variant}]")


def _trials(trials: list[int]) -> str:
    shown = ", ".join(map(str, trials[:8])) + (", ..." if len(trials) > 8 else "")
    return f"{plural(len(trials), 'trial')} ({shown})"


def _owner(owner: Owner) -> str:
    return f"pid {owner.pid} on {owner.host} ({'running' if owner.alive() else 'gone'})"


def _clock(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))

