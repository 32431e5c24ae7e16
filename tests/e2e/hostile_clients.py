# hostile_clients.py SOCKET NDRIBBLE SECONDS LIMIT: hostile clients of
# bulkheadd's control socket, for SECONDS.  NDRIBBLE connections send a
# request one byte a second (each replaced when the daemon drops it),
# idle ones fill every other slot and a few more (replaced when dropped
# or refused), and one asks for the plan and reads its answer only after
# 5 s (within the daemon's 10 s answer deadline).  Prints what it saw:
#   dribblers-dropped N refused-seen N big-answer-bytes N big-answer-ok B
import json, socket, sys, time
path, ndribble, secs, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.setblocking(False)
    return s
refused = 0
def gone(s):
    """None while open; 'refused' or 'closed' once the daemon let go."""
    global refused
    try:
        d = s.recv(65536)
    except BlockingIOError:
        return None
    except OSError:
        return 'closed'
    if b'too many control connections' in d:
        refused += 1
        return 'refused'
    return 'closed' if d == b'' else None
big = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
big.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
big.connect(path)
big.sendall(b'{"cmd":"plan"}\n')
dribblers = [conn() for _ in range(ndribble)]
idle = []
t0 = time.time(); dropped = 0; tick = 0
req = b'{"cmd":"status"}'
ans = None
def read_big():
    big.setblocking(True)
    big.settimeout(10)
    got = b''
    while True:
        d = big.recv(1 << 20)
        if not d: break
        got += d
    return got
# Every 0.1 s: replace what the daemon let go (so that slots freed by its
# deadlines are taken again at once); every second: one more byte each.
while time.time() - t0 < secs:
    if ans is None and time.time() - t0 >= 5:
        ans = read_big()
    for i, s in enumerate(dribblers):
        g = gone(s)
        if g:
            s.close(); dropped += g == 'closed'; dribblers[i] = conn()
        elif tick % 10 == 0:
            try: dribblers[i].send(req[tick // 10 % len(req):][:1])
            except OSError: pass
    for s in list(idle):
        if gone(s):
            s.close(); idle.remove(s)
    while len(idle) + ndribble + 1 < limit + 4:   # always a few more than the limit
        idle.append(conn())
    tick += 1
    time.sleep(0.1)
if ans is None:
    ans = read_big()
try:
    ok = json.loads(ans).get('ok')
except ValueError:
    ok = 'unparsable'
print("dribblers-dropped %d refused-seen %d big-answer-bytes %d big-answer-ok %s" % (dropped, refused, len(ans), ok))
