"""CPython's own socketserver, as the benchmark's point of comparison.

Usage: python3.11 echo.py threading|forking QUEUE_SIZE

Serves a one-line echo with StreamRequestHandler on 127.0.0.1 and a free
port, which it prints as the first line of stdout. It stops cleanly
(shutdown, then server_close, which joins request threads or waits for
request children) when stdin reaches EOF; the harness closes stdin to stop
it, and falls back to signals only if that does not work.

Nothing is tuned beyond request_queue_size: the default of 5 would measure
the listen backlog rather than the server, and the reference gets the same
128.
"""

import socketserver
import sys
import threading


class EchoHandler(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline())


def main():
    mode, queue_size = sys.argv[1], int(sys.argv[2])
    base = {
        "threading": socketserver.ThreadingTCPServer,
        "forking": socketserver.ForkingTCPServer,
    }[mode]

    class Server(base):
        request_queue_size = queue_size

    server = Server(("127.0.0.1", 0), EchoHandler)
    print(server.server_address[1], flush=True)
    loop = threading.Thread(target=server.serve_forever, name="serve_forever")
    loop.start()
    try:
        sys.stdin.buffer.read()
    finally:
        server.shutdown()
        loop.join()
        server.server_close()


if __name__ == "__main__":
    main()
