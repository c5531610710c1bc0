"""asyncio_twin.py — lesson 10's three scenes in plain asyncio (Python 3.11, standard library only).

1. A producer makes an item every 1 ms, a consumer needs 4 ms per item, an asyncio.Queue(3)
   between them; then the same over an unbounded queue.
2. An asyncio.Semaphore(3) in front of 20 tasks, each holding a permit for 5 to 15 ms.
3. Four tasks add 1 to a counter five times across an await: without a lock, then with one.
It prints the same event lines as `build/lessons/10-sync/demo --trace`.

The loop runs on a virtual clock, as the demo's does (VirtualClockLoop, tests/support/
asyncio_virtual.py): the selector never sleeps; when asyncio would block for `timeout` seconds,
the clock jumps by `timeout` instead. Scene 2 reports the gate whenever the loop is about to
wait with nothing ready (its before_wait, with a timeout other than 0, as the demo's hook).
"""
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "support"))
from asyncio_virtual import VirtualClockLoop  # noqa: E402 (one virtual clock for every twin)


def ms():
    return round(asyncio.get_running_loop().time() * 1000)


def event(who, text):
    print(f"{ms()} ms: {who} {text}")


# ---- 1. backpressure --------------------------------------------------------------------------
ITEMS, SLOTS, MAKE_MS, WORK_MS = 10, 3, 1, 4


class Run:
    producer_done = consumer_done = waited = max_length = 0


async def producer(q, run, closed, say):
    if say:
        event("producer", "starts making item 1")
    for i in range(1, ITEMS + 1):
        await asyncio.sleep(MAKE_MS / 1000)  # making the item takes 1 ms
        had_to_wait = q.full()
        if say and had_to_wait:
            event("producer", f"item {i} made; full: WAITS")
        consumer_waiting = bool(q._getters)  # CPython's deque of waiting getters' futures
        began = ms()
        await q.put(i)
        run.waited += ms() - began
        run.max_length = max(run.max_length, q.qsize())
        if say:
            woken = "woken: " if had_to_wait else ""
            wakes = ", wakes consumer" if consumer_waiting else ""
            event("producer", f"{woken}puts item {i}{wakes}")
    # Python 3.11's Queue cannot be closed (3.13 adds Queue.shutdown()); a flag the consumer
    # reads before each get does it here. It is enough in this scene: when the producer closes,
    # the queue is full, so the consumer is not parked in get().
    closed.set()
    if say:
        event("producer", "closes queue")
    run.producer_done = ms()


async def consumer(q, run, closed, say):
    while True:
        if closed.is_set() and q.empty():
            break
        if say and q.empty():
            event("consumer", "queue empty: WAITS")
        producer_was_waiting = bool(q._putters)
        item = await q.get()
        if say:
            frees = ", wakes producer" if producer_was_waiting else ""
            event("consumer", f"gets item {item}{frees}")
        await asyncio.sleep(WORK_MS / 1000)  # the work: 4 ms per item
    if say:
        event("consumer", "queue closed and empty: ends")
    run.consumer_done = ms()


def summary(kind, run):
    print(f"{kind}: producer done at {run.producer_done} ms, waited {run.waited} ms; "
          f"at most {run.max_length} queued; consumer done at {run.consumer_done} ms")


async def backpressure(maxsize, say):
    q, run, closed = asyncio.Queue(maxsize), Run(), asyncio.Event()
    await asyncio.gather(producer(q, run, closed, say), consumer(q, run, closed, say))
    return run


# ---- 2. a semaphore as a concurrency limit ----------------------------------------------------
VISITORS, ADMIT = 20, 3


class Gate:
    def __init__(self):
        self.sem = asyncio.Semaphore(ADMIT)
        self.inside = []
        self.served = 0
        self.waiting = 0

    def settle(self):
        names = "".join(" " + n for n in sorted(self.inside)) if self.inside else " nobody"
        print(f"{ms()} ms: inside{names}, waiting {self.waiting}, served {self.served}")


async def visitor(gate, name, work_ms):
    gate.waiting += 1
    async with gate.sem:
        gate.waiting -= 1
        gate.inside.append(name)
        await asyncio.sleep(work_ms / 1000)
        gate.inside.remove(name)
        gate.served += 1


async def semaphore_scene():
    gate = Gate()
    loop = asyncio.get_running_loop()
    loop.before_wait = lambda timeout: gate.settle() if timeout != 0 else None
    await asyncio.gather(*(visitor(gate, f"v{i + 1:02d}", 5 + (i * 7) % 11)
                           for i in range(VISITORS)))
    loop.before_wait = None
    gate.settle()  # the last instant: nothing is left to wait for


# ---- 3. a lock around a read-await-write ------------------------------------------------------
ADDERS, ROUNDS = 4, 5


async def adder(name, state, lock):
    for round_no in range(ROUNDS):
        if lock:
            await lock.acquire()
        seen = state["counter"]
        if round_no == 0:
            print(f"{name} reads {seen}")
        await asyncio.sleep(0)  # an await between the read and the write: others run here
        state["counter"] = seen + 1
        if round_no == 0:
            print(f"{name} writes {seen + 1}")
        if lock:
            lock.release()


async def count_with(lock):
    state = {"counter": 0}
    await asyncio.gather(*(adder(n, state, lock) for n in "abcd"))
    return state["counter"]


def run(coro):
    """Each scene on a fresh loop whose virtual clock starts at 0, as each demo part does."""
    loop = VirtualClockLoop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


summary("bounded", run(backpressure(SLOTS, say=True)))
summary("unbounded", run(backpressure(0, say=False)))
run(semaphore_scene())
print(f"without a lock the counter says {run(count_with(None))}")
print(f"with a lock the counter says {run(count_with(asyncio.Lock()))}")
