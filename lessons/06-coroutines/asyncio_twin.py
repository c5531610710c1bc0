"""asyncio_twin.py — lesson 06's scenes as Python generators, the machinery under asyncio's
coroutines (an `async def` coroutine is a generator-like object: send() resumes it, and each
await that suspends is a yield underneath). No event loop is needed to show it: a generator is
stepped by whoever calls next() or send(), as the demo steps its C coroutines by calling them.

It prints the same canonical lines as `demo --trace`; the lesson's test compares them line by
line. Standard library only, Python 3.11.

Where Python differs on purpose (the test asserts exactly this line): locals. A Python
generator keeps its whole frame, locals included, alive between steps (gi_frame), so a loop
counter in a local survives and `local_counter` counts 0, 1, 2 and ends. loopschool's stackless
coroutine keeps only its frame struct: a C local is born again at every call, and the resume
jumps past its loop's start, so the same code sees 0, 1, 1, 1, ... and never ends. Everything
else (values, sends, pipeline, the states) is the same.
"""

import inspect
import sys

STATE = {inspect.GEN_CREATED: "created", inspect.GEN_SUSPENDED: "suspended",
         inspect.GEN_RUNNING: "running", inspect.GEN_CLOSED: "done"}


def state(gen):
    return STATE[inspect.getgeneratorstate(gen)]


def fib():  # gen_fib_step
    yield 0
    yield 1
    a, b = 0, 1
    while True:
        a, b = b, a + b
        yield b


def count(limit):  # gen_count_step
    for value in range(1, limit + 1):
        yield value


def evens(source):  # gen_evens_step: a stage ends when its source does
    for value in source:
        if value % 2 == 0:
            yield value


def averager():  # gen_averager_step: x = yield is CORO_RECEIVE
    total = n = 0
    average = None
    while True:
        x = yield average
        total += x
        n += 1
        average = total / n


def local_counter(seen):  # gen_local_counter_step, word for word: i is a local
    i = 0
    while i < 3:
        seen.append(i)
        yield
        i += 1


def steps_until_done(gen, limit):
    """Steps gen until it ends or limit steps were taken; the step that ends it counts."""
    steps = 0
    while steps < limit:
        steps += 1
        try:
            next(gen)
        except StopIteration:
            break
    return steps


def main():
    f = fib()
    for step in range(1, 9):
        print(f"fib: step {step} yielded {next(f)}")
    print(f"fib: {state(f)}")

    c = count(10)
    e = evens(c)
    total = 0
    for value in e:
        total += value
        print(f"pipeline: got {value}")
    print(f"pipeline: sum {total}; count is {state(c)}, evens is {state(e)}")

    avg = averager()
    next(avg)  # priming: run up to the first yield, as the demo's first step does
    for x in (10.0, 20.0, 60.0, 30.0):
        print(f"averager: send {x:.1f} -> average {avg.send(x):.2f}")

    # In Python "a local" and "the frame" are one and the same: a generator's locals live in
    # its frame. The demo steps its local counter at most 8 times (it would never end).
    for where in ("a local", "the frame"):
        seen = []
        gen = local_counter(seen)
        steps = steps_until_done(gen, 8)
        print(f"counter in {where}: saw {' '.join(map(str, seen))}, {state(gen)} after "
              f"{steps} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
