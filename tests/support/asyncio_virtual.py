"""asyncio_virtual.py — the virtual clock the asyncio twins run on (lessons 05, 08, 10, 11, 15),
written once: plain asyncio, standard library only (Python 3.11).

asyncio reads its clock only through loop.time(), so a loop whose time() returns a number the
program moves runs a scene without sleeping, as the demos' virtual clock does. The selector only
looks (timeout 0); when nothing is ready it jumps the clock by the timeout the loop computed, so
the loop's own arithmetic decides every wait, exactly as on the real clock. With no timer at all
(timeout None) it blocks on its fds, as a real loop would.

A twin imports it through its own path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "support"))
"""
import asyncio


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """A SelectorEventLoop on virtual time.

    iteration    passes of the loop so far (BaseEventLoop._run_once, CPython's one iteration:
                 timeout from the timer heap, select, due timers to the ready queue, the batch);
                 a twin compares it with the demo's loop_tick.
    before_wait  None, or called with the timeout the loop is about to wait with (seconds, or
                 None for no timer) before it looks: the demos' before_wait hook.
    advance(s)   moves the clock while a step runs: CPU work the loop cannot interrupt.
    """

    def __init__(self, selector=None):
        super().__init__(selector)
        self.now = 0.0
        self.iteration = 0
        self.before_wait = None
        real_select = self._selector.select

        def select(timeout=None):
            if self.before_wait:
                self.before_wait(timeout)
            events = real_select(None if timeout is None else 0)
            if not events and timeout:
                self.now += timeout  # nothing ready: jump to the next timer instead of sleeping
            return events

        self._selector.select = select

    def time(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds

    def _run_once(self):
        self.iteration += 1
        super()._run_once()
