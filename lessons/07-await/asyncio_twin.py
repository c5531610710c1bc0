"""asyncio_twin.py — lesson 07's scene in plain asyncio (Python 3.11, standard library only).

A parent task awaits a child coroutine that suspends three times and returns 42; then a child
that fails with EIO; then the parent is cancelled after two resumes. It prints the same event
lines as `build/lessons/07-await/demo --trace`. A "resume" is one step of the parent's task:
the driver below lets the task run exactly once per `await asyncio.sleep(0)` of its own.
"""
import asyncio
import errno

resume_no = 0  # the resume of the parent task that is running, for the trace


def event(text):
    print(f"resume {resume_no}: {text}")


def error_name(exc):
    if exc is None:
        return "none"
    if isinstance(exc, asyncio.CancelledError):
        return "ECANCELED"
    if isinstance(exc, OSError) and exc.errno == errno.EIO:
        return "EIO"
    return "other"


async def child(fail):
    error = None
    try:
        for round_no in (1, 2, 3):
            event(f"child round {round_no}")
            await asyncio.sleep(0)  # a bare yield to the loop: the task is stepped again later
        if fail:
            raise OSError(errno.EIO, "Input/output error")
        return 42
    except BaseException as exc:  # CancelledError is a BaseException
        error = exc
        raise
    finally:
        event(f"child cleanup, error {error_name(error)}")


async def parent(fail):
    error = None
    try:
        event("parent awaits the child")
        got = await child(fail)
        event(f"parent got {got}")
    except BaseException as exc:
        error = exc
        raise
    finally:
        event(f"parent cleanup, error {error_name(error)}")


async def drive(fail, cancel_after=None):
    """Steps the parent's task once per resume, as the C demo's drive() calls parent_step."""
    global resume_no
    task = asyncio.create_task(parent(fail))
    resume_no = 1
    while True:
        await asyncio.sleep(0)  # the task was queued before us: it runs one step, then we do
        if task.done():
            break
        if resume_no == cancel_after:
            accepted = task.cancel()
            print("cancel: accepted, nothing runs yet" if accepted else "cancel: refused")
        resume_no += 1
    if task.cancelled():
        event("parent cancelled")
    elif task.exception() is not None:
        event("parent failed")
    else:
        event("parent done")
    return task


async def main():
    print("scene 1: the child returns 42")
    await drive(fail=False)
    print("scene 2: the child fails with EIO")
    await drive(fail=True)
    print("scene 3: the parent is cancelled after two resumes")
    task = await drive(fail=False, cancel_after=2)
    # Task.cancel() on a finished task returns False: loopschool's -EALREADY.
    print("cancel again: accepted" if task.cancel() else "cancel again: refused, it has finished")


asyncio.run(main())
