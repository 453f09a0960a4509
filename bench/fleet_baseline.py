"""The Python baseline of `deno task bench fleet`: what a seed-like exporter does with the same
cars. It reads each car's vehicle_data from bench/fleet_sim_server.ts over HTTP, as ev-observer
does, sets one prometheus_client gauge per number or flag of three state sections, and
serves them on /metrics (gzipped when asked). It speaks the bench's child protocol: a first
line {"url": ...}, then {"rss": bytes, "polls": n, "cpu": ms} every 200 ms; stdin lines gc/lag/otlp get
null answers (no such thing here).

    /usr/bin/python3 bench/fleet_baseline.py SIM_URL PORT
"""
import json, os, sys, threading, time, urllib.request
from prometheus_client import Gauge, start_http_server

# 79 numbers and flags per car: about the 91 series ev-observer exposes per car.
SECTIONS = ("charge_state", "climate_state", "drive_state")
gauges, polls = {}, 0

def get(url, token=None):
    headers = {"authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
        return json.load(r)

def poll(sim, cars):
    global polls
    while True:
        for car in cars:
            try:
                data = get(f"{sim}api/1/vehicles/{car['id']}/vehicle_data", car["token"])["response"]
            except Exception as e:  # a failed read is skipped, as a scrape must go on
                print(f"poll failed: {e}", file=sys.stderr)
                continue
            for section in SECTIONS:
                for field, value in (data.get(section) or {}).items():
                    if not isinstance(value, (bool, int, float)):
                        continue
                    name = f"tesla_{section}_{field}"
                    if name not in gauges:
                        gauges[name] = Gauge(name, f"{section}.{field}", ["vin"])
                    gauges[name].labels(vin=car["vin"]).set(float(value))
            polls += 1
        time.sleep(1)

def report():
    while True:
        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        cpu = (os.times().user + os.times().system) * 1000
        print(json.dumps({"rss": rss, "polls": polls, "cpu": cpu}), flush=True)
        time.sleep(0.2)

sim, port = sys.argv[1], int(sys.argv[2])
start_http_server(port, addr="127.0.0.1")
threading.Thread(target=poll, args=(sim, get(f"{sim}cars")), daemon=True).start()
print(json.dumps({"url": f"http://127.0.0.1:{port}/"}), flush=True)
threading.Thread(target=report, daemon=True).start()
for line in sys.stdin:
    for word in ("gc", "lag", "otlp"):
        if word in line:
            print(json.dumps({word: None}), flush=True)
