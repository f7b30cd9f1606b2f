#!/usr/bin/env python3
"""Screenshots of the console for the README, from the real binary in a real terminal.

    python3 scripts/screenshots.py                      # build release, rewrite assets/screenshots/
    python3 scripts/screenshots.py --bin B --out DIR    # use binary B, write into DIR (the CI check)

Writes a fresh demo (`timber demo --no-console`) into a temporary directory, opens the
console on it as `security_admin` in a detached tmux session of its own (120x36), visits the
five screens (1..5), starts a rotation of all models from the Keys screen (4, R, enter,
enter, `all`, enter) held to a few rows per second so that it is caught part-way, and
captures each screen with `tmux capture-pane -e -p`. The captured ANSI text (24-bit colours
of the theme, bold, dim, reverse) becomes an SVG: one <text> per run of equally styled
characters, each at its own column, on a rectangle per background colour. No fonts or
rasteriser needed; GitHub shows SVG in the README.

Files: 1-overview.svg, 2-data.svg, 3-audit.svg, 4-keys.svg, 5-health.svg, rotation.svg.

Keys never appear on the console's screens (fingerprints only); the script checks it anyway:
it fails, printing no key, if any value of the demo's `.env` key variables is on a capture.
Only the Python standard library and tmux are needed.
"""

import argparse
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata

WIDTH, HEIGHT = 120, 36
ROWS = 600  # rows per main demo model: enough for a rotation to be caught part-way
RATE = 40  # ROTATION_MAX_ROWS_PER_SECOND for the screenshot's rotation
WAIT = 60.0  # seconds any one screen may take to appear (a loaded machine)

# Dark theme (themes/dark.yaml): the terminal's default colours behind the console.
DEFAULT_FG = "#c0caf5"
DEFAULT_BG = "#1a1b26"
CELL_W, CELL_H, FONT_SIZE, PAD = 8.4, 18, 14, 12
FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', monospace"

# The 16 basic colours, for SGR 30-37/90-97 and palette indices 0-15.
BASIC = [
    "#15161e", "#f7768e", "#9ece6a", "#e0af68", "#7aa2f7", "#bb9af7", "#7dcfff", "#a9b1d6",
    "#414868", "#f7768e", "#9ece6a", "#e0af68", "#7aa2f7", "#bb9af7", "#7dcfff", "#c0caf5",
]


def palette(n):
    """xterm 256-colour palette index to #rrggbb."""
    if n < 16:
        return BASIC[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return "#%02x%02x%02x" % (v, v, v)


class Style:
    __slots__ = ("fg", "bg", "bold", "dim", "italic", "underline", "reverse")

    def __init__(self):
        self.fg = self.bg = None
        self.bold = self.dim = self.italic = self.underline = self.reverse = False

    def key(self):
        return tuple(getattr(self, s) for s in self.__slots__)

    def copy(self):
        c = Style()
        for s in self.__slots__:
            setattr(c, s, getattr(self, s))
        return c


def apply_sgr(style, params):
    """Applies one SGR sequence's parameters (`1;38;2;r;g;b`) to `style`."""
    ps = [int(p) if p else 0 for p in params.split(";")] if params else [0]
    i = 0
    while i < len(ps):
        p = ps[i]
        if p == 0:
            style.__init__()
        elif p == 1:
            style.bold = True
        elif p == 2:
            style.dim = True
        elif p == 3:
            style.italic = True
        elif p == 4:
            style.underline = True
        elif p == 7:
            style.reverse = True
        elif p == 22:
            style.bold = style.dim = False
        elif p == 23:
            style.italic = False
        elif p == 24:
            style.underline = False
        elif p == 27:
            style.reverse = False
        elif 30 <= p <= 37:
            style.fg = BASIC[p - 30]
        elif 90 <= p <= 97:
            style.fg = BASIC[p - 90 + 8]
        elif 40 <= p <= 47:
            style.bg = BASIC[p - 40]
        elif 100 <= p <= 107:
            style.bg = BASIC[p - 100 + 8]
        elif p == 39:
            style.fg = None
        elif p == 49:
            style.bg = None
        elif p in (38, 48) and i + 1 < len(ps):
            colour = None
            if ps[i + 1] == 5 and i + 2 < len(ps):
                colour = palette(ps[i + 2])
                i += 2
            elif ps[i + 1] == 2 and i + 4 < len(ps):
                colour = "#%02x%02x%02x" % tuple(ps[i + 2 : i + 5])
                i += 4
            if p == 38:
                style.fg = colour
            else:
                style.bg = colour
        i += 1


CSI = re.compile(r"\x1b\[([0-9;:]*)([A-Za-z])|\x1b[()][0-9A-Za-z]|\x1b.")


def cell_width(ch):
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def parse(ansi):
    """ANSI text (capture-pane -e) to rows of runs: (column, text, Style, cells)."""
    rows = []
    style = Style()
    for line in ansi.split("\n")[:HEIGHT]:
        runs, col, pos = [], 0, 0
        cur_text, cur_col, cur_style, cur_cells = "", 0, None, 0

        def flush():
            if cur_text:
                runs.append((cur_col, cur_text, cur_style, cur_cells))

        while pos < len(line):
            m = CSI.match(line, pos)
            if m:
                if m.group(2) == "m":
                    apply_sgr(style, m.group(1).replace(":", ";"))
                pos = m.end()
                continue
            ch = line[pos]
            pos += 1
            if ch < " ":
                continue
            w = cell_width(ch)
            if cur_style is None or cur_style.key() != style.key():
                flush()
                cur_text, cur_col, cur_style, cur_cells = "", col, style.copy(), 0
            cur_text += ch
            cur_cells += w
            col += w
        flush()
        rows.append(runs)
    return rows


def svg(ansi, title):
    """The SVG of one capture: background rectangles, then one <text> per styled run."""
    width = PAD * 2 + WIDTH * CELL_W
    height = PAD * 2 + HEIGHT * CELL_H
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g"'
        ' role="img" aria-label="%s">' % (width, height, width, height, html.escape(title)),
        "<title>%s</title>" % html.escape(title),
        '<rect width="100%%" height="100%%" rx="6" fill="%s"/>' % DEFAULT_BG,
        '<g font-family="%s" font-size="%d" xml:space="preserve">' % (html.escape(FONT), FONT_SIZE),
    ]
    texts = []
    for r, runs in enumerate(parse(ansi)):
        y = PAD + r * CELL_H
        for col, text, st, cells in runs:
            fg, bg = st.fg or DEFAULT_FG, st.bg
            if st.reverse:
                fg, bg = (st.bg or DEFAULT_BG), (st.fg or DEFAULT_FG)
            x = PAD + col * CELL_W
            if bg and bg != DEFAULT_BG:
                out.append(
                    '<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>'
                    % (x, y, cells * CELL_W + 0.5, CELL_H, bg)
                )
            if not text.strip():
                continue
            # Trailing blanks draw nothing; without them textLength keeps the glyphs' width.
            stripped = text.rstrip(" ")
            cells -= len(text) - len(stripped)
            text = stripped
            attrs = ['x="%.1f"' % x, 'y="%.1f"' % (y + CELL_H * 0.75), 'fill="%s"' % fg]
            if len(text) > 1:
                attrs.append('textLength="%.1f" lengthAdjust="spacingAndGlyphs"' % (cells * CELL_W))
            if st.bold:
                attrs.append('font-weight="bold"')
            if st.dim:
                attrs.append('opacity="0.6"')
            if st.italic:
                attrs.append('font-style="italic"')
            if st.underline:
                attrs.append('text-decoration="underline"')
            texts.append("<text %s>%s</text>" % (" ".join(attrs), html.escape(text, quote=False)))
    out.extend(texts)
    out.append("</g></svg>\n")
    return "\n".join(out)


# A panel still loading ("loading…", "loading census…"): the screenshot waits for its data.
LOADING = re.compile(r"\bloading\b[^\n]*…")


class Tmux:
    """A tmux server of the script's own (its own socket), one session, killed at the end."""

    def __init__(self, env):
        self.socket = "timber-shots-%d" % os.getpid()
        self.env = env

    def run(self, *args, check=True):
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            env=self.env,
            check=check,
            capture_output=True,
            text=True,
        )

    def keys(self, *keys):
        self.run("send-keys", "-t", "shots", *keys)

    def text(self, text):
        self.run("send-keys", "-t", "shots", "-l", text)

    def screen(self):
        """What the pane shows, with its SGR escapes (colours, bold, ...)."""
        return self.run("capture-pane", "-t", "shots", "-p", "-e").stdout

    def wait(self, what, ready):
        """Waits until `ready(text)` holds, no panel is loading, and two captures 0.3 s apart
        are equal (the console draws asynchronously); returns that capture, ANSI escapes
        included."""
        deadline = time.monotonic() + WAIT
        while True:
            ansi = self.screen()
            text = CSI.sub("", ansi)
            if ready(text) and not LOADING.search(text):
                time.sleep(0.3)
                if self.screen() == ansi:
                    return ansi
            if time.monotonic() > deadline:
                sys.exit("screenshots: %s never appeared (or never settled); the screen:\n%s" % (what, text))
            time.sleep(0.1)

    def kill(self):
        self.run("kill-server", check=False)


def key_values(env_file):
    """Values of the demo's key variables (never printed), to check no capture shows one."""
    values = []
    with open(env_file) as f:
        for line in f:
            name, sep, value = line.strip().partition("=")
            if sep and "KEY" in name.upper() and len(value.strip().strip("'\"")) >= 16:
                values.append(value.strip().strip("'\""))
    return values


def rotation_part_way(screen):
    """A job gauge `N/M` with a fifth to half of it done, and the rate limit shown."""
    if "limited to" not in screen:
        return False
    for n, m in re.findall(r"\b(\d+)/(\d+) handled", screen):
        if int(m) // 5 <= int(n) <= int(m) // 2:
            return True
    return False


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--bin", help="the timber binary (default: cargo build --release, then target/release/timber)")
    ap.add_argument("--out", default=os.path.join(repo, "assets", "screenshots"), help="output directory")
    args = ap.parse_args()

    if shutil.which("tmux") is None:
        sys.exit("screenshots: tmux is not installed; install tmux to make the screenshots")
    binary = args.bin
    if binary is None:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=repo, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(repo, "target"))
        binary = os.path.join(target, "release", "timber")
    binary = os.path.abspath(binary)
    os.makedirs(args.out, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="timber-shots-") as tmp:
        demo = os.path.join(tmp, "timber-demo")
        # A clean environment: an exported DATABASE_URL, key or theme must not change the pictures.
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": tmp,
            "TERM": "xterm-256color",
            "COLORTERM": "truecolor",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }
        made = subprocess.run(
            [binary, "demo", "--no-console", "--dir", demo, "--rows", str(ROWS)],
            env=env, capture_output=True, text=True,
        )
        if made.returncode != 0:
            sys.exit("screenshots: timber demo failed:\n" + made.stderr)
        with open(os.path.join(demo, ".env"), "a") as f:
            f.write("ROTATION_MAX_ROWS_PER_SECOND=%d\n" % RATE)
        keys = key_values(os.path.join(demo, ".env"))

        tmux = Tmux(env)
        try:
            tmux.run(
                "new-session", "-d", "-s", "shots", "-x", str(WIDTH), "-y", str(HEIGHT), "-c", demo,
                "exec '%s' --role security_admin --user alice console" % binary.replace("'", "'\\''"),
            )
            shots = {}
            shots["1-overview"] = tmux.wait("the overview", lambda s: "Encryption coverage" in s)
            tmux.keys("2")
            tmux.wait("the data screen's models", lambda s: "Models (enter opens)" in s)
            # UserProfile is the fifth model: its rows, masked for the role.
            tmux.keys("j", "j", "j", "j", "Enter")
            shots["2-data"] = tmux.wait("UserProfile's rows", lambda s: "UserProfile" in s and "@" in s)
            tmux.keys("3")
            shots["3-audit"] = tmux.wait("the audit screen", lambda s: "Audit log" in s)
            tmux.keys("5")
            shots["5-health"] = tmux.wait("the health screen", lambda s: "Health checks ·" in s)
            tmux.keys("4")
            shots["4-keys"] = tmux.wait("the keys screen", lambda s: "R rotate" in s)
            tmux.keys("R")
            tmux.wait("the wizard's scope step", lambda s: "▶ all models" in s)
            tmux.keys("Enter")
            tmux.wait("the wizard's plan", lambda s: "row(s) to write" in s)
            tmux.keys("Enter")
            tmux.wait("the confirmation", lambda s: "Type `all` to start" in s)
            tmux.text("all")
            tmux.keys("Enter")
            shots["rotation"] = tmux.wait("the rotation part-way", rotation_part_way)
        finally:
            tmux.kill()

    titles = {
        "1-overview": "Timber console: 1 Overview",
        "2-data": "Timber console: 2 Data",
        "3-audit": "Timber console: 3 Audit",
        "4-keys": "Timber console: 4 Keys & Rotation",
        "5-health": "Timber console: 5 Health",
        "rotation": "Timber console: a key rotation in progress",
    }
    for name, ansi in shots.items():
        if any(k in ansi for k in keys):
            sys.exit("screenshots: a key of the demo's .env is on the %s screen; nothing written" % name)
    for name, ansi in shots.items():
        path = os.path.join(args.out, name + ".svg")
        with open(path, "w", encoding="utf-8") as f:
            f.write(svg(ansi, titles[name]))
        print(path)


if __name__ == "__main__":
    main()
