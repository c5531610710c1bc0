"""asyncio_twin.py — lesson 15's image service in plain asyncio (Python 3.11, standard library only),
observed with asyncio's own instruments: debug mode (loop.set_debug(True)) with
slow_callback_duration = 0.1 names the slow step, Task.print_stack shows where a task waits,
and a heartbeat task measures lag. It prints the same lines as
`build/lessons/15-observing-the-loop/demo --trace`. With --show it also prints, on stderr, debug
mode's warning and every task's print_stack, as the SIGUSR1 dump sees them.

The loop runs on a virtual clock, as the demo's does (VirtualClockLoop, tests/support/
asyncio_virtual.py): when asyncio would block, the clock jumps to the next timer instead; CPU
work moves the clock while a step runs. Debug mode reads the
same clock (loop.time()) around each step, so it sees the 212 ms exactly as the demo does.
"""
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "support"))
from asyncio_virtual import VirtualClockLoop  # noqa: E402 (one virtual clock for every twin)

SHOW = "--show" in sys.argv[1:]
JOBS, BIG_JOB, BEATS = 5, 3, 12
SMALL_S, BIG_S = 0.004, 0.212


def spend_cpu(seconds):
    asyncio.get_running_loop().advance(seconds)  # the loop can do nothing meanwhile


def make_thumbnail(seconds):
    spend_cpu(seconds)  # the hidden blocking call: a whole thumbnail at once


def make_thumbnail_off_loop(seconds):
    return seconds  # the fix's thumbnail, on a worker thread: it never touches the loop's clock


async def fetch(jobs):
    return await jobs.get()


async def resizer(jobs, fixed):
    while True:
        job = await fetch(jobs)
        if job is None:
            return
        if not fixed:
            make_thumbnail(job)
        else:  # the fix: the thumbnail in the loop's executor, awaited
            await asyncio.get_running_loop().run_in_executor(None, make_thumbnail_off_loop, job)
        await asyncio.sleep(0)  # the await right after the blocking call: debug mode names it


async def producer(jobs):
    for i in range(JOBS):
        await asyncio.sleep(0.1)
        await jobs.put(BIG_S if i + 1 == BIG_JOB else SMALL_S)
    await jobs.put(None)


async def health():
    for _ in range(BEATS):
        await asyncio.sleep(0.05)


async def heartbeat(lag):
    """The lag monitor: a beat every 10 ms, measuring how late it wakes."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + 0.01
        await asyncio.sleep(0.01)
        lag.append(loop.time() - due)


def chain_depth(task):
    """The await chain of this file's coroutines (Task.get_stack shows only the outermost)."""
    depth, coro = 0, task.get_coro()
    while coro is not None and hasattr(coro, "cr_frame"):
        if coro.cr_frame and coro.cr_frame.f_code.co_filename == __file__:
            depth += 1
        coro = coro.cr_await
    return depth


class SlowLog(logging.Handler):
    """Catches debug mode's 'Executing <Task ... name='resizer' ...> took 0.212 seconds'."""
    def __init__(self, loop):
        super().__init__()
        self.loop, self.names = loop, []

    def emit(self, record):
        text = record.getMessage()
        if text.startswith("Executing") and "name='" in text:
            self.names.append(text.split("name='", 1)[1].split("'", 1)[0])
            if SHOW:
                print(f"slow (asyncio debug mode): {text}", file=sys.stderr)
            os.kill(os.getpid(), signal.SIGUSR1)  # ask for the task dump, as the demo does


def run_service(fixed):
    loop = VirtualClockLoop()
    asyncio.set_event_loop(loop)
    loop.set_debug(True)
    loop.slow_callback_duration = 0.1
    slow = SlowLog(loop)
    logger = logging.getLogger("asyncio")
    logger.addHandler(slow)
    logger.propagate = False
    lag, depths = [], []
    tasks = {}

    def dump():  # SIGUSR1, through the loop's self-pipe: aiomonitor's `where`, in two lines
        for name, task in tasks.items():
            if SHOW and not task.done():
                print(f"task {name!r}:", file=sys.stderr)
                task.print_stack(file=sys.stderr)
        depths.append(chain_depth(tasks["resizer"]))

    loop.add_signal_handler(signal.SIGUSR1, dump)

    async def main():
        jobs = asyncio.Queue()
        beat = asyncio.create_task(heartbeat(lag), name="heartbeat")
        tasks["producer"] = asyncio.create_task(producer(jobs), name="producer")
        tasks["resizer"] = asyncio.create_task(resizer(jobs, fixed), name="resizer")
        tasks["health"] = asyncio.create_task(health(), name="health")
        await asyncio.gather(*tasks.values())
        beat.cancel()

    loop.run_until_complete(main())
    loop.remove_signal_handler(signal.SIGUSR1)
    logger.removeHandler(slow)
    loop.close()
    return slow.names, max(lag), depths


def main():
    names, max_lag, depths = run_service(fixed=False)
    for name in names:
        print(f"slow task {name}")
    for depth in depths:
        print(f"chain resizer depth {depth}")
    print(f"lag {'over' if max_lag >= 0.1 else 'under'} 100 ms")
    fixed_names, fixed_lag, _ = run_service(fixed=True)
    print(f"fixed slow {len(fixed_names)}")
    print(f"fixed lag {'over' if fixed_lag >= 0.1 else 'under'} 100 ms")


if __name__ == "__main__":
    main()
