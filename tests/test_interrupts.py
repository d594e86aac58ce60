"""cerepro.interrupts: a signal inside a pool's loop stops it at the loop's next safe point, never inside a wait."""

import os
import signal

import pytest

from cerepro import interrupts


@pytest.fixture
def installed():
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    interrupts.install()
    yield
    signal.signal(signal.SIGTERM, before[0])
    signal.signal(signal.SIGINT, before[1])
    interrupts._pending = False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_outside_a_deferred_block_raises_at_once(installed, sig):
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), sig)
        for _ in range(1000):  # the handler runs at the next bytecode boundary
            pass


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_inside_a_deferred_block_waits_for_the_next_check(installed, sig):
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts.deferred():
            os.kill(os.getpid(), sig)
            for _ in range(1000):
                pass
            reached.append("after the signal")  # the block goes on to its safe point
            interrupts.check()
            reached.append("after the check")
    assert reached == ["after the signal"]
    interrupts.check()  # the signal was consumed: nothing left to raise


def test_a_deferred_block_that_ends_normally_raises_a_signal_it_held(installed):
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts.deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):
                pass
            reached.append("end of the block")
        reached.append("after the block")
    assert reached == ["end of the block"] and not interrupts._pending


def test_an_ignored_sigint_stays_ignored(installed):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a shell's background job
    interrupts.install()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN and signal.getsignal(signal.SIGTERM) is interrupts.handler
