"""asyncio_twin.py - lesson 13's trace scene in plain asyncio (standard library only): a minimal
RESP client, and a pool bounded by asyncio.Semaphore, against the same server as
`demo --trace --port PORT`, printing the same canonical lines.

    python3 asyncio_twin.py PORT      (a server must listen there: `demo --serve PORT`)
"""
import asyncio
import sys


class RespError(Exception):
    """An error reply (-ERR ...): the server's answer, not a broken connection."""


def encode(*args):
    """A command as clients send it: an array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


async def read_reply(reader):
    """One RESP2 value; readline and readexactly do the buffering the C parser does by hand."""
    line = await reader.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionResetError("the server closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        return RespError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        return None if n < 0 else (await reader.readexactly(n + 2))[:-2].decode()
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [await read_reply(reader) for _ in range(n)]
    raise ValueError(f"not RESP: {line!r}")


class Connection:
    def __init__(self, number, reader, writer):
        self.id, self.reader, self.writer = number, reader, writer
        self.in_flight = False  # a command sent, its reply not read yet


class Pool:
    """At most `size` connections, opened lazily; Semaphore waiters are served in FIFO order."""

    def __init__(self, port, size):
        self.port, self.permits, self.idle = port, asyncio.Semaphore(size), []
        self.in_flight = self.peak = self.opened = self.replaced = 0

    async def acquire(self):
        await self.permits.acquire()
        try:
            while self.idle:
                conn = self.idle.pop()  # the most recently used first
                if not conn.writer.is_closing() and not conn.reader.at_eof():
                    break
                conn.writer.close()  # the server closed it: replace it
                self.replaced += 1
            else:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                self.opened += 1
                conn = Connection(self.opened, reader, writer)
        except BaseException:
            self.permits.release()  # cancelled or failed while opening: the permit goes back
            raise
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        return conn

    def release(self, conn):
        self.in_flight -= 1
        if conn.in_flight or conn.writer.is_closing():
            conn.writer.close()  # its reply would reach the next user: never reuse it
            self.replaced += 1
        else:
            self.idle.append(conn)
        self.permits.release()

    async def execute(self, *args, note=None):
        conn = await self.acquire()
        if note is not None:
            note["conn"] = conn.id
        try:
            conn.in_flight = True
            conn.writer.write(encode(*args))
            reply = await read_reply(conn.reader)  # a cancel lands here, reply still in flight
            conn.in_flight = False
            return reply
        finally:
            self.release(conn)

    def close(self):
        for conn in self.idle:
            conn.writer.close()
        self.idle.clear()


async def through_pool(port, n, tasks, queries):
    pool = Pool(port, n)

    async def client():
        replies = [await pool.execute("DEBUG", "SLEEP", "0.01") for _ in range(queries)]
        return sum(reply == "OK" for reply in replies)

    ok = sum(await asyncio.gather(*(client() for _ in range(tasks))))
    print(f"pool N={n}: {tasks * queries} queries, {ok} ok, peak in flight {pool.peak}, "
          f"connections opened {pool.opened}")
    pool.close()
    return ok == tasks * queries and pool.peak == n and pool.opened == n


async def cancelled_mid_query(port):
    pool = Pool(port, 1)
    slow_note, next_note = {}, {}
    slow = asyncio.create_task(pool.execute("DEBUG", "SLEEP", "0.05", note=slow_note))

    async def next_query():
        await asyncio.sleep(0.001)
        return await pool.execute("PING", "mine", note=next_note)

    nxt = asyncio.create_task(next_query())
    await asyncio.sleep(0.010)
    print(f"cancel slow: connection {slow_note['conn']} has its reply in flight")
    slow.cancel()
    mine = await nxt
    print(f"pool: connection {slow_note['conn']} discarded, replaced {pool.replaced}")
    print(f"next: PING mine -> {mine} on connection {next_note['conn']}")
    pool.close()
    return slow.cancelled() and mine == "mine" and next_note["conn"] != slow_note["conn"]


async def main(port):
    ok = await through_pool(port, 1, 10, 2)
    ok &= await through_pool(port, 4, 10, 2)
    ok &= await cancelled_mid_query(port)
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: asyncio_twin.py PORT (a server must listen there: demo --serve PORT)")
    sys.exit(asyncio.run(main(int(sys.argv[1]))))
