#!/usr/bin/python3
"""
Runs the Python reference application (FreeV2G, Application.py) unchanged, with two small
stand-ins installed first, so it needs nothing beyond Debian's python3-scapy:

- `pylibpcap.base.Sniff` (the reference imports it on Linux to receive frames; the PyPI package
  python-libpcap is not available here): replaced by a raw AF_PACKET socket bound to ethertype
  0x6003 that keeps frames whose source is the module's MAC, exactly what the reference's BPF
  filter "ether proto 0x6003 and ether src <mac>" asks for.
- `input()` (the EVSE asks the user to authorize the car; with no terminal it would raise
  EOFError): answers FV2G_AUTHORIZE (default "yes") and echoes the answer.

Usage: reference-wrapper.py <FreeV2G checkout> <Application.py arguments...>
No code of the reference is copied here; it is run from its own checkout.
"""
import builtins
import os
import runpy
import socket
import sys
import time
import types

ETH_P_HCI = 0x6003


class Sniff:
    """Stand-in for pylibpcap.base.Sniff: capture() yields (length, timestamp, frame bytes)."""

    def __init__(self, iface, filters="", promisc=1, **_ignored):
        self.iface = iface
        words = filters.split()
        self.src = None
        if "src" in words:
            self.src = bytes.fromhex(words[words.index("src") + 1].replace(":", ""))
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_HCI))
        self.sock.bind((iface, ETH_P_HCI))

    def capture(self):
        while True:
            frame = self.sock.recv(65535)
            if len(frame) < 14 or int.from_bytes(frame[12:14], "big") != ETH_P_HCI:
                continue
            if self.src is not None and frame[6:12] != self.src:
                continue
            yield len(frame), time.time(), frame


def install_pylibpcap_stand_in():
    pkg = types.ModuleType("pylibpcap")
    base = types.ModuleType("pylibpcap.base")
    base.Sniff = Sniff
    pkg.base = base
    sys.modules["pylibpcap"] = pkg
    sys.modules["pylibpcap.base"] = base


def install_input_answer():
    answer = os.environ.get("FV2G_AUTHORIZE", "yes")

    def answering_input(prompt=""):
        print(f"{prompt}{answer}  [answered by reference-wrapper.py]", flush=True)
        return answer

    builtins.input = answering_input


class Timestamped:
    """Prefixes every output line with the seconds since start (FV2G_TIMESTAMPS=1)."""

    def __init__(self, stream):
        self.stream = stream
        self.start = time.monotonic()
        self.at_line_start = True

    def write(self, text):
        out = []
        for part in text.splitlines(keepends=True):
            if self.at_line_start:
                out.append("[{:8.3f}] ".format(time.monotonic() - self.start))
            out.append(part)
            self.at_line_start = part.endswith("\n")
        self.stream.write("".join(out))
        self.stream.flush()
        return len(text)

    def flush(self):
        self.stream.flush()

    def __getattr__(self, name):
        return getattr(self.stream, name)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: reference-wrapper.py <FreeV2G checkout> <Application.py args...>")
    checkout = os.path.abspath(sys.argv[1])
    install_pylibpcap_stand_in()
    install_input_answer()
    # Unbuffered output so a supervising script sees every line as it happens.
    sys.stdout.reconfigure(line_buffering=True)
    if os.environ.get("FV2G_TIMESTAMPS") == "1":
        sys.stdout = Timestamped(sys.stdout)
    os.chdir(checkout)
    sys.path.insert(0, checkout)
    sys.argv = [os.path.join(checkout, "Application.py")] + sys.argv[2:]
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
