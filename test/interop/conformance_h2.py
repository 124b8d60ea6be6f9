"""A raw HTTP/2 gRPC client on python3-h2, for what grpcio will not do: send a grpc-timeout in a
unit of our choosing, send a header grpcio would re-encode, reset a stream halfway through its
request, and show which frames came back (a trailers-only answer, a GOAWAY)."""

import socket
import time
import urllib.parse

import h2.config
import h2.connection
import h2.events


def frame(message, flag=0):
    """One gRPC message: flag, big-endian length, bytes."""
    return bytes([flag]) + len(message).to_bytes(4, "big") + message


class Answer:
    """What came back on one stream."""

    def __init__(self):
        self.headers = {}
        self.trailers = {}
        self.body = b""
        self.trailers_only = False
        self.reset = None
        self.ended = False
        self.ended_at = None

    @property
    def status(self):
        value = self.trailers.get("grpc-status", self.headers.get("grpc-status"))
        return None if value is None else int(value)

    @property
    def message(self):
        return urllib.parse.unquote(self.trailers.get("grpc-message", self.headers.get("grpc-message", "")))

    def messages(self):
        out, at = [], 0
        while at + 5 <= len(self.body):
            n = int.from_bytes(self.body[at + 1:at + 5], "big")
            out.append(self.body[at + 5:at + 5 + n])
            at += 5 + n
        return out


class RawConnection:
    """One HTTP/2 connection; streams are started, written and reset explicitly, and `pump` reads."""

    def __init__(self, address, timeout=30):
        host, port = address.rsplit(":", 1)
        self.authority = address
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.answers = {}
        self.goaway = None  # the last GOAWAY received
        self.goaways = []  # (error code, last stream id) of each
        self.pings_acked = 0
        self.closed = False
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def start(self, path, extra=(), body=None, end=True):
        """Opens a stream with gRPC request headers (plus `extra`), optionally writes `body`; returns its id."""
        stream = self.conn.get_next_available_stream_id()
        headers = [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", self.authority),
                   ("content-type", "application/grpc"), ("te", "trailers"), *extra]
        self.conn.send_headers(stream, headers, end_stream=end and body is None)
        self.answers[stream] = Answer()
        if body is not None:
            self.send(stream, body, end)
        self.flush()
        return stream

    def send(self, stream, data, end):
        """Writes `data` as the server's flow-control window allows, reading its WINDOW_UPDATEs meanwhile."""
        while True:
            window = min(self.conn.local_flow_control_window(stream), self.conn.max_outbound_frame_size)
            if window <= 0 and data:
                self.pump(lambda: self.conn.local_flow_control_window(stream) > 0)
                continue
            chunk, data = data[:window], data[window:]
            self.conn.send_data(stream, chunk, end_stream=end and not data)
            self.flush()
            if not data:
                return

    def reset(self, stream):
        self.conn.reset_stream(stream, error_code=8)  # CANCEL, as a client that gives up sends
        self.flush()

    def ping(self, payload):
        self.conn.ping(payload)
        self.flush()

    def pump(self, until, timeout=30):
        """Reads frames until `until()` holds; raises TimeoutError after `timeout` seconds."""
        limit = time.monotonic() + timeout
        while not until():
            left = limit - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from the server in time")
            if self.closed:
                raise ConnectionError("the server closed the connection")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                self.closed = True
                continue
            for event in self.conn.receive_data(data):
                self.handle(event)
            self.flush()

    def handle(self, event):
        answer = self.answers.get(getattr(event, "stream_id", None))
        if isinstance(event, h2.events.ResponseReceived):
            answer.headers = dict(event.headers)
            answer.trailers_only = event.stream_ended is not None
        elif isinstance(event, h2.events.TrailersReceived):
            answer.trailers = dict(event.headers)
        elif isinstance(event, h2.events.DataReceived):
            answer.body += event.data
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            answer.ended, answer.ended_at = True, time.monotonic()
        elif isinstance(event, h2.events.StreamReset) and answer is not None:
            answer.reset, answer.ended, answer.ended_at = event.error_code, True, time.monotonic()
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = event
            self.goaways.append((int(event.error_code), event.last_stream_id))
            # h2 4.1 takes every GOAWAY for the end of the connection and refuses later frames; a
            # graceful one (NO_ERROR) still lets the streams it covers finish, which is what is tested.
            if event.error_code == 0:
                self.conn.state_machine.state = h2.connection.ConnectionState.CLIENT_OPEN
        elif isinstance(event, h2.events.PingAckReceived):
            self.pings_acked += 1

    def wait(self, stream, timeout=30):
        """The stream's answer once it ended."""
        self.pump(lambda: self.answers[stream].ended, timeout)
        return self.answers[stream]

    def call(self, path, body, extra=(), timeout=30):
        """A whole unary call: its answer."""
        return self.wait(self.start(path, extra, body), timeout)

    def close(self):
        try:
            self.conn.close_connection()
            self.flush()
        except OSError:
            pass
        self.sock.close()
