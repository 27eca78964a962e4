"""A libtorrent-rasterbar peer for the interop tests, driven by the Go test.

Usage: ltpeer.py TORRENT SAVE_DIR [HOST:PORT]

It opens a session on 127.0.0.1 with uTP as its only transport, adds
TORRENT (whose data is already in SAVE_DIR when it seeds), and, given
HOST:PORT, connects to that peer. It reports on stdout, one line each:

  PORT n         its uTP port, once it listens
  READY          the torrent is checked: seeding, or ready to download
  DONE seconds   it holds every piece (libtorrent checked each SHA-1),
                 seconds after READY; a seed says it at once
  STATS up down  total payload bytes uploaded and downloaded, at exit

and exits when its standard input closes: the test ends it that way, or
by its PID.
"""

import sys
import threading
import time

import libtorrent as lt


def settings():
    # Defaults, except what keeps the session to uTP on loopback and off
    # the Internet: no TCP, no DHT, local peer discovery, UPnP or NAT-PMP.
    return {
        "listen_interfaces": "127.0.0.1:0",
        "enable_outgoing_tcp": False,
        "enable_incoming_tcp": False,
        "enable_outgoing_utp": True,
        "enable_incoming_utp": True,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "alert_mask": lt.alert.category_t.status_notification
        | lt.alert.category_t.error_notification,
    }


def say(*words):
    print(*words, flush=True)


def main():
    torrent, save = sys.argv[1], sys.argv[2]
    peer = sys.argv[3] if len(sys.argv) > 3 else None
    ses = lt.session(settings())
    stop = threading.Event()

    def watch_stdin():
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()

    deadline = time.monotonic() + 10
    while ses.listen_port() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    say("PORT", ses.listen_port())

    h = ses.add_torrent({"ti": lt.torrent_info(torrent), "save_path": save})
    while not stop.is_set():
        st = h.status()
        if st.state in (lt.torrent_status.seeding, lt.torrent_status.downloading,
                        lt.torrent_status.finished):
            break
        time.sleep(0.01)
    ready = time.monotonic()
    say("READY")
    if peer:
        host, port = peer.rsplit(":", 1)
        h.connect_peer((host, int(port)))

    done = False
    while not stop.is_set():
        st = h.status()
        if not done and st.is_seeding:
            done = True
            say("DONE", "%.6f" % (time.monotonic() - ready))
        for a in ses.pop_alerts():
            if isinstance(a, lt.torrent_error_alert):
                say("ERROR", a.message())
        stop.wait(0.005)

    st = h.status()
    say("STATS", st.total_payload_upload, st.total_payload_download)


if __name__ == "__main__":
    main()
