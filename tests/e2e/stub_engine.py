# stub_engine.py SOCKET: a stand-in for the Docker engine's API, the parts
# bulkheadd reads (container list and inspect, networks, the event
# stream), over a unix socket, for tests that run without Docker in a
# private network namespace (hardening_test.sh).  The test makes the
# containers (a netns and a veth on bridge brstub0) and tells the stub:
#   POST /stub/add {"id","name","labels","ip","mac","sandbox"}
#   POST /stub/del {"id"}
# each sends the events Docker would (create+start, die+destroy).
#   POST /stub/load [{"id",...}, ...]
# adds many at once without events, as if they ran before the daemon
# started (tools/bench/rss.sh: thousands of synthetic containers).
import json, os, socket, sys, threading, time, socketserver, http.server
from urllib.parse import urlparse
path = sys.argv[1]
NET = "f" * 52 + "000000000001"
lock = threading.Lock()
ctrs = {}
streams = []
def inspect(c):
    return {"Id": c["id"], "Name": "/" + c["name"], "Config": {"Labels": c["labels"]},
            "State": {"Status": "running", "Running": True, "Pid": c.get("pid", 1)},
            "HostConfig": {"NetworkMode": "bridge"},
            "NetworkSettings": {"SandboxKey": c["sandbox"], "Networks": {"bridge": {
                "NetworkID": NET, "IPAddress": c["ip"], "IPPrefixLen": 24, "MacAddress": c["mac"],
                "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "Gateway": "10.99.0.1"}}}}
def listed(c):
    return {"Id": c["id"], "Names": ["/" + c["name"]], "Labels": c["labels"], "State": "running",
            "HostConfig": {"NetworkMode": "bridge"},
            "NetworkSettings": {"Networks": {"bridge": {"NetworkID": NET, "IPAddress": c["ip"],
                "MacAddress": c["mac"]}}}}
NETDOC = {"Name": "bridge", "Id": NET, "Driver": "bridge",
          "Options": {"com.docker.network.bridge.name": "brstub0"}}
def event(action, c):
    ev = {"status": action, "id": c["id"], "Type": "container", "Action": action,
          "Actor": {"ID": c["id"], "Attributes": dict(c["labels"], name=c["name"])},
          "scope": "local", "time": int(time.time()), "timeNano": time.time_ns()}
    data = (json.dumps(ev) + "\n").encode()
    with lock:
        for w in list(streams):
            try:
                w.write(b"%x\r\n%s\r\n" % (len(data), data)); w.flush()
            except OSError:
                streams.remove(w)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def send(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def do_GET(self):
        p = urlparse(self.path).path
        if p.startswith("/v1."): p = p[p.index("/", 1):]
        if p == "/containers/json":
            with lock: return self.send(200, [listed(c) for c in ctrs.values()])
        if p.startswith("/containers/") and p.endswith("/json"):
            cid = p.split("/")[2]
            with lock:
                c = next((c for c in ctrs.values() if c["id"].startswith(cid) or c["name"] == cid), None)
            return self.send(200, inspect(c)) if c else self.send(404, {"message": "No such container: " + cid})
        if p.startswith("/networks/"):
            return self.send(200, NETDOC)
        if p == "/networks":
            return self.send(200, [NETDOC])
        if p == "/events":
            self.send_response(200); self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked"); self.end_headers(); self.wfile.flush()
            with lock: streams.append(self.wfile)
            while True:
                time.sleep(3600)
        if p == "/_ping":
            b = b"OK"; self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b); return
        self.send(404, {"message": "page not found"})
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(n) or b"{}")
        if self.path == "/stub/add":
            with lock: ctrs[body["id"]] = body
            event("create", body); event("start", body)
        elif self.path == "/stub/load":
            with lock: ctrs.update((c["id"], c) for c in body)
        elif self.path == "/stub/del":
            with lock: c = ctrs.pop(body["id"], None)
            if c: event("die", c); event("destroy", c)
        self.send(200, {"ok": True})
class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    def get_request(self):
        r, _ = self.socket.accept(); return r, ("local", 0)
try: os.unlink(path)
except FileNotFoundError: pass
S(path, H).serve_forever()
