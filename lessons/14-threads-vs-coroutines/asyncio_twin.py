"""asyncio_twin.py - lesson 14's four scenes in plain asyncio.

A heartbeat every 10 ms records how late it runs while 200 ms of CPU-bound work runs: as one
callback on the loop (loop.call_soon), in 10 ms chunks with `await asyncio.sleep(0)` between,
on a thread (asyncio.to_thread, which is loop.run_in_executor(None, ...) with the context
copied), and in a worker process (ProcessPoolExecutor). Lateness is printed in buckets relative
to the wall time the work took, so the lines match the C demo's --trace on any machine.

A thread that burns CPU in pure Python holds the GIL; the interpreter takes it back every
sys.getswitchinterval() (5 ms), so the loop's heartbeat is a few ms late, not 200: still "a
small part of the work". It is the *throughput* the GIL ruins (two threads burning do not go
faster than one); the process scene is the way around it.
"""

import asyncio
import concurrent.futures
import time

WORK = 0.200
CHUNK = 0.010
PERIOD = 0.010


def burn(seconds):
    """Spins for `seconds` of this thread's CPU time doing arithmetic: CPU-bound, no sleeping."""
    x = 88172645463325252
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        for _ in range(200):
            x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF
            x ^= x >> 7
            x ^= (x << 17) & 0xFFFFFFFFFFFFFFFF
    return x & 0x7FFFFFFF


def bucket(late, total):
    """Lateness relative to the wall time the work took: the same words on any machine."""
    if late * 2 >= total:
        return "about the whole work"
    if late * 4 < total:
        return "a small part of the work"
    return "in between"


async def scene(kind, pool):
    loop = asyncio.get_running_loop()
    worst = 0.0
    done = loop.create_future()
    after_done = loop.create_future()
    next_beat = loop.time() + PERIOD

    def beat():
        nonlocal worst, next_beat
        now = loop.time()
        worst = max(worst, now - next_beat)
        if done.done() and not after_done.done():
            after_done.set_result(None)
        while next_beat <= now:  # beats missed while blocked are skipped, as in the C demo
            next_beat += PERIOD
        handle[0] = loop.call_at(next_beat, beat)

    handle = [loop.call_at(next_beat, beat)]
    start = loop.time()

    if kind == "blocking":
        loop.call_soon(lambda: done.set_result(burn(WORK)))
    elif kind == "chunked":
        async def chunked():
            burnt, total = 0.0, 0
            while burnt < WORK:
                total += burn(CHUNK)
                burnt += CHUNK
                await asyncio.sleep(0)
            done.set_result(total)
        loop.create_task(chunked())
    elif kind == "executor":
        async def on_thread():
            done.set_result(await asyncio.to_thread(burn, WORK))
        loop.create_task(on_thread())
    else:
        async def in_process():
            done.set_result(await loop.run_in_executor(pool, burn, WORK))
        loop.create_task(in_process())

    await done
    total = loop.time() - start
    await after_done
    handle[0].cancel()
    print(f"scene {kind}: heartbeat late by {bucket(worst, total)}")


async def main():
    # A ProcessPoolExecutor starts its process on first use, and starting an interpreter takes
    # far longer than the C demo's fork: it is started before the scenes, so that the heartbeat
    # measures the work, not the start.
    with concurrent.futures.ProcessPoolExecutor(max_workers=1) as pool:
        await asyncio.get_running_loop().run_in_executor(pool, burn, 0.0)
        for kind in ("blocking", "chunked", "executor", "process"):
            await scene(kind, pool)


if __name__ == "__main__":
    asyncio.run(main())
