"""asyncio_twin.py — lesson 08's part 1 in plain asyncio (Python 3.11, standard library only).

Five tasks: boss joins fetch-user, then reader, then fetch-prefs; writer sleeps 10 ms and writes
into a pipe that reader waits on; fetch-prefs fails after 35 ms. It prints the same event lines
as `build/lessons/08-tasks/demo --trace`, including how many loop iterations passed between
what woke a task (its timer, its fd, the task it joined) and the task's next step.

The loop runs on a virtual clock, as the demo's does (VirtualClockLoop, tests/support/
asyncio_virtual.py): the selector never sleeps; when asyncio would block for `timeout` seconds,
the clock jumps by `timeout` instead. It also counts iterations (BaseEventLoop._run_once,
CPython 3.11's one pass of the loop).
"""
import asyncio
import errno
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "support"))
from asyncio_virtual import VirtualClockLoop  # noqa: E402 (one virtual clock for every twin)


loop = VirtualClockLoop()
woken = {}  # task name -> (what woke it, the iteration it happened in)
ended = {}  # task name -> the iteration its coroutine returned or raised in


def event(name, text):
    print(f"{round(loop.time() * 1000)} ms: {name} {text}")


def woke(name, cause, iteration):
    event(name, f"runs, {loop.iteration - iteration} iteration(s) after {cause}")


async def sleep(name, ms):
    """asyncio.sleep, written out so the twin can see when the timer fires: a future, and a timer
    callback that sets its result (asyncio.sleep's own callback does exactly that)."""
    fut = loop.create_future()

    def fire():
        woken[name] = ("its timer fired", loop.iteration)
        fut.set_result(None)

    loop.call_later(ms / 1000, fire)
    await fut
    woke(name, *woken[name])


async def fetch(name, ms, fail):
    event(name, f"sleeps {ms} ms")
    await sleep(name, ms)
    ended[name] = loop.iteration
    if fail:
        event(name, "fails with ETIMEDOUT")
        raise TimeoutError(errno.ETIMEDOUT, "Connection timed out")
    event(name, "returns 42")
    return 42


async def writer(fd):
    event("writer", "sleeps 10 ms")
    await sleep("writer", 10)
    os.write(fd, b"ping")
    event("writer", "writes ping into the pipe")


async def reader(fd):
    """Waits for the fd the way loop.sock_recv does: add_reader with a callback that sets a
    future's result."""
    event("reader", "waits until the pipe is readable")
    fut = loop.create_future()

    def readable():
        loop.remove_reader(fd)
        woken["reader"] = ("the fd was ready", loop.iteration)
        fut.set_result(None)

    loop.add_reader(fd, readable)
    await fut
    woke("reader", *woken["reader"])
    os.read(fd, 4)
    event("reader", "reads ping")


async def boss(tasks):
    event("boss", "joins fetch-user")
    user_id = await tasks["fetch-user"]
    woke("boss", "fetch-user ended", ended["fetch-user"])
    event("boss", f"reads {user_id}; joins reader")
    await tasks["reader"]  # already done: awaiting a finished task returns without suspending
    event("boss", "finds reader already ended; joins fetch-prefs")
    try:
        await tasks["fetch-prefs"]
    except TimeoutError as exc:
        woke("boss", "fetch-prefs ended", ended["fetch-prefs"])
        event("boss", "the join says ETIMEDOUT" if exc.errno == errno.ETIMEDOUT else "other")


async def main():
    r, w = os.pipe()
    # Spawned in the demo's order: each create_task queues the task's first step (call_soon),
    # and none runs before main awaits. boss reads the others from `tasks` when it first runs.
    tasks = {}
    tasks["boss"] = loop.create_task(boss(tasks))
    tasks["fetch-user"] = loop.create_task(fetch("fetch-user", 20, fail=False))
    tasks["fetch-prefs"] = loop.create_task(fetch("fetch-prefs", 35, fail=True))
    tasks["writer"] = loop.create_task(writer(w))
    tasks["reader"] = loop.create_task(reader(r))
    await tasks["boss"]
    os.close(r)
    os.close(w)


loop.run_until_complete(main())
loop.close()
