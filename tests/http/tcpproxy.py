"""A loopback TCP proxy for the black-box tests: puts itself between otpd
and a server (Redis) and can freeze or cut the connections, to play a
server that hangs or vanishes without stopping the real one (no SIGSTOP).

    proxy = TcpProxy().start(0, rs.port)   # listen_port 0: a free one
    proxy.freeze()  # stop forwarding both ways; sockets stay open and new
                    # connections are accepted but never forwarded
    proxy.thaw()    # forward again (what was sent meanwhile is then sent)
    proxy.cut()     # close every connection; new ones are closed at once
                    # (reset), until thaw()
    proxy.stop()

One thread accepts; each connection has one thread pumping both ways.
Loopback only.
"""

import select
import socket
import struct
import threading
import time

OPEN, FROZEN, CUT = "open", "frozen", "cut"
TICK = 0.02  # how often a pump looks at the mode


def _reset(sock):
    """Closes with an RST (SO_LINGER 0): the peer sees the connection die,
    not a polite end of stream."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def hang_up(sock):
    """Shuts both ways, then closes: a thread blocked reading the socket
    wakes, and the peer sees an end of stream. Already shut or reset: it
    is closed all the same."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def accept_each(listener, stopped, handle):
    """Accepts on `listener` until stopped() or the listener is closed,
    handing each connection to handle(sock)."""
    while not stopped():
        try:
            sock, _ = listener.accept()
        except OSError:
            return
        handle(sock)


class TcpProxy:
    def __init__(self):
        self.mode = OPEN
        self.port = None
        self._lock = threading.Lock()
        self._conns = []  # (client, upstream) pairs still open
        self._listener = None
        self._target = None
        self._stopped = False

    def start(self, listen_port, target_port):
        """Listens on 127.0.0.1:listen_port (0: a free port, then in
        self.port) and forwards to 127.0.0.1:target_port."""
        self._target = target_port
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", listen_port))
        ls.listen(64)
        self._listener = ls
        self.port = ls.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def freeze(self):
        self.mode = FROZEN

    def thaw(self):
        self.mode = OPEN

    def cut(self):
        self.mode = CUT
        with self._lock:
            conns, self._conns = self._conns, []
        for pair in conns:
            for s in pair:
                _reset(s)

    def stop(self):
        self._stopped = True
        self.cut()
        try:
            self._listener.close()
        except OSError:
            pass

    def _accept(self):
        accept_each(self._listener, lambda: self._stopped, self._connect)

    def _connect(self, client):
        if self.mode == CUT:
            _reset(client)
            return
        try:
            up = socket.create_connection(("127.0.0.1", self._target),
                                          timeout=2)
        except OSError:
            _reset(client)
            return
        with self._lock:
            self._conns.append((client, up))
        threading.Thread(target=self._pump, args=(client, up),
                         daemon=True).start()

    def _pump(self, client, up):
        peer = {client: up, up: client}
        try:
            while True:
                if self.mode == CUT or self._stopped:
                    return
                if self.mode == FROZEN:
                    time.sleep(TICK)
                    continue
                ready, _, _ = select.select([client, up], [], [], TICK)
                for s in ready:
                    if self.mode != OPEN:
                        break  # frozen or cut since select: keep it
                    data = s.recv(65536)
                    if not data:
                        return
                    peer[s].sendall(data)
        except (OSError, ValueError):
            return  # closed by cut() or by a peer
        finally:
            with self._lock:
                if (client, up) in self._conns:
                    self._conns.remove((client, up))
            for s in (client, up):
                try:
                    s.close()
                except OSError:
                    pass
