"""asyncio_twin.py — lesson 02's scene in plain asyncio: one thread, one select() loop, an echo
server and two clients. A connects and says nothing; B sends a line and gets it back while A
sits idle; then A speaks; then both leave and the server closes.

It prints the same canonical lines as `demo --trace` (the lesson's test compares them line by
line). Standard library only, Python 3.11.

The pieces are asyncio's own counterparts of the demo's:
  - the loop is a SelectorEventLoop over selectors.SelectSelector, so it waits in select(),
    like the demo (on Linux asyncio would otherwise pick epoll);
  - the server is loop.create_server with a Protocol: data_received writes the bytes back,
    eof_received lets the transport close, connection_lost says the connection is gone (the
    demo's echo server: on_data, end of file, on_close);
  - the clients are plain non-blocking sockets watched with loop.add_reader (loop_watch_fd);
  - the scenes are loop.call_later timers, 5 ms apart (loop_timer_start).

`python3 asyncio_twin.py --ticks` prefixes each line with the loop iteration it was printed in,
counted by wrapping BaseEventLoop._run_once, the one method that is one iteration of asyncio's
loop (compute the timeout, select, move due timers to the ready queue, run the ready batch).
Those numbers are not part of the comparison: they show where asyncio spends extra iterations
(see the lesson's README, "asyncio side by side").
"""

import asyncio
import selectors
import socket
import sys

STEP = 0.005  # the pause between scenes, as in the demo
SHOW_TICKS = "--ticks" in sys.argv[1:]


class Scene:
    def __init__(self, loop):
        self.loop = loop
        self.tick = 0
        self.accepted = 0
        self.holds = 0
        self.server = None
        self.clients = {}
        self.done = False

    def say(self, line):
        print(f"[iteration {self.tick}] {line}" if SHOW_TICKS else line, flush=True)


class EchoProtocol(asyncio.Protocol):
    """One server connection: what the demo's echo server does with a stream."""

    def __init__(self, scene):
        self.scene = scene

    def connection_made(self, transport):
        self.transport = transport
        self.scene.accepted += 1
        self.scene.holds += 1
        self.scene.say(f"server: accepted a connection (holds {self.scene.holds})")

    def data_received(self, data):
        self.transport.write(data)
        self.scene.say(f"server: echoed {len(data)} bytes")

    def eof_received(self):
        return None  # a false value: the transport closes itself

    def connection_lost(self, exc):
        self.scene.holds -= 1
        self.scene.say(f"server: a connection closed (holds {self.scene.holds})")


class Client:
    def __init__(self, scene, name, line):
        self.scene, self.name, self.line = scene, name, line
        self.got = b""
        self.sock = socket.create_connection(("127.0.0.1", scene.port))
        self.sock.setblocking(False)
        scene.loop.add_reader(self.sock.fileno(), self.readable)
        scene.say(f"{name}: connected")

    def speaks(self):
        self.scene.say(f'{self.name}: sends "{self.line}"')
        self.sock.send((self.line + "\n").encode())

    def readable(self):
        try:
            data = self.sock.recv(64)
        except BlockingIOError:
            return  # readable was a hint, not a promise
        self.got += data
        if len(self.got) < len(self.line) + 1:
            return  # a part: the rest comes with a later readiness
        self.scene.say(f'{self.name}: echo arrives: "{self.got.decode().rstrip()}"')
        if self.name == "client B":
            self.scene.loop.call_later(STEP, self.scene.clients["A"].speaks)
        else:
            self.scene.say("clients: both leave")
            for c in self.scene.clients.values():
                self.scene.loop.remove_reader(c.sock.fileno())  # before close, as in the demo
                c.sock.close()
            self.scene.loop.call_later(STEP, wrap_up, self.scene)


def b_speaks(scene):
    # B speaks once both are accepted; on a very busy machine, one more step first.
    if scene.accepted < 2:
        scene.loop.call_later(STEP, b_speaks, scene)
    else:
        scene.clients["B"].speaks()


def wrap_up(scene):
    if scene.holds > 0:  # the server has not seen both ends of file yet
        scene.loop.call_later(STEP, wrap_up, scene)
        return
    scene.say("server: closes")
    scene.server.close()
    scene.done = True
    # asyncio's run_forever does not return when nothing is left to watch: it must be told.
    scene.loop.stop()


def main():
    loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
    scene = Scene(loop)
    scene.server = loop.run_until_complete(
        loop.create_server(lambda: EchoProtocol(scene), "127.0.0.1", 0))
    scene.port = scene.server.sockets[0].getsockname()[1]
    scene.say("server: listening")

    run_once = loop._run_once  # one iteration of the loop; counted from here on

    def counted_run_once():
        scene.tick += 1
        run_once()

    loop._run_once = counted_run_once
    scene.clients["A"] = Client(scene, "client A", "A speaks at last")
    scene.clients["B"] = Client(scene, "client B", "hello from B")
    loop.call_later(STEP, b_speaks, scene)
    loop.run_forever()
    loop.close()
    return 0 if scene.done else 1


if __name__ == "__main__":
    sys.exit(main())
