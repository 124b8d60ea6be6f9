"""What the Python interop scripts (client.py for modelserve.v1, oip_client.py for the Open
Inference Protocol, conformance.py for the transport) share: loading grpc and the stubs, the test's
deterministic inputs, FP32 packing, and running checks."""

import argparse
import importlib
import json
import struct
import sys
import time


# The modelserve.v1 and health stubs client.py and conformance.py use, by the attribute they are read as.
MODELSERVE_STUBS = {
    "health": "health.v1.health_pb2", "health_grpc": "health.v1.health_pb2_grpc",
    "admin": "modelserve.v1.admin_pb2", "admin_grpc": "modelserve.v1.admin_pb2_grpc",
    "predictor": "modelserve.v1.predictor_pb2", "predictor_grpc": "modelserve.v1.predictor_pb2_grpc",
    "tensor": "modelserve.v1.tensor_pb2",
}


def load_stubs(stubs_dir, stubs, extra=None):
    """Imports grpc, the `extra` modules a script needs ({module: Debian package}, such as h2 for
    conformance.py's raw HTTP/2 client) and the generated `stubs` ({attribute: module}), or exits
    with what to install or run. Returns the namespace the clients read: pb.grpc, pb.<attribute>."""
    extra = extra or {}
    sys.path.insert(0, stubs_dir)
    try:
        grpc = importlib.import_module("grpc")
        for module in extra:
            importlib.import_module(module)
    except ImportError as error:
        packages = " ".join(["python3-grpcio", "python3-protobuf", *extra.values()])
        raise SystemExit(f"cannot import {' or '.join(['grpc', *extra])} ({error}): apt-get install -y {packages} "
                         f"and run this with /usr/bin/python3 (not {sys.executable})")
    try:
        modules = {attribute: importlib.import_module(module) for attribute, module in stubs.items()}
    except ImportError as error:
        raise SystemExit(f"cannot import the generated stubs from {stubs_dir} ({error}): run test/interop/gen_stubs.sh {stubs_dir}")
    return argparse.Namespace(grpc=grpc, **modules)


def sample_values(count, seed):
    """The test's deterministic inputs: the same LCG as sampleValues() in test/src/support/tensors.ts,
    so large inputs need not travel in the expectations file."""
    s = seed & 0xFFFFFFFF
    values = []
    for _ in range(count):
        s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
        values.append(s / 2**32)
    # Round to float32 as Float32Array.from does.
    return list(struct.unpack(f"<{count}f", struct.pack(f"<{count}f", *values)))


def pack_f32(values):
    return struct.pack(f"<{len(values)}f", *values)


def unpack_f32(data):
    if len(data) % 4:
        raise AssertionError(f"raw FP32 contents of {len(data)} bytes, not a multiple of 4")
    return list(struct.unpack(f"<{len(data) // 4}f", data))


def max_abs_diff(got, want):
    if len(got) != len(want):
        raise AssertionError(f"{len(got)} values, expected {len(want)}")
    return max((abs(a - b) for a, b in zip(got, want)), default=0.0)


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def run_check(grpc, name, body):
    """Runs one check; any failure is reported under its name: {"name", "ok", "detail", "seconds"}."""
    start = time.monotonic()
    try:
        ok, detail = True, body()
    except grpc.RpcError as error:
        ok, detail = False, f"unexpected {error.code().name}: {error.details()}"
    except Exception as error:  # noqa: BLE001 - every failure becomes a failed check
        ok, detail = False, f"{type(error).__name__}: {error}"
    return {"name": name, "ok": ok, "detail": str(detail), "seconds": round(time.monotonic() - start, 3)}


def run_checks(grpc, plan):
    """Runs (name, body) pairs in order."""
    return [run_check(grpc, name, body) for name, body in plan]


def run_client(description, expectations_from, load_stubs, make_client):
    """The command line both clients share: parse --address/--expectations/--stubs, check the
    inputs agree with the TypeScript side, run the checks, print the JSON report.
    Exit 0 when every check passed, 1 when one failed, 2 when it could not start."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--address", required=True, help="HOST:PORT of a modelserve serving the demo models")
    parser.add_argument("--expectations", required=True, help=f"JSON written by {expectations_from}")
    parser.add_argument("--stubs", required=True, help="directory gen_stubs.sh generated into")
    args = parser.parse_args()
    try:
        pb = load_stubs(args.stubs)
        with open(args.expectations) as f:
            expectations = json.load(f)
        lcg = expectations["lcg_check"]
        got = sample_values(len(lcg["values"]), lcg["seed"])
        if got != lcg["values"]:
            raise SystemExit(f"sample_values() disagrees with the TypeScript sampleValues(): {got} vs {lcg['values']}")
        checks = make_client(args.address, expectations, pb).run_all()
    except SystemExit as error:
        print(error, file=sys.stderr)
        return 2
    json.dump({"checks": checks}, sys.stdout, indent=1)
    print()
    return 0 if all(c["ok"] for c in checks) else 1

