#!/usr/bin/env python3
"""Measures `seq2seq report` on a trained model: how long the command takes,
how big the HTML file is, and how long headless Chromium takes to load and
lay it out (navigation start to the end of the load event, then a full-page
screenshot). Prints medians of N rounds. Standard library only.

    python3 Scripts/bench-report.py MODEL_DIR [ROUNDS] [--seq2seq PATH]

Needs Debian's `chromium`. Run `/work/shared/peers/wait_quiet.sh` (or
../shared/peers/wait_quiet.sh) first on a shared machine.
"""
import base64, fcntl, json, os, statistics, subprocess, sys, tempfile, time


def chromium_session(width=1280, height=1000):
    """Starts chromium with the DevTools protocol on a pipe (fd 3 in, fd 4 out)."""
    def high(fd):
        moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 20)
        os.close(fd)
        return moved
    r1, w1 = map(high, os.pipe())
    r2, w2 = map(high, os.pipe())

    def child_fds():
        os.dup2(r1, 3)
        os.dup2(w2, 4)
    profile = tempfile.mkdtemp(prefix="bench-report-")
    process = subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--hide-scrollbars",
         "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}", f"--window-size={width},{height}",
         "about:blank"], preexec_fn=child_fds, pass_fds=(3, 4),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(r1)
    os.close(w2)
    state = {"buffer": b"", "id": 0, "session": None, "events": []}

    def receive():
        while b"\0" not in state["buffer"]:
            chunk = os.read(r2, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            state["buffer"] += chunk
        end = state["buffer"].index(b"\0")
        message = json.loads(state["buffer"][:end])
        state["buffer"] = state["buffer"][end + 1:]
        return message

    def send(method, params=None, in_session=True):
        state["id"] += 1
        message = {"id": state["id"], "method": method, "params": params or {}}
        if in_session and state["session"]:
            message["sessionId"] = state["session"]
        os.write(w1, json.dumps(message).encode() + b"\0")
        while True:
            reply = receive()
            if reply.get("id") == state["id"]:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            state["events"].append(reply)

    def wait_for(method):
        while not any(e.get("method") == method for e in state["events"]):
            state["events"].append(receive())

    def close():
        try:
            send("Browser.close", in_session=False)
        except Exception:
            pass
        process.wait(timeout=10)
        os.close(w1)
        os.close(r2)
    return send, wait_for, state, close


def load_once(url):
    """(load seconds from navigation start to loadEventEnd, screenshot seconds, console errors)."""
    send, wait_for, state, close = chromium_session()
    try:
        target = send("Target.createTarget", {"url": "about:blank"}, in_session=False)
        state["session"] = send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True},
                                in_session=False)["sessionId"]
        for domain in ["Page", "Runtime", "Log"]:
            send(domain + ".enable")
        send("Page.navigate", {"url": url})
        wait_for("Page.loadEventFired")
        timing = send("Runtime.evaluate", {"returnByValue": True, "expression":
                      "(() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime })()"})
        load_ms = timing["result"]["value"]
        started = time.perf_counter()
        shot = send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                               "clip": {"x": 0, "y": 0, "width": 1280, "height": 8000, "scale": 1}})
        screenshot_s = time.perf_counter() - started
        base64.b64decode(shot["data"])
        errors = [e for e in state["events"] if e.get("method") == "Runtime.exceptionThrown"
                  or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
                  or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")]
        return load_ms / 1000, screenshot_s, len(errors)
    finally:
        close()


def main():
    args = [a for a in sys.argv[1:]]
    binary = ".build/release/seq2seq"
    if "--seq2seq" in args:
        i = args.index("--seq2seq")
        binary = args[i + 1]
        del args[i:i + 2]
    if not args:
        sys.exit(__doc__)
    model, rounds = args[0], int(args[1]) if len(args) > 1 else 5
    output = os.path.join(tempfile.mkdtemp(prefix="bench-report-"), "report.html")
    command, load, shot = [], [], []
    errors = 0
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run([binary, "report", model, "-o", output], check=True, stderr=subprocess.DEVNULL)
        command.append(time.perf_counter() - started)
        seconds, screenshot, found = load_once("file://" + os.path.abspath(output))
        load.append(seconds)
        shot.append(screenshot)
        errors += found
    size = os.path.getsize(output)
    print(f"model {model}: report {size / 1024:.0f} KB ({size} bytes)")
    print(f"seq2seq report: median {statistics.median(command):.2f} s over {rounds} runs "
          f"(min {min(command):.2f}, max {max(command):.2f})")
    print(f"chromium load (navigation start to loadEventEnd): median {statistics.median(load) * 1000:.0f} ms "
          f"(min {min(load) * 1000:.0f}, max {max(load) * 1000:.0f})")
    print(f"chromium full-page screenshot: median {statistics.median(shot) * 1000:.0f} ms; console errors: {errors}")


if __name__ == "__main__":
    main()
