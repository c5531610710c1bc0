"""asyncio_twin.py - lesson 17 (whiteboard-loop): the asyncio program the whiteboard loop mirrors.
An echo server for two clients, a ticker and a main task that joins them; a client thread plays
A and B with the demo's script. Prints the lines `demo --trace` prints. Standard library only."""
import asyncio, socket, sys, threading, time

def client(port):  # the demo's forked client process, as a thread: blocking sockets, one script
    def talk(sock, line):
        sock.sendall(line.encode())
        got = b""
        while len(got) < len(line):
            got += sock.recv(64) or sys.exit("client: the server closed early")
    def leave(sock):  # closes its side, then waits for the server to close: a fixed order
        sock.shutdown(socket.SHUT_WR); sock.recv(1); sock.close()
    a = socket.create_connection(("127.0.0.1", port), timeout=2)
    talk(a, "hello from A\n"); time.sleep(0.1)
    b = socket.create_connection(("127.0.0.1", port), timeout=2)
    talk(b, "hello from B\n"); time.sleep(0.1)
    talk(a, "bye from A\n"); leave(b); leave(a)

async def conn(s, sock, n):  # wb_wait_fd(POLLIN) + read, wb_wait_fd(POLLOUT) + write
    loop = asyncio.get_running_loop()
    while data := await loop.sock_recv(sock, 64):
        print(f"conn {n} echo: {data.decode().rstrip()}")
        s["concurrent"] = s["concurrent"] or (n == 2 and s["open"] == 2)
        await loop.sock_sendall(sock, data)
    print(f"conn {n} closed"); sock.close(); s["open"] -= 1

async def listener(s, lsock):
    conns = []
    while len(conns) < 2:
        sock, _ = await asyncio.get_running_loop().sock_accept(lsock)
        sock.setblocking(False); s["open"] += 1; print(f"conn {len(conns) + 1} open")
        conns.append(asyncio.create_task(conn(s, sock, len(conns) + 1)))  # wb_spawn
    lsock.close(); print("listener: 2 clients accepted, stops listening")
    return conns

async def ticker(s):
    while not s["done"]:
        await asyncio.sleep(0.04)  # wb_sleep: a timer in the loop's heap
        s["ticks"] += s["open"] > 0

async def main():
    lsock = socket.create_server(("127.0.0.1", 0)); lsock.setblocking(False)
    print("listening")
    threading.Thread(target=client, args=(lsock.getsockname()[1],), daemon=True).start()
    s = {"open": 0, "concurrent": False, "done": False, "ticks": 0}
    tick = asyncio.create_task(ticker(s))
    for c in await asyncio.create_task(listener(s, lsock)):  # wb_join, then each connection
        await c
    s["done"] = True; await tick
    print("main: joined the listener, both connections and the ticker")
    print("ticker ticked while clients were served:", "yes" if s["ticks"] else "no")
    print("served concurrently:", "yes" if s["concurrent"] else "no")
    return s["concurrent"] and s["ticks"] > 0

sys.exit(0 if asyncio.run(asyncio.wait_for(main(), 10)) else 1)  # bounded, as the demo
