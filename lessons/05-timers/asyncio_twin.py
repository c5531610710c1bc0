"""asyncio_twin.py — lesson 05's scene in plain asyncio: six timers (loop.call_later and
loop.call_at), one cancelled and one re-armed by another's callback, on virtual time.

It prints the same canonical lines as `demo --trace` ("tick 3: run coffee at +30.000 ms"); the
lesson's test compares them line by line. Standard library only, Python 3.11.

Virtual time, as in the demo (VirtualClockLoop, tests/support/asyncio_virtual.py): asyncio reads
its clock only through loop.time(), so a loop whose time() returns a number the program moves
runs the same scene without sleeping. The selector (a PollSelector, like the demo's poll backend)
only looks (timeout 0) and, when nothing is ready, jumps the clock by the timeout the loop
computed: the loop's own arithmetic decides every wait, exactly as on the real clock.

What a tick is: one call of BaseEventLoop._run_once, asyncio's loop iteration (timeout from the
timer heap, select, due timers to the ready queue, run the batch). The shared loop counts them,
and this twin prints the timeout the loop hands to select().

Where asyncio differs on purpose (the test asserts exactly this): the wait. loopschool's poll
backend rounds the time to the next timer *up* to whole milliseconds in step 1 (1.5 ms -> 2 ms);
asyncio hands select() the exact float (1.5 ms), and on the real clock its selectors round it up
themselves (PollSelector and EpollSelector use math.ceil to whole ms). The timers still fire at
the same virtual times and in the same ticks.
"""

import selectors
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "support"))
from asyncio_virtual import VirtualClockLoop  # noqa: E402 (one virtual clock for every twin)

MS = 0.001


class VirtualTimeLoop(VirtualClockLoop):
    """The shared virtual clock on a PollSelector (like the demo's poll backend), which ends the
    scene as loop_run does."""

    def __init__(self):
        super().__init__(selectors.PollSelector())
        self.before_wait = self.print_wait

    def print_wait(self, timeout):
        if timeout is None:
            print(f"tick {self.iteration}: wait with no timeout")
        else:
            print(f"tick {self.iteration}: wait {timeout / MS:.3f} ms")

    def _run_once(self):
        super()._run_once()
        # loopschool's loop_run returns when nothing is queued, armed or watched; run_forever
        # would wait for ever, so the twin stops it at that point.
        if not self._ready and not self._scheduled:
            self.stop()


def main():
    loop = VirtualTimeLoop()
    fired = []
    handles = {}

    def trace(line):
        print(f"tick {loop.iteration}: {line}")

    def just_fire(name):
        trace(f"run {name} at +{loop.time() / MS:.3f} ms")
        fired.append(name)

    def read_email():
        just_fire("email")
        handles["alarm"].cancel()
        trace("email cancels alarm")
        handles["snooze"].cancel()
        handles["snooze"] = loop.call_later(25 * MS, just_fire, "snooze")
        trace(f"email re-arms snooze for +{handles['snooze'].when() / MS:.3f} ms")

    start = loop.time()
    handles["snooze"] = loop.call_later(15 * MS, just_fire, "snooze")
    handles["email"] = loop.call_later(10 * MS, read_email)
    handles["alarm"] = loop.call_later(20 * MS, just_fire, "alarm")
    handles["coffee"] = loop.call_at(start + 30 * MS, just_fire, "coffee")
    handles["tea"] = loop.call_at(start + 30 * MS, just_fire, "tea")  # a tie with coffee
    handles["blink"] = loop.call_later(1.5 * MS, just_fire, "blink")
    loop.run_forever()
    loop.close()
    return 0 if fired == ["blink", "email", "coffee", "tea", "snooze"] else 1


if __name__ == "__main__":
    sys.exit(main())
