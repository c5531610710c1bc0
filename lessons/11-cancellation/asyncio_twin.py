"""asyncio_twin.py — lesson 11's scenes 1, 2, 3 and 5 in plain asyncio (Python 3.11, standard
library only). It prints the same event lines as `build/lessons/11-cancellation/demo --trace`,
and where asyncio does something else, its own line (the lesson's test names each one).

1. A holds a pool's only slot and a lock, sleeps 100 ms; B waits for the slot; at 30 ms A is
   cancelled. 2. wait_for gives fetch 100 ms of its 500. 3. gather(return_exceptions=True) and a
   TaskGroup over the same three children, one failing. 5. boss awaits worker's task and is
   cancelled at 10 ms.

The loop runs on a virtual clock, as the demo's does (VirtualClockLoop, tests/support/
asyncio_virtual.py): the selector never sleeps; when asyncio would block for `timeout` seconds,
the clock jumps by `timeout` instead. It also counts iterations (BaseEventLoop._run_once,
CPython 3.11's one pass of the loop).
"""
import asyncio
import errno
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "support"))
from asyncio_virtual import VirtualClockLoop  # noqa: E402 (one virtual clock for every twin)


def loop():
    return asyncio.get_running_loop()


def say(name, text):
    print(f"{round(loop().time() * 1000)} ms: {name} {text}")


def error_name(exc):
    if exc is None:
        return "0"
    if isinstance(exc, asyncio.CancelledError):
        return "-ECANCELED"
    if isinstance(exc, TimeoutError):
        return "-ETIMEDOUT"
    if isinstance(exc, OSError) and exc.errno == errno.EIO:
        return "-EIO"
    return "another error"


def state_name(task):
    if task.cancelled():
        return "cancelled"
    return "failed" if task.exception() else "done"


# ---- scene 1: cleanup gives back what the task held -------------------------------------------
async def worker(name, slots, lock, work_ms, cleanups=None):
    slot, held, error = None, False, None
    try:
        say(name, "asks the pool for a slot" + ("" if slots.qsize() else ": none is free, waits"))
        slot = await slots.get()
        say(name, "has the slot; asks for the lock" + (": held, waits" if lock.locked() else ""))
        await lock.acquire()
        held = True
        say(name, f"has the lock; works for {work_ms} ms (sleeps)")
        await asyncio.sleep(work_ms / 1000)
        say(name, "finished its work")
    except BaseException as exc:
        error = exc
        raise
    finally:
        if cleanups is not None:
            cleanups.append(name)
        gives = "puts the slot back" if slot else "holds no slot"
        say(name, f"cleanup (error {error_name(error)}): {gives}"
                  + (", releases the lock" if held else ""))
        if slot:
            slots.put_nowait(slot)
        if held:
            lock.release()


async def supervisor(target, after_ms):
    await asyncio.sleep(after_ms / 1000)
    accepted = target.cancel()
    say("super", f"cancels {target.get_name()}: {'accepted' if accepted else 'refused'}")


async def scene1():
    print("scene 1")
    slots, lock, cleanups = asyncio.Queue(1), asyncio.Lock(), []
    slots.put_nowait("slot")
    a = asyncio.create_task(worker("A", slots, lock, 100, cleanups), name="A")
    b = asyncio.create_task(worker("B", slots, lock, 20), name="B")
    sup = asyncio.create_task(supervisor(a, 30))
    await asyncio.gather(a, b, sup, return_exceptions=True)
    again = a.cancel()  # False on a finished task: loopschool's -EALREADY
    print(f"A {state_name(a)}, its cleanup ran {cleanups.count('A')} time(s); "
          f"cancel again: {'accepted' if again else 'refused'}")


# ---- scene 2: a timeout -----------------------------------------------------------------------
ended = {}  # task name -> the iteration its coroutine ended in


async def fetch(ms):
    error = None
    try:
        say("fetch", f"sends its request; the answer takes {ms} ms")
        await asyncio.sleep(ms / 1000)
        say("fetch", "got its answer")
    except BaseException as exc:
        error = exc
        raise
    finally:
        say("fetch", f"cleanup (error {error_name(error)}): closes its connection")
        ended["fetch"] = loop().iteration


async def patient(fetch_task, timeout_ms):
    say("patient", f"waits for fetch, at most {timeout_ms} ms")
    try:
        await asyncio.wait_for(fetch_task, timeout_ms / 1000)
        result = None
    except TimeoutError as exc:
        result = exc
    say("patient", f"wait_for returned {error_name(result)}; fetch is {state_name(fetch_task)}")
    say("patient", f"resumed {loop().iteration - ended['fetch']} iteration(s) after fetch ended")


async def scene2():
    print("scene 2")
    f = asyncio.create_task(fetch(500))
    await asyncio.create_task(patient(f, 100))


# ---- scene 3: gather and a task group, side by side -------------------------------------------
async def child(name, ms, fails):
    error = None
    try:
        say(name, f"sleeps {ms} ms")
        await asyncio.sleep(ms / 1000)
        if fails:
            say(name, "fails with -EIO")
            raise OSError(errno.EIO, "Input/output error")
        say(name, "done")
    except asyncio.CancelledError as exc:
        error = exc
        raise
    finally:
        if isinstance(error, asyncio.CancelledError):
            say(name, "cancelled: its cleanup runs")
        ended[name] = loop().iteration


def errors_of(tasks):
    def error(t):
        return asyncio.CancelledError() if t.cancelled() else t.exception()

    return ", ".join(error_name(error(t)) for t in tasks)


def resumed(name, names):
    last = max(ended[n] for n in names)
    say(name, f"resumed {loop().iteration - last} iteration(s) after its last member ended")


async def gatherer():
    say("gather", "gathers its three")
    kids = [asyncio.create_task(child(n, ms, ms == 20)) for n, ms in (("a", 10), ("b", 20),
                                                                      ("c", 40))]
    await asyncio.gather(*kids, return_exceptions=True)
    say("gather", "returns 0")
    say("gather", f"errors: [{errors_of(kids)}]")
    resumed("gather", ["a", "b", "c"])


async def grouper():
    kids = []
    try:
        async with asyncio.TaskGroup() as g:
            say("group", "waits on its group")
            for name, ms in (("a'", 10), ("b'", 20), ("c'", 40)):
                kids.append(g.create_task(child(name, ms, ms == 20)))
    except* OSError as group:
        # asyncio raises an ExceptionGroup holding every child's failure (here one).
        failures = ", ".join(error_name(e) for e in group.exceptions)
        say("group", f"raises an ExceptionGroup of [{failures}]")
    say("group", f"errors: [{errors_of(kids)}]")
    resumed("group", ["a'", "b'", "c'"])


# Two loops, not one as in the demo's narration: asyncio fires timers due at the same instant in
# no promised order (its heap compares deadlines only), so b and b' could fail in either order.
async def scene3_gather():
    print("scene 3, gather")
    await asyncio.create_task(gatherer())


async def scene3_group():
    print("scene 3, task group")
    await asyncio.create_task(grouper())


# ---- scene 5: a joiner is cancelled -----------------------------------------------------------
async def joiner(worker_task, shield):
    error = None
    try:
        if shield:
            say("boss", f"shields {worker_task.get_name()}")
            await asyncio.shield(worker_task)  # a cancel of boss stops boss only
        else:
            say("boss", f"joins {worker_task.get_name()}")
            await worker_task  # a cancel of boss is passed on to worker_task first
        say("boss", f"{worker_task.get_name()} ended")
    except BaseException as exc:
        error = exc
        raise
    finally:
        say("boss", f"cleanup (error {error_name(error)})")


async def scene5(shield=False):
    print("scene 5, shield" if shield else "scene 5")
    slots, lock = asyncio.Queue(1), asyncio.Lock()
    slots.put_nowait("slot")
    holder = {}
    boss = asyncio.create_task(joiner_later(holder, shield), name="boss")
    holder["worker"] = asyncio.create_task(worker("worker", slots, lock, 50), name="worker")
    sup = asyncio.create_task(supervisor(boss, 10))
    await asyncio.gather(boss, holder["worker"], sup, return_exceptions=True)


async def joiner_later(holder, shield):
    """boss is spawned first, as in the demo; it reads worker's task when it first runs."""
    await joiner(holder["worker"], shield)


async def scene5_shield():
    await scene5(shield=True)


def run(scene):
    """Each scene on a fresh loop whose virtual clock starts at 0, as each demo scene does."""
    ended.clear()
    ev = VirtualClockLoop()
    try:
        ev.run_until_complete(scene())
    finally:
        ev.close()


for scene in (scene1, scene2, scene3_gather, scene3_group, scene5, scene5_shield):
    run(scene)
