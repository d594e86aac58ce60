"""A row's trials in the lanes of one kernel (models/lstm97/lanes.py): the online protocol (Exps 3-6, XOR) and
the long-lag task 2c, every record bit-identical to the one-net trial loop's (protocols/online, longlag).

Details: docs/throughput.md, "The lane driver (protocols/lanes.py)".
"""

from __future__ import annotations

import time
from typing import Callable, Iterator, NamedTuple

import numpy as np
from numba import njit

from cerepro import models
from cerepro.models.lstm97 import lanes as LK
from cerepro.models.numba_noalias import NOALIAS, fast_jit
from cerepro.models.packed import pack
from cerepro.protocols.common import DIVERGED, RUNNING, SUCCESS, Trial, curve_block
from cerepro.protocols.longlag import kernel as LLK
from cerepro.protocols.longlag import source as longlag
from cerepro.protocols.online import kernel as OK
from cerepro.protocols.online import trial as online

IDLE, TRAIN, CHECK, TEST, WAIT = range(5)  # lane phases
NEED_TRAIN, NEED_TEST, FINISHED = range(1, 4)  # why a lane waits for Python (LANE["event"])
ONLINE, LONGLAG = range(2)
LANE = np.dtype([("phase", np.int64), ("event", np.int64), ("pos", np.int64), ("done", np.int64), ("cap", np.int64),
                 ("status", np.int64), ("run", np.int64), ("cpos", np.int64), ("cwrong", np.int64), ("tn", np.int64),
                 ("twrong", np.int64), ("lr", np.float64), ("csum", np.float64), ("tsum_abs", np.float64),
                 ("tsum_sq", np.float64)])  # a lane's trial: phase, position in its slot, counts, stop-rule sums
MAX_TICKS = 1 << 15  # ticks per call at most: progress reports and Ctrl-C get through


class Slot(NamedTuple):
    """Sequences per lane: the block a lane trains or tests on, or its check set."""

    x_index: np.ndarray  # (L, n, T) int64 active input unit (one-hot); (L, 1, 1) otherwise
    x_dense: np.ndarray  # (L, n, T, I) inputs (dense); (L, 1, 1, 0) otherwise
    lengths: np.ndarray  # (L, n) int64
    target: np.ndarray  # (L, n, K) the target at the last step (training) or the judged one (tests)
    count: np.ndarray  # (L,) int64 sequences in the slot
    order: np.ndarray  # (L, n) int64 test order of a check set (move-to-front)


class Hot(NamedTuple):
    """What every tick reads or writes per lane: the sequence in progress and the kernel's per-lane inputs.

    The inputs wait in a ring of RING ticks, so that tick c reads every lane's input from one contiguous row
    (c % RING): a lane's steps are copied in from its slot up to the end of the current RING ticks when it begins
    a sequence, and RING steps ahead at every tick c with c % RING = 0."""

    busy: np.ndarray  # (L,) bool: a sequence is in progress
    t: np.ndarray  # (L,) int64 its next step
    length: np.ndarray  # (L,) int64 its length
    n: np.ndarray  # (L,) int64 its index in the slot
    in_check: np.ndarray  # (L,) bool: it is from the check slot
    learn: np.ndarray  # (L,) bool
    lr: np.ndarray  # (L,) the lr of the sequence (lr_scale applied)
    at_end: np.ndarray  # (L,) bool: the next step is the sequence's last (the step whose outputs are read)
    has_target: np.ndarray  # (L,) bool: at_end and the lane learns
    target: np.ndarray  # (K, L) the sequence's target
    xi: np.ndarray  # (RING, L) int64 the active inputs of the next ticks (one-hot); (1, L) otherwise
    xd: np.ndarray  # (RING, I, L) the inputs of the next ticks (dense); (1, 1, L) otherwise
    clock: np.ndarray  # (1,) int64 the next tick (no lane axis)


RING = 16  # ticks of inputs in Hot


def hot(L: int, n_in: int, n_out: int, one_hot: bool) -> Hot:
    z = np.zeros
    ring_xi, ring_xd = ((RING, L), (1, 1, L)) if one_hot else ((1, L), (RING, n_in, L))
    return Hot(*pack([z(L, np.bool_), z(L, np.int64), z(L, np.int64), z(L, np.int64), z(L, np.bool_), z(L, np.bool_),
                      z(L), z(L, np.bool_), z(L, np.bool_), z((n_out, L)), z(ring_xi, np.int64), z(ring_xd), z(1, np.int64)]))


class Stop(NamedTuple):
    """The row's stop rule: online (protocols/online/kernel.Rule) or long-lag online ABS window."""

    protocol: int  # ONLINE | LONGLAG
    online: OK.Rule
    tol: float  # LONGLAG: ABS(tol)
    window: int  # LONGLAG: successive passing presentations


def serves(protocol: str, cfg) -> str:
    """Why the lane engine cannot run this row ("" if it can)."""
    if protocol not in ("online", "longlag"):
        return f"protocol {protocol} runs one net per call"
    if cfg.model != "lstm97":
        return f"model {cfg.model} has no lane kernel"
    if cfg.update != "step":
        return "lanes apply each step's change at once (update: step)"
    if protocol == "longlag" and (cfg.task != "2c" or cfg.success_test != "online" or cfg.sequential_construction):
        return "long-lag lanes serve task 2c with the online success test"
    return ""


# ---------------------------------------------------------------------------------------------- compiled part


@njit(cache=True, inline="always")
def _begin(nets, w, setup, st, data, chk, h, k):
    """Lane k begins the next sequence of its phase (training, check or test), from reset state."""
    lane = st[k]
    learn = lane.phase == TRAIN
    src = chk if lane.phase == CHECK else data
    n = chk.order[k, lane.cpos] if lane.phase == CHECK else lane.pos
    length = src.lengths[k, n]
    c = h.clock[0]
    _fill(setup, h, src, k, n, 0, c, min(length, RING - c % RING))
    LK.reset_lane(nets, w, k, learn)
    lr = lane.lr
    if setup.net.lr_scale == 1:
        lr = lr / length
    elif setup.net.lr_scale == 2:
        lr = lr * length
    h.busy[k], h.t[k], h.length[k], h.n[k], h.in_check[k], h.learn[k], h.lr[k] = True, 0, length, n, lane.phase == CHECK, learn, lr
    if learn:
        for o in range(h.target.shape[0]):
            h.target[o, k] = data.target[k, n, o]


@njit(cache=True, inline="always")
def _fill(setup, h, src, k, n, t0, c, steps):
    """Steps t0 .. t0 + steps - 1 of lane k's sequence n in slot src into the input ring, for ticks c, c + 1, ..."""
    if setup.one_hot:
        for j in range(steps):
            h.xi[(c + j) % RING, k] = src.x_index[k, n, t0 + j]
    else:
        for j in range(steps):
            for i in range(h.xd.shape[1]):
                h.xd[(c + j) % RING, i, k] = src.x_dense[k, n, t0 + j, i]


@njit(cache=True, inline="always")
def _abs_error(target, y, k, pos):
    """longlag/kernel.max_abs_error at a sequence's only scored step, its last: NaN outputs give NaN."""
    worst = 0.0
    for o in range(y.shape[0]):
        d = abs(target[k, pos, o] - y[o, k])
        if d != d:
            return d
        if d > worst:
            worst = d
    return worst


@njit(cache=True, inline="always")
def _next_training(st, count, k):
    """After a training sequence (and its check): the cap, the block's end, or the next sequence."""
    lane = st[k]
    lane.pos += 1
    if lane.done >= lane.cap:
        lane.phase, lane.event = WAIT, NEED_TEST
    elif lane.pos == count[k]:
        lane.phase, lane.event = WAIT, NEED_TRAIN


@njit(cache=True, inline="always")
def _stopped(st, k, status):
    lane = st[k]
    lane.status = status
    lane.phase, lane.event = WAIT, FINISHED if status == DIVERGED else NEED_TEST


@fast_jit(cache=True)
def _end_training(st, k, y, sse_, target, count, stop, win_err, win_wrong, totals, curve):
    """Lane k finished a training sequence (outputs y[:, k], error sse_[k]; its data target, count): the one-net
    loop's bookkeeping and stop rule."""
    lane = st[k]
    pos = lane.pos
    sse = sse_[k]
    if stop.protocol == LONGLAG:  # longlag/kernel.train_until_success
        worst = _abs_error(target, y, k, pos)
        curve[k, pos] = sse
        lane.done += 1
        if not np.isfinite(sse):
            _stopped(st, k, DIVERGED)
            return
        lane.run = lane.run + 1 if worst < stop.tol else 0
        if lane.run >= stop.window:
            _stopped(st, k, SUCCESS)
            return
        _next_training(st, count, k)
        return
    rule = stop.online  # online/kernel.train_online
    win = OK.Window(win_err[k], win_wrong[k], totals[k : k + 1])
    lane.done += 1
    if not np.isfinite(sse):
        totals[k].seen += 1
        curve[k, pos] = np.nan
        _stopped(st, k, DIVERGED)
        return
    err, worst = OK.end_errors(y[:, k], target[k, pos], rule.error)
    curve[k, pos] = err
    OK.ring_push(win, err, 0 if worst < rule.abs_threshold else 1)
    if totals[k].seen % rule.check_every == 0:
        if rule.stop == OK.ST1ST2:
            lane.phase, lane.cpos, lane.cwrong, lane.csum = CHECK, 0, 0, 0.0
            return
        if OK.window_rule_met(rule, win):
            _stopped(st, k, SUCCESS)
            return
    _next_training(st, count, k)


@fast_jit(cache=True)
def _end_check(st, k, y, chk, count, stop, totals):
    """Lane k finished a check sequence: online/kernel.evaluate, then ST1/ST2 as train_online reads it."""
    lane = st[k]
    rule = stop.online
    K = y.shape[0]
    n = chk.order[k, lane.cpos]
    bad = False
    for o in range(K):
        d = abs(chk.target[k, n, o] - y[o, k])
        lane.csum += d
        if not d < rule.abs_threshold:
            bad = True
    if bad:
        lane.cwrong += 1
        if lane.cwrong > rule.st1_max_wrong:  # the test failed: the sequence moves to the front
            for q in range(lane.cpos, 0, -1):
                chk.order[k, q] = chk.order[k, q - 1]
            chk.order[k, 0] = n
            lane.phase = TRAIN
            _next_training(st, count, k)
            return
    lane.cpos += 1
    if lane.cpos < chk.count[k]:
        return
    if totals[k].st1_at == 0:  # ST1 holds: the whole set was tested
        totals[k].st1_at = totals[k].seen
    if lane.csum / (chk.count[k] * K) < rule.st2_error:
        _stopped(st, k, SUCCESS)
        return
    lane.phase = TRAIN
    _next_training(st, count, k)


@fast_jit(cache=True)
def _end_test(st, k, y, target, count, stop, test_err):
    """Lane k finished a final-test sequence (online: test_net's sums; long-lag: the sequence's ABS error)."""
    lane = st[k]
    pos = lane.pos
    K = y.shape[0]
    if stop.protocol == LONGLAG:
        test_err[k, pos] = _abs_error(target, y, k, pos)
    else:
        bad = False
        for o in range(K):
            d = abs(target[k, pos, o] - y[o, k])
            lane.tsum_abs += d
            lane.tsum_sq += d * d
            if not d < stop.online.abs_threshold:
                bad = True
        lane.tn += 1
        lane.twrong += bad
    lane.pos += 1
    if lane.pos == count[k]:
        lane.phase, lane.event = WAIT, NEED_TEST


@fast_jit(cache=True, error_model="numpy")
def advance(nets, w, setup, st, h, data, chk, stop, win_err, win_wrong, totals, curve, test_err, max_ticks, portable):
    """Run ticks until a lane waits for Python, every lane is idle, or max_ticks; returns the training
    sequences finished in this call."""
    L = st.shape[0]
    for k in range(L):  # lanes Python has just given data or a trial
        if not h.busy[k] and st[k].phase in (TRAIN, CHECK, TEST):
            _begin(nets, w, setup, st, data, chk, h, k)
    trained = 0
    for _ in range(max_ticks):
        busy = 0
        for k in range(L):
            busy += h.busy[k]
            h.at_end[k] = h.busy[k] and h.t[k] == h.length[k] - 1
            h.has_target[k] = h.at_end[k] and h.learn[k]
        if busy == 0:
            return trained
        c = h.clock[0]
        if c % RING == 0:  # the next RING steps of every lane in flight
            for k in range(L):
                if h.busy[k]:
                    src = chk if h.in_check[k] else data
                    _fill(setup, h, src, k, h.n[k], h.t[k], c, min(RING, h.length[k] - h.t[k]))
        xi, xd = h.xi[c % h.xi.shape[0]], h.xd[c % h.xd.shape[0]]  # the inputs of tick c
        if portable:
            LK.tick_portable(nets, w, setup, xi, xd, h.at_end, h.has_target, h.target, h.learn, h.lr)
        else:
            LK.tick(nets, w, setup, xi, xd, h.at_end, h.has_target, h.target, h.learn, h.lr)
        h.clock[0] = c + 1
        waiting = False
        for k in range(L):
            h.t[k] += 1
        for k in range(L):
            if not h.busy[k] or h.t[k] < h.length[k]:
                continue
            h.busy[k] = False
            ph = st[k].phase
            if ph == TRAIN:
                trained += 1
                _end_training(st, k, w.y, w.sse, data.target, data.count, stop, win_err, win_wrong, totals, curve)
            elif ph == CHECK:
                _end_check(st, k, w.y, chk, data.count, stop, totals)
            else:
                _end_test(st, k, w.y, data.target, data.count, stop, test_err)
            if st[k].phase == WAIT:
                waiting = True
            else:
                _begin(nets, w, setup, st, data, chk, h, k)
        if waiting:
            return trained
    return trained


# ---------------------------------------------------------------------------------------------- Python part


class _LaneTrial:
    """What the Python side keeps of the trial in a lane."""

    def __init__(self, tr: Trial, source, curve: list):
        self.tr, self.source, self.curve = tr, source, curve
        self.wall = self.cpu = 0.0  # the trial's share of the engine's wall and CPU seconds
        self.test_source = None
        self.test_left = 0
        self.test_at = 0
        self.test_err: list[np.ndarray] = []
        self.block = 0  # online: training blocks drawn


class LaneEngine:
    """The trials of one row in `lanes` lanes; `run(claim)` yields (trial, record) as trials finish."""

    def __init__(self, protocol: str, cfg, seed: int, row_key: str, lanes: int = 32,
                 progress: Callable[[int], None] | None = None, fast_exp: bool | None = None, noalias: bool = True):
        why = serves(protocol, cfg)
        if why:
            raise ValueError(why)
        self.protocol, self.cfg, self.seed, self.row_key, self.progress = protocol, cfg, seed, row_key, progress
        self.n_in, self.n_out = cfg.sizes()
        self.one_hot = protocol == "longlag" or cfg.task in ("6a", "6b")
        self.block = online.DATA_BLOCK if protocol == "online" else longlag.BLOCK
        arch = models.get("lstm97").architecture(cfg, self.n_in, self.n_out)
        self.setup = LK.lane_setup(arch, True, cfg.output_derivative, cfg.lr_scale, self.one_hot, fast_exp)
        if protocol == "online":
            rule = OK.Rule(online.STOPS.index(cfg.stop), online.ERRORS.index(cfg.st3_error), cfg.check_every, cfg.n_seq,
                           cfg.st1_max_wrong, cfg.abs_threshold, cfg.st3_beta, cfg.st2_error)
            self.stop = Stop(ONLINE, rule, 0.0, 0)
            self.window = cfg.window
        else:
            self.stop = Stop(LONGLAG, OK.Rule(0, 0, 1, 0, 0, 0.0, 0.0, 0.0), cfg.tolerance, cfg.success_window)
            self.window = 1
        probe = models.get("lstm97").build(np.random.default_rng(0), cfg, self.n_in, self.n_out)
        self.M_hid, self.M_out, self.z_reset = probe.net.M_hid, probe.net.M_out, probe.ws.z_reset
        self.portable = not (noalias and NOALIAS)
        self.L = lanes
        self.suspend: Callable[[LaneEngine], None] | None = None
        self._allocate(lanes, 1, 1, cfg.check_set_size if protocol == "online" and cfg.stop == "st1st2" else 1)

    # -- lane arrays ------------------------------------------------------------------------------------------

    def _allocate(self, L: int, T: int, Tc: int, m: int) -> None:
        U, M = self.M_hid.shape
        K, Mo = self.M_out.shape
        self.nets = LK.lanes(np.zeros((U, M, L)), np.zeros((K, Mo, L)), self.M_hid, self.M_out, self.z_reset)
        self.work = LK.work(self.setup, U, M, Mo, L)
        self.st = np.zeros(L, dtype=LANE)
        self.h = hot(L, self.n_in, self.n_out, self.one_hot)
        self.data = self._slot(L, self.block, T)
        self.chk = self._slot(L, m, Tc)
        self.win_err = np.zeros((L, self.window))
        self.win_wrong = np.zeros((L, self.window), dtype=np.int64)
        self.totals = np.zeros(L, dtype=OK.TOTALS)
        self.curve = np.zeros((L, self.block))
        self.test_err = np.zeros((L, self.block))
        self.trials: list[_LaneTrial | None] = [None] * L

    def _slot(self, L: int, n: int, T: int) -> Slot:
        I, K = self.n_in, self.n_out
        if self.one_hot:
            x_index, x_dense = np.zeros((L, n, T), dtype=np.int64), np.zeros((L, 1, 1, 0))
        else:
            x_index, x_dense = np.zeros((L, 1, 1), dtype=np.int64), np.zeros((L, n, T, I))
        return Slot(x_index, x_dense, np.zeros((L, n), dtype=np.int64), np.zeros((L, n, K)), np.zeros(L, dtype=np.int64),
                    np.zeros((L, n), dtype=np.int64))

    def _fit(self, slot: Slot, T: int) -> Slot:
        """The slot, with room for sequences of T steps (grown for every lane if needed)."""
        have = slot.x_index.shape[2] if self.one_hot else slot.x_dense.shape[2]
        if T <= have:
            return slot
        bigger = self._slot(slot.lengths.shape[0], slot.lengths.shape[1], max(T, 2 * have))
        if self.one_hot:
            bigger.x_index[:, :, :have] = slot.x_index
        else:
            bigger.x_dense[:, :, :have] = slot.x_dense
        for name in ("lengths", "target", "count", "order"):
            getattr(bigger, name)[...] = getattr(slot, name)
        return bigger

    def _load(self, which: str, k: int, x: np.ndarray, lengths: np.ndarray, target: np.ndarray) -> None:
        """Put sequences (x: (n, T) one-hot indices or (n, T, I) inputs) into lane k's data or check slot."""
        slot = self._fit(getattr(self, which), x.shape[1])
        setattr(self, which, slot)
        n, T = x.shape[0], x.shape[1]
        if self.one_hot:
            slot.x_index[k, :n, :T] = x
        else:
            slot.x_dense[k, :n, :T] = x
        slot.lengths[k, :n] = lengths
        slot.target[k, :n] = target
        slot.count[k] = n
        slot.order[k, :n] = np.arange(n)

    def _compact(self) -> None:
        """Move the busy lanes into the first lanes of arrays half the size."""
        keep = np.flatnonzero(self.st["phase"] != IDLE)
        L = max(4, 1 << int(np.ceil(np.log2(max(len(keep), 1)))))
        if L >= self.L:
            return
        keep = np.concatenate([keep, np.flatnonzero(self.st["phase"] == IDLE)[: L - len(keep)]])

        def take(a: np.ndarray, axis: int) -> np.ndarray:
            return np.ascontiguousarray(np.take(a, keep, axis=axis))

        self.nets = LK.Lanes(*pack([take(a, -1) if name in ("W_hid", "W_out") else a
                                    for name, a in zip(LK.Lanes._fields, self.nets)]))
        self.work = LK.LaneWork(*pack([take(a, -1) if name in LK.LANE_AXIS else a
                                       for name, a in zip(LK.LaneWork._fields, self.work)]))
        self.h = Hot(*pack([a if name == "clock" else take(a, -1) for name, a in zip(Hot._fields, self.h)]))
        self.data = Slot(*(take(a, 0) for a in self.data))
        self.chk = Slot(*(take(a, 0) for a in self.chk))
        for name in ("st", "win_err", "win_wrong", "totals", "curve", "test_err"):
            setattr(self, name, take(getattr(self, name), 0))
        self.trials = [self.trials[i] for i in keep]
        self.L = L

    # -- trials -----------------------------------------------------------------------------------------------

    def _begin(self, k: int, trial: int) -> None:
        """Lane k starts a trial: the one-net trial's initial weights, streams, window, check set."""
        cfg = self.cfg
        tr = Trial(cfg, self.seed, self.row_key, trial, None, build=False)  # its streams; the lane holds its net
        net = tr.build()[0]
        self.nets.W_hid[..., k] = net.W_hid
        self.nets.W_out[..., k] = net.W_out
        self.st[k] = np.zeros(1, dtype=LANE)[0]
        self.st[k]["phase"], self.st[k]["cap"], self.st[k]["lr"] = TRAIN, cfg.max_sequences, cfg.lr
        self.win_err[k], self.win_wrong[k] = 0.0, 0
        self.totals[k] = np.zeros(1, dtype=OK.TOTALS)[0]
        source = longlag.Source(cfg, tr.stream("train")) if self.protocol == "longlag" else None
        self.trials[k] = _LaneTrial(tr, source, [])
        if self.protocol == "online" and cfg.stop == "st1st2":
            check = online.tests(online.draw(cfg, tr.stream("check"), cfg.check_set_size))
            self._load("chk", k, check.x_index if self.one_hot else check.x_dense, check.lengths, check.end_target)
        self._train_block(k)

    def _train_block(self, k: int) -> None:
        """Lane k's next block of training sequences, as the one-net loop draws it."""
        lt, cfg = self.trials[k], self.cfg
        n = min(self.block, cfg.max_sequences - int(self.st[k]["done"]))
        if self.protocol == "online":
            batch = online.draw(cfg, lt.tr.stream("train", lt.block), online.DATA_BLOCK)
            lt.block += 1
            rows = np.arange(n)
            L_ = batch.lengths[:n]
            _only_at_end(batch.target_mask[:n], L_)
            x = batch.input_index[:n] if self.one_hot else batch.inputs[:n]
            self._load("data", k, x, L_, batch.targets[rows, L_ - 1, :])
        else:
            c = lt.source.take(n)
            self._load("data", k, c.x_index, c.lengths, _one_hot_end(c, self.n_out))
        self.st[k]["pos"], self.st[k]["phase"] = 0, TRAIN

    def _test_block(self, k: int) -> bool:
        """Lane k's next block of final-test sequences; False when the test is complete."""
        lt, cfg, lane = self.trials[k], self.cfg, self.st[k]
        if lt.test_source is None:
            if self.protocol == "online":
                lt.test_source = online.tests(online.draw(cfg, lt.tr.stream("test"), cfg.test_set_size))
            else:
                lt.test_source = longlag.Source(cfg, lt.tr.stream("test"))
            lt.test_left, lt.test_at = cfg.test_set_size, 0
        elif self.protocol == "longlag":
            lt.test_err.append(self.test_err[k, : int(self.data.count[k])].copy())
        if lt.test_left == 0:
            return False
        n = min(self.block, lt.test_left)
        if self.protocol == "online":
            t, a = lt.test_source, lt.test_at
            x = t.x_index[a : a + n] if self.one_hot else t.x_dense[a : a + n]
            self._load("data", k, x, t.lengths[a : a + n], t.end_target[a : a + n])
        else:
            c = lt.test_source.take(n)
            self._load("data", k, c.x_index, c.lengths, _one_hot_end(c, self.n_out))
        lt.test_left -= n
        lt.test_at += n
        lane["pos"], lane["phase"] = 0, TEST
        return True

    def _record(self, k: int) -> dict:
        """Lane k's trial record, field by field as the one-net trial loop writes it."""
        lt, lane, cfg = self.trials[k], self.st[k], self.cfg
        status, done = int(lane["status"]), int(lane["done"])
        values = np.concatenate(lt.curve) if lt.curve else np.zeros(0, dtype=np.float32)
        if self.protocol == "online":
            tot = self.totals[k]
            fields: dict = {"window_wrong": int(tot["wrong"])}
            if cfg.stop == "st1st2":
                fields["st1"] = int(tot["st1_at"]) or None
                fields["st2"] = done if status == SUCCESS else None
            if status == DIVERGED:
                fields.update({"test_n": 0, "test_wrong": None, "test_mae": None, "test_mse": None})
            else:
                units = int(lane["tn"]) * self.n_out
                fields.update({"test_n": int(lane["tn"]), "test_wrong": int(lane["twrong"]),
                               "test_mae": float(lane["tsum_abs"]) / units, "test_mse": float(lane["tsum_sq"]) / units})
            record = lt.tr.record(status, done, values, **fields)
        else:
            final = {}
            if status != DIVERGED:
                err = np.concatenate(lt.test_err)
                n_ok = int(np.sum(err < cfg.tolerance))
                final = {"test_ok_pct": 100.0 * n_ok / err.size, "test_max_err": float(err.max()),
                         "test_mean_err": float(err.mean())}
            online_success = status == SUCCESS
            record = lt.tr.record(status, done - cfg.success_window if online_success else done, values,
                                  presented=done, cell_added_at=None, **final)
        record["wall_s"], record["cpu_s"] = lt.wall, lt.cpu  # the trial's share of the engine's time (run() adds the last piece)
        return record

    def _resolve(self, k: int, claim: Callable[[], int | None]) -> dict | None:
        """Serve lane k's event; returns a finished trial's record."""
        lane = self.st[k]
        event = int(lane["event"])
        lane["event"] = 0
        if event == NEED_TRAIN:
            self._harvest_curve_block(k, int(self.data.count[k]))
            self._train_block(k)
            return None
        if event == NEED_TEST and self.trials[k].test_source is None:
            self._harvest_curve_block(k, int(lane["pos"]) + (1 if int(lane["status"]) != RUNNING else 0))
        if event == FINISHED:
            self._harvest_curve_block(k, int(lane["pos"]) + 1)
        if event == NEED_TEST and self._test_block(k):
            return None
        record = self._record(k)
        trial = claim()
        if trial is None:
            self._idle(k)
        else:
            self._begin(k, trial)
        return record

    def _idle(self, k: int) -> None:
        self.st[k]["phase"] = IDLE
        self.trials[k] = None
        self.nets.W_hid[..., k] = 0.0
        self.nets.W_out[..., k] = 0.0

    def _harvest_curve_block(self, k: int, n: int) -> None:
        self.trials[k].curve.append(curve_block(self.curve[k, :n]))

    # -- suspending (cerepro/checkpoints.py) ----------------------------------------------------------------

    def in_flight(self) -> dict[int, int]:
        """The trials in the lanes, unfinished: trial -> training sequences done."""
        return {lt.tr.trial: int(self.st[k]["done"]) for k, lt in enumerate(self.trials) if lt is not None}

    def keep_only(self, trials: set[int]) -> None:
        """Empty the lanes of the trials not in `trials` (a resumed engine whose trials finished meanwhile)."""
        for k, lt in enumerate(self.trials):
            if lt is not None and lt.tr.trial not in trials:
                self._idle(k)
                self.h.busy[k] = False  # its sequence in progress ends here (a trial that finishes ends none)

    def __getstate__(self) -> dict:
        """Everything of a suspended engine (between two calls of the kernel) but its callbacks."""
        return {**self.__dict__, "progress": None, "suspend": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.nets = LK.Lanes(*pack(list(self.nets)))  # pickling copied each array on its own: packed again
        self.work = LK.LaneWork(*pack(list(self.work)))
        self.h = Hot(*pack(list(self.h)))

    # -- the loop ---------------------------------------------------------------------------------------------

    def run(self, claim: Callable[[], int | None]) -> Iterator[tuple[int, dict]]:
        """Train trials taken from claim() (None: no more) until all are done; yield (trial, record) as they end.

        A resumed engine (unpickled) goes on with the trials in its lanes and fills its idle lanes by claim().
        `self.suspend`, if set, is called after every kernel call whose lanes are consistent (the engine may be
        pickled there; cerepro/checkpoints.py decides when)."""
        for k in np.flatnonzero(self.st["phase"] == IDLE):
            trial = claim()
            if trial is None:
                break
            self._begin(int(k), trial)
        while True:
            busy = np.flatnonzero(self.st["phase"] != IDLE)
            if busy.size == 0:
                return
            if busy.size <= self.L // 2 and self.L > 4:
                self._compact()
                busy = np.flatnonzero(self.st["phase"] != IDLE)
            t0, c0 = time.perf_counter(), time.thread_time()
            trained = advance(self.nets, self.work, self.setup, self.st, self.h, self.data, self.chk, self.stop, self.win_err,
                              self.win_wrong, self.totals, self.curve, self.test_err, MAX_TICKS, self.portable)
            wall, cpu = (time.perf_counter() - t0) / busy.size, (time.thread_time() - c0) / busy.size
            for k in busy:
                self.trials[k].wall += wall
                self.trials[k].cpu += cpu
            if self.progress is not None and trained:
                self.progress(int(trained))
            for k in np.flatnonzero(self.st["phase"] == WAIT):
                lt = self.trials[k]
                t0, c0 = time.perf_counter(), time.thread_time()
                record = self._resolve(int(k), claim)  # the lane's data: charged to its trial
                lt.wall += time.perf_counter() - t0
                lt.cpu += time.thread_time() - c0
                if record is not None:
                    record["wall_s"], record["cpu_s"] = lt.wall, lt.cpu
                    yield lt.tr.trial, record
            if self.suspend is not None:
                self.suspend(self)


def _only_at_end(mask: np.ndarray, lengths: np.ndarray) -> None:
    """Lanes learn at a sequence's last step only: refuse data with targets elsewhere."""
    if not (mask.sum(axis=1) == 1).all() or not mask[np.arange(lengths.shape[0]), lengths - 1].all():
        raise ValueError("the lane engine needs exactly one target per sequence, at its last step")


def _one_hot_end(c: LLK.Compact, K: int) -> np.ndarray:
    """(n, K) the one-hot target at each long-lag sequence's last step (its only target and scored step)."""
    target = np.zeros((c.lengths.shape[0], K))
    if not _end_targets(c.t_index, c.score, c.lengths, target):
        raise ValueError("the lane engine needs exactly one target per sequence, at its last step")
    return target


@njit(cache=True)
def _end_targets(t_index, score, lengths, target):
    """target[n, unit] = 1 for the target unit at sequence n's last step; False if a sequence has a target or a
    scored step elsewhere, or none at its end."""
    for n in range(lengths.shape[0]):
        last = lengths[n] - 1
        for t in range(t_index.shape[1]):
            if t != last and (t_index[n, t] >= 0 or score[n, t]):
                return False
        if t_index[n, last] < 0:
            return False
        target[n, t_index[n, last]] = 1.0
    return True
