"""The bench's bare-kernel replay does a row's training work: the trial's own initial net on the trial's own
sequences, in its order, ends at the trial's own final weights."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cerepro import bench_rows, config, models
from cerepro.bench import train_loop
from cerepro.protocols.common import Trial
from cerepro.protocols.longlag import trial as longlag
from cerepro.protocols.online import trial as online


@pytest.mark.parametrize("experiment,row,cap,trial_fn", [("exp4", "lstm-T100", 300, online.run_trial),
                                                         ("exp2c", "q50-p50", 700, longlag.run_trial)])
def test_replay_trains_the_trials_net_to_its_final_weights(experiment, row, cap, trial_fn):
    exp = config.resolve(experiment)
    spec = next(r for r in exp.rows if r.name == row)
    cfg = dataclasses.replace(spec.config, max_sequences=cap, chunk=256)  # chunks that do not divide the blocks
    final: dict = {}
    record = trial_fn(cfg, exp.seed, spec.seed_key, 1, keep_params=final)
    net, ws, step = models.get(cfg.model).build(Trial(cfg, exp.seed, spec.seed_key, 1, build=False).stream("init"), cfg,
                                                *cfg.sizes())
    chunks = list(bench_rows.trained_chunks(exp.protocol, cfg, exp.seed, spec.seed_key, 1, record))
    assert sum(c.lengths.shape[0] for c in chunks) == record.get("presented", record["sequences"]) == cap
    for chunk in chunks:
        train_loop(step, net, ws, chunk, cfg.lr, np.zeros((chunk.targets.shape[1], chunk.targets.shape[2])))
    assert np.array_equal(net.W_hid, final["W_hid"]) and np.array_equal(net.W_out, final["W_out"])


def test_replay_of_a_table_1_trial_counts_its_strings():
    exp = config.resolve("exp1")
    spec = exp.rows[0]
    cfg = dataclasses.replace(spec.config, max_sequences=5_000, chunk=1_500)
    record = {"sequences": 3_100}  # stopped within its third chunk
    chunks = list(bench_rows.trained_chunks(exp.protocol, cfg, exp.seed, spec.seed_key, 0, record))
    assert [c.lengths.shape[0] for c in chunks] == [1_500, 1_500, 100]
    assert all(c.targets.shape[2] == 7 and c.target_mask[0, : c.lengths[0]].all() for c in chunks)  # a target every step
