# The echo host of bench/wire-floor.ts --echo python: the same job in the fewest instructions a
# userspace process can do it (one AF_PACKET socket, blocking recv, send), to tell the machine's
# own wake-up floor from what Node.js and libpcap add to it. Run by the bench, as root, in a namespace.
import socket, sys
iface = sys.argv[1]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x6003))
s.bind((iface, 0))
own = open(f'/sys/class/net/{iface}/address').read().strip()
own_b = bytes.fromhex(own.replace(':', ''))
print('echo ready', flush=True)
while True:
    f = s.recv(2048)
    if f[6:12] == own_b:
        continue
    s.send(f[6:12] + own_b + f[12:])
