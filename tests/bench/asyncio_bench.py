"""asyncio_bench.py - the same workloads as loopschool's C benchmarks, measured in asyncio.

`make bench` runs this first and hands its figures to the C benchmarks, which print each one
beside their own row with the ratio: "how much cheaper than asyncio, on the same work?".
Standard library only. Output: one line per figure, `key<TAB>value<TAB>unit<TAB>what`.
Each figure is the median of a few repeats, as in the C benchmarks (tests/bench/lib/bench.c).
"""

import asyncio
import random
import statistics
import subprocess
import sys
import time

REPEATS = 5


def median_of(measure, repeats=REPEATS):
    return statistics.median(measure() for _ in range(repeats))


def call_soon_dispatch():
    """ns per callback: 1,000 callbacks queued per iteration, then run (C: loop_bench.c)."""
    per_tick, ticks = 1000, 200
    loop = asyncio.new_event_loop()
    count = 0

    def callback():
        nonlocal count
        count += 1

    def one_tick_of_work():
        for _ in range(per_tick):
            loop.call_soon(callback)

    async def drive():
        for _ in range(ticks):
            one_tick_of_work()
            await asyncio.sleep(0)  # one iteration runs the 1,000 callbacks

    start = time.perf_counter_ns()
    loop.run_until_complete(drive())
    ns = time.perf_counter_ns() - start
    loop.close()
    assert count == per_tick * ticks
    return ns / count


def task_switch():
    """ns per switch: 100 tasks each yielding with `await asyncio.sleep(0)` (C: task_bench.c)."""
    tasks_n, yields = 100, 1000

    async def yielder():
        for _ in range(yields):
            await asyncio.sleep(0)

    async def main():
        await asyncio.gather(*(yielder() for _ in range(tasks_n)))

    start = time.perf_counter_ns()
    asyncio.run(main())
    return (time.perf_counter_ns() - start) / (tasks_n * yields)


def spawn_run_join():
    """ns per task: create_task of a trivial coroutine, awaited, 1,000 alive at a time (C: spawn +
    run + join in the same batches of 1,000; the count only repeats the batch)."""
    n = 100_000

    async def child():
        return 1

    async def main():
        total = 0
        for _ in range(n // 1000):
            batch = [asyncio.create_task(child()) for _ in range(1000)]
            for t in batch:
                total += await t
        return total

    start = time.perf_counter_ns()
    assert asyncio.run(main()) == n
    return (time.perf_counter_ns() - start) / n


SLEEPING_TASKS = 100_000


def resident_bytes():
    """VmRSS of this process, from /proc (Linux); 0 where it cannot be read."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def sleeping_task_bytes_here():
    """Bytes of resident memory per task in this process: 100,000 tasks at once, each in
    await asyncio.sleep(60)."""

    async def sleeper():
        await asyncio.sleep(60)

    async def main():
        before = resident_bytes()
        tasks = [asyncio.create_task(sleeper()) for _ in range(SLEEPING_TASKS)]
        await asyncio.sleep(0)  # each task runs to its sleep
        during = resident_bytes()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return (during - before) / SLEEPING_TASKS

    return asyncio.run(main())


def sleeping_task_bytes():
    """The same, measured in a fresh interpreter (C: the same count, each in LOOP_SLEEP, in a
    forked child): here, memory freed by the figures before would be reused and hide the cost."""
    child = subprocess.run([sys.executable, __file__, "--sleeping-task-bytes"],
                           capture_output=True, text=True, check=True)
    return float(child.stdout)


def timers_started_then_fired():
    """ns per timer: 1,000,000 call_at timers at random deadlines already past, then one run
    fires them all (C: the same million on a virtual clock; asyncio has none, so every deadline
    is in the past and nothing sleeps). A million, not fewer: the heap's depth and whether it
    fits in cache move the figure (100,000 costs asyncio less than half as much per timer)."""
    n = 1_000_000
    loop = asyncio.new_event_loop()
    rng = random.Random(0x5EED)
    fired = 0

    def fire():
        nonlocal fired
        fired += 1

    now = loop.time()
    deadlines = [now - 1.0 + rng.random() for _ in range(n)]

    async def wait_for_all():
        while fired < n:
            await asyncio.sleep(0)

    start = time.perf_counter_ns()
    for d in deadlines:
        loop.call_at(d, fire)
    loop.run_until_complete(wait_for_all())
    ns = time.perf_counter_ns() - start
    loop.close()
    return ns / n


def queue_hand_off():
    """ns per item: a producer and a consumer task on asyncio.Queue(maxsize=64)."""
    n = 200_000

    async def main():
        queue = asyncio.Queue(maxsize=64)

        async def producer():
            for i in range(n):
                await queue.put(i)

        async def consumer():
            for _ in range(n):
                await queue.get()

        await asyncio.gather(producer(), consumer())

    start = time.perf_counter_ns()
    asyncio.run(main())
    return (time.perf_counter_ns() - start) / n


def lock_uncontended():
    """ns per acquire + release of an asyncio.Lock nobody else wants."""
    n = 200_000

    async def main():
        lock = asyncio.Lock()
        for _ in range(n):
            async with lock:
                pass

    start = time.perf_counter_ns()
    asyncio.run(main())
    return (time.perf_counter_ns() - start) / n


def threadsafe_post():
    """ns per call_soon_threadsafe from one other thread, to the callback run (C: thread_bench.c)."""
    import threading

    n = 100_000

    async def main():
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        count = 0

        def received():
            nonlocal count
            count += 1
            if count == n:
                done.set_result(None)

        def post():
            for _ in range(n):
                loop.call_soon_threadsafe(received)

        poster = threading.Thread(target=post)
        start = time.perf_counter_ns()
        poster.start()
        await done
        ns = time.perf_counter_ns() - start
        poster.join()
        return ns / n

    return asyncio.run(main())


def executor_trip():
    """ns per run_in_executor round trip of an empty function, one worker thread."""
    import concurrent.futures

    n = 20_000

    async def main():
        loop = asyncio.get_running_loop()
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            start = time.perf_counter_ns()
            for _ in range(n):
                await loop.run_in_executor(pool, int)
            return (time.perf_counter_ns() - start) / n

    return asyncio.run(main())


def process_trip():
    """ns per ProcessPoolExecutor round trip of 8 bytes, one worker process (started first)."""
    import concurrent.futures

    n = 2_000

    async def main():
        loop = asyncio.get_running_loop()
        with concurrent.futures.ProcessPoolExecutor(max_workers=1) as pool:
            await loop.run_in_executor(pool, bytes, 8)
            start = time.perf_counter_ns()
            for _ in range(n):
                await loop.run_in_executor(pool, bytes, 8)
            return (time.perf_counter_ns() - start) / n

    return asyncio.run(main())


FIGURES = [
    ("call_soon", call_soon_dispatch, "ns/call", "call_soon + dispatch, 1,000 per iteration"),
    ("task_switch", task_switch, "ns/switch", "100 tasks, await asyncio.sleep(0)"),
    ("spawn_join", spawn_run_join, "ns/task", "create_task + run + await, 100k"),
    ("timers", timers_started_then_fired, "ns/timer", "1M call_at timers, then fired"),
    ("sleeping_task_bytes", sleeping_task_bytes, "B/task", "RSS per task, 100k asyncio.sleep"),
    ("queue", queue_hand_off, "ns/item", "asyncio.Queue(64) producer -> consumer"),
    ("lock", lock_uncontended, "ns/pair", "asyncio.Lock acquire + release, uncontended"),
    ("threadsafe_post", threadsafe_post, "ns/post", "call_soon_threadsafe from 1 thread"),
    ("executor_trip", executor_trip, "ns/trip", "run_in_executor round trip, empty function"),
    ("process_trip", process_trip, "ns/trip", "ProcessPoolExecutor round trip, 8 bytes"),
]


def main():
    print(f"python\t{sys.version.split()[0]}\t-\tthe interpreter measured", flush=True)
    for key, measure, unit, what in FIGURES:
        # a million timers take seconds; a memory figure does not vary like a time
        repeats = 3 if key == "timers" else 1 if key == "sleeping_task_bytes" else REPEATS
        print(f"{key}\t{median_of(measure, repeats):.6g}\t{unit}\t{what}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--sleeping-task-bytes"]:
        print(sleeping_task_bytes_here())
    else:
        main()
