#!/usr/bin/env python3
# sctp_probe.py: SCTP packets without the kernel's sctp module (this
# kernel has none), for dataplane_test.sh.  Raw IP sockets (protocol
# 132) carry a hand-made SCTP common header and INIT chunk with a valid
# CRC32c, so that conntrack sees a real association start and nftables'
# "th dport" reads the SCTP destination port.
#   sctp_probe.py send ADDR SPORT DPORT [COUNT]   (IPv4 or IPv6 ADDR)
#   sctp_probe.py recv SECONDS FILE               (IPv4 and IPv6; appends
#                                                  "SRC DPORT" per packet)
import os
import select
import socket
import struct
import sys
import time


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def init_packet(sport, dport):
    # INIT: type 1, flags 0, length 20; initiate tag, a_rwnd, streams, TSN.
    chunk = struct.pack("!BBHIIHHI", 1, 0, 20, 0x1B2C3D4E, 65535, 1, 1, 1)
    hdr = struct.pack("!HHII", sport, dport, 0, 0)
    crc = crc32c(hdr + chunk)
    # The checksum goes in little-endian byte order (RFC 3309).
    return struct.pack("!HHI", sport, dport, 0) + struct.pack("<I", crc) + chunk


def send(addr, sport, dport, count):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_RAW, 132)
    for _ in range(count):
        s.sendto(init_packet(sport, dport), (addr, 0))
        time.sleep(0.05)


def recv(seconds, path):
    s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, 132)
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 132)
    end = time.time() + seconds
    with open(path, "a") as out:
        while time.time() < end:
            r, _, _ = select.select([s4, s6], [], [], 0.2)
            for s in r:
                data, src = s.recvfrom(2048)
                # IPv4 raw sockets hand over the IP header, IPv6 ones not.
                off = (data[0] & 0x0F) * 4 if s is s4 else 0
                if len(data) < off + 4:
                    continue
                dport = struct.unpack("!H", data[off + 2:off + 4])[0]
                out.write("%s %d\n" % (src[0], dport))
                out.flush()


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
             int(sys.argv[5]) if len(sys.argv) > 5 else 3)
    elif sys.argv[1] == "recv":
        recv(float(sys.argv[2]), sys.argv[3])
    else:
        sys.exit("usage: sctp_probe.py send ADDR SPORT DPORT [COUNT] | recv SECONDS FILE")
