"""Lesson 12's --trace scene in plain asyncio: an echo server from asyncio.start_server, three
clients (the silent one first), an idle timeout of 200 ms, and a graceful stop. It prints the
same canonical lines as `demo --trace`; the lesson's test compares them line by line."""
import asyncio

IDLE_S = 0.2


class Counts:
    def __init__(self):
        self.open = 0
        self.served = 0
        self.echoed = 0
        self.idle = 0
        self.writers = set()


async def handle(counts, reader, writer):
    counts.open += 1
    counts.served += 1
    counts.writers.add(writer)
    try:
        while True:
            try:
                data = await asyncio.wait_for(reader.read(4096), IDLE_S)
            except asyncio.TimeoutError:
                counts.idle += 1
                break
            if not data:
                break
            writer.write(data)
            await writer.drain()  # backpressure: wait while the transport's buffer is full
            counts.echoed += len(data)
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        counts.open -= 1
        counts.writers.discard(writer)
        writer.close()


async def round_trip(n, reader, writer):
    msg = f"hello from {n}".encode()
    writer.write(msg)
    await writer.drain()
    got = await reader.readexactly(len(msg))
    assert got == msg
    print(f'client {n}: sent "{msg.decode()}", got it back')


async def main():
    counts = Counts()
    server = await asyncio.start_server(
        lambda r, w: handle(counts, r, w), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print("server: listening, idle timeout 200 ms")
    quiet_r, quiet_w = await asyncio.open_connection("127.0.0.1", port)
    print("client 3: connected")
    while counts.open < 1:
        await asyncio.sleep(0)
    await asyncio.sleep(0.1)
    one = await asyncio.open_connection("127.0.0.1", port)
    print("client 1: connected")
    two = await asyncio.open_connection("127.0.0.1", port)
    print("client 2: connected")
    await round_trip(1, *one)
    await round_trip(2, *two)
    print(f"server: {counts.open} connections open")
    assert await quiet_r.read() == b""
    print("client 3: closed by the server after 200 ms of silence")
    while counts.open > 2:
        await asyncio.sleep(0)
    print(f"server: {counts.open} connections open, {counts.idle} closed as idle")
    print("server: stopping: no new connections, pending output drains")
    server.close()  # stops accepting; the connections stay until we close them
    for w in list(counts.writers):
        await w.drain()
        w.close()
    for n, (r, w) in ((1, one), (2, two)):
        assert await r.read() == b""
        print(f"client {n}: end of stream")
    while counts.open:
        await asyncio.sleep(0)
    print(f"server: served {counts.served} connections, echoed {counts.echoed} bytes, "
          f"closed {counts.idle} idle")
    for w in (quiet_w, one[1], two[1]):
        w.close()


asyncio.run(main())
