"""asyncio_twin.py — lesson 04's scene in plain asyncio: callbacks that schedule callbacks with
loop.call_soon, one of them cancelled (Handle.cancel) after it was counted in its tick's batch.

It prints the same canonical lines as `demo --trace` ("tick 2: run child-a"); the lesson's test
compares them line by line. Standard library only, Python 3.11.

What a tick is here: one call of BaseEventLoop._run_once, asyncio's one loop iteration. It
takes ntodo = len(self._ready) (the batch's N), then pops and runs exactly ntodo handles; what
they call_soon lands behind them and waits for the next iteration. The twin counts iterations by
wrapping _run_once, and prints the batch's N from len(loop._ready) as the iteration begins
(there are no timers and no fds here, so nothing else joins the batch).

Where asyncio differs on purpose (the test asserts exactly this line): Handle.cancel() only
marks the handle. It stays in loop._ready, still counted in this batch, and is thrown away when
its turn comes. loopschool's loop_unqueue unlinks the runnable at once. So right after child-a
cancels child-b, loopschool's ready queue holds 1 (counter) and asyncio's holds 2 (counter and
the cancelled child-b). Which callbacks run, and in which tick, is the same.
"""

import asyncio
import sys


class Act:
    def __init__(self, loop, name, countdown=0, spawn=(), cancel=None):
        self.loop, self.name, self.countdown = loop, name, countdown
        self.spawn, self.cancel = list(spawn), cancel
        self.handle = None
        self.runs = 0

    def schedule(self):
        self.handle = self.loop.call_soon(self.run)

    def run(self):
        self.runs += 1
        trace(f"run {self.name}")
        if self.cancel:
            self.cancel.handle.cancel()
            trace(f"{self.name} cancels {self.cancel.name} "
                  f"(the ready queue now holds {len(self.loop._ready)})")
        for child in self.spawn:
            child.schedule()
            trace(f"{self.name} schedules {child.name}")
        if self.countdown > 0:
            self.countdown -= 1
            self.schedule()
            trace(f"{self.name} schedules {self.name}")


tick = 0


def trace(line):
    print(f"tick {tick}: {line}")


def main():
    global tick
    loop = asyncio.new_event_loop()
    run_once = loop._run_once

    def counted_run_once():
        global tick
        tick += 1
        print(f"tick {tick}: batch of {len(loop._ready)}")
        run_once()
        # loopschool's loop_run returns when nothing is queued, armed or watched; asyncio's
        # run_forever would wait in select() for ever, so the twin stops it at that point.
        if not loop._ready and not loop._scheduled:
            loop.stop()

    loop._run_once = counted_run_once
    child_c = Act(loop, "child-c")
    child_b = Act(loop, "child-b")
    child_a = Act(loop, "child-a", spawn=[child_c], cancel=child_b)
    parent = Act(loop, "parent", spawn=[child_a, child_b])
    counter = Act(loop, "counter", countdown=3)
    hello = Act(loop, "hello")
    for act in (hello, counter, parent):
        act.schedule()
    loop.run_forever()
    loop.close()
    ok = tick == 4 and counter.runs == 4 and child_b.runs == 0 and child_c.runs == 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
