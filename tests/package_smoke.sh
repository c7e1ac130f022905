#!/usr/bin/env bash
# Installs the .deb that tests/package.sh built and tries it the way a user would, then removes it:
#   - `apt-get install ./mixport_VERSION_amd64.deb` (as root; sudo otherwise)
#   - desktop-file-validate on the installed desktop entry
#   - `mixport --version` and `mixport check` on the installed sample file
#   - the app started under Xvfb exactly as the desktop entry's Exec line says, on a file whose
#     name has a space, until its window is there; every shared library the running app has loaded
#     must come from a package that the .deb's Depends pull in
#   - the app started with its sample data must read the installed copy under /usr/share/mixport
#   - `apt-get purge`, after which none of the package's files is left
#   - the tarball beside it holds the files the README's steps install, and its binary runs
# Needs: xvfb xauth xdotool desktop-file-utils strace procps (installed here when missing).
#
#   tests/package_smoke.sh [target/package/mixport_VERSION_amd64.deb]
set -euo pipefail

cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

deb=${1:-$(ls target/package/mixport_*_amd64.deb 2>/dev/null | head -1)}
[ -f "$deb" ] || { echo "package_smoke: no .deb (run tests/package.sh first)" >&2; exit 2; }
deb=$(realpath "$deb")
version=$(dpkg-deb --field "$deb" Version)

fail() {
    echo "package_smoke: FAILED: $*" >&2
    exit 1
}
step() {
    printf -- '--- %s\n' "$*"
}

tools=()
for tool in xvfb-run:xvfb xauth:xauth xdotool:xdotool desktop-file-validate:desktop-file-utils strace:strace pgrep:procps; do
    command -v "${tool%%:*}" >/dev/null || tools+=("${tool#*:}")
done
if [ ${#tools[@]} -gt 0 ]; then
    step "installing the test tools: ${tools[*]}"
    $SUDO apt-get install -y -qq --no-install-recommends "${tools[@]}"
fi

work=$(mktemp -d)
installed_here=0
cleanup() {
    # A failed run still removes what it installed, so the next run starts clean.
    if [ "$installed_here" -eq 1 ] && dpkg-query -W -f '${Status}' mixport 2>/dev/null | grep -q ' installed'; then
        echo "package_smoke: purging mixport after the failure" >&2
        $SUDO apt-get purge -y -qq mixport >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

if dpkg-query -W -f '${Status}' mixport 2>/dev/null | grep -q 'install ok installed'; then
    fail "mixport is already installed: this test installs and purges it, so it refuses to touch an existing install"
fi

step "apt-get install $deb"
installed_here=1
$SUDO apt-get install -y -qq "$deb"
dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./|/|; s|/$||' | grep -v '^/\?$' > "$work/files"

step "installed files"
for f in /usr/bin/mixport /usr/share/applications/mixport.desktop \
    /usr/share/icons/hicolor/256x256/apps/mixport.png /usr/share/mixport/sample-events.csv \
    /usr/share/mime/packages/mixport.xml /usr/share/doc/mixport/copyright; do
    [ -f "$f" ] || fail "$f is missing"
done
[ "$(command -v mixport)" = /usr/bin/mixport ] || fail "mixport on PATH is $(command -v mixport), not /usr/bin/mixport"
# The shared-mime-info trigger ran: .ndjson/.jsonl now have a type that the desktop entry names.
[ -f /usr/share/mime/application/x-ndjson.xml ] || fail "application/x-ndjson is not in the MIME database"

step "desktop-file-validate"
desktop-file-validate /usr/share/applications/mixport.desktop
exec_line=$(sed -n 's/^Exec=//p' /usr/share/applications/mixport.desktop)
[ "$exec_line" = "mixport %f" ] || fail "Exec is '$exec_line', expected 'mixport %f'"

step "mixport --version"
printed=$(mixport --version)
echo "$printed"
[ "$printed" = "mixport $version" ] || fail "mixport --version printed '$printed', expected 'mixport $version'"

step "mixport check on the installed sample"
# The sample has 5 rows that Mixpanel would reject, so check exits 1 ("some rows rejected").
set +e
mixport check /usr/share/mixport/sample-events.csv --json > "$work/check.json"
code=$?
set -e
[ "$code" -eq 1 ] || fail "mixport check exited $code, expected 1"
grep -q '"rows": *500' "$work/check.json" || fail "check did not report 500 rows: $(head -c 300 "$work/check.json")"
grep -q '"invalid": *5[,}]' "$work/check.json" || fail "check did not report 5 invalid rows"
echo "rows 500, invalid 5, exit 1"

# A private runtime folder, config and data folders: nothing of a real user's is touched.
export XDG_RUNTIME_DIR="$work/runtime" MIXPORT_CONFIG_DIR="$work/config" MIXPORT_DATA_DIR="$work/data"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

# Run a command under a fresh Xvfb, wait until a window whose name matches the regex $1 appears
# (at most 60 s), save the app's memory map, and stop the app. Prints the window's title.
run_until_window() {
    local pattern=$1
    shift
    xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" bash -c '
        pattern=$1; maps=$2; shift 2
        "$@" > "$(dirname "$maps")/app.log" 2>&1 &
        pid=$!
        for _ in $(seq 1 120); do
            win=$(xdotool search --name "$pattern" 2>/dev/null | head -1 || true)
            [ -n "$win" ] && break
            kill -0 "$pid" 2>/dev/null || { echo "the app exited before its window appeared" >&2; exit 1; }
            sleep 0.5
        done
        [ -n "$win" ] || { echo "no window named /$pattern/ after 60 s" >&2; kill "$pid"; exit 1; }
        sleep 1  # let it draw a few frames and finish loading its libraries
        # The app itself: under strace, the child of strace.
        app=$(pgrep -P "$pid" -x mixport || echo "$pid")
        cat "/proc/$app/maps" > "$maps"
        xdotool getwindowname "$win"
        kill "$app"; wait "$pid" 2>/dev/null || true
    ' run_until_window "$pattern" "$work/maps" "$@" || { cat "$work/app.log" >&2; return 1; }
}

step "the app, started as the desktop entry says, on a file"
mkdir -p "$work/My files"
file="$work/My files/smoke events.csv"
cp /usr/share/mixport/sample-events.csv "$file"
read -r -a exec_words <<< "$exec_line"
command=()
for word in "${exec_words[@]}"; do
    if [ "$word" = "%f" ]; then command+=("$file"); else command+=("$word"); fi
done
# xdotool matches names against WM_NAME, a Latin-1 property that cannot hold the title's dash:
# find the window by the file name, then compare its UTF-8 title (_NET_WM_NAME) exactly.
title=$(run_until_window "^smoke events\.csv" "${command[@]}") || fail "the app's window did not appear"
echo "window: $title"
[ "$title" = "smoke events.csv — Mixport" ] || fail "the window is titled '$title', expected 'smoke events.csv — Mixport'"

step "every library the app loaded comes from the package's dependencies"
# The libraries as files, mapped to their packages (dpkg knows some by their /lib path).
grep -oE '/[^ ]+\.so[^ ]*$' "$work/maps" | sort -u > "$work/libs"
: > "$work/lib-packages"
while read -r lib; do
    owner=$(dpkg -S "$lib" 2>/dev/null || dpkg -S "${lib/#\/usr\/lib\//\/lib\/}" 2>/dev/null || true)
    [ -n "$owner" ] || fail "$lib (loaded by the app) belongs to no package"
    echo "${owner%%:*} $lib" >> "$work/lib-packages"
done < "$work/libs"
# Everything the Depends line pulls in, recursively (every alternative counts).
apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances mixport \
    | sed -n 's/^ *|\{0,1\}\(Pre\)\{0,1\}Depends: <\{0,1\}\([^>:]*\).*/\2/p; s/^\([^ ].*\)$/\1/p' \
    | sed 's/:.*//' | sort -u > "$work/closure"
missing=$(awk '{print $1}' "$work/lib-packages" | sort -u | comm -23 - "$work/closure")
if [ -n "$missing" ]; then
    grep -F -f <(echo "$missing") "$work/lib-packages" >&2 || true
    fail "the app loaded libraries of packages that mixport's Depends do not pull in: $(echo $missing)"
fi
echo "$(wc -l < "$work/libs") libraries from $(awk '{print $1}' "$work/lib-packages" | sort -u | wc -l) packages, all within Depends"

step "the app's sample data is the installed copy"
# MIXPORT_DEMO_STEP=file opens the sample that "Try with sample data" offers, as a click would.
MIXPORT_DEMO_STEP=file run_until_window "Mixport" \
    strace -f -qq -e trace=openat -o "$work/strace" /usr/bin/mixport > /dev/null \
    || fail "the app's window did not appear"
grep -E 'openat\(.*"/usr/share/mixport/sample-events.csv".* = [0-9]+$' "$work/strace" >/dev/null \
    || fail "the app did not open /usr/share/mixport/sample-events.csv: $(grep -m3 sample-events "$work/strace")"
echo "opened /usr/share/mixport/sample-events.csv"

step "apt-get purge mixport"
$SUDO apt-get purge -y -qq mixport
if dpkg-query -W -f '${Status}' mixport 2>/dev/null | grep -q installed; then
    fail "mixport is still known to dpkg: $(dpkg-query -W -f '${Status}' mixport)"
fi
left=""
while read -r path; do
    case "$path" in
        /usr | /usr/bin | /usr/share | /usr/share/applications | /usr/share/doc | /usr/share/icons | \
            /usr/share/icons/hicolor | /usr/share/icons/hicolor/256x256 | \
            /usr/share/icons/hicolor/256x256/apps | /usr/share/mime | /usr/share/mime/packages) ;;
        *) [ -e "$path" ] && left="$left $path" ;;
    esac
done < "$work/files"
[ -z "$left" ] || fail "left behind after purge:$left"
[ ! -e /usr/share/mime/application/x-ndjson.xml ] || fail "application/x-ndjson is still in the MIME database"
hash -r
if command -v mixport >/dev/null; then fail "mixport is still on PATH: $(command -v mixport)"; fi
# The tarball beside the .deb: the files the README's install steps name, and a binary that runs.
tarball="$(dirname "$deb")/mixport-v${version}-x86_64-linux.tar.gz"
if [ -f "$tarball" ]; then
    step "the tarball $(basename "$tarball")"
    tar -C "$work" -xzf "$tarball"
    unpacked="$work/mixport-v${version}-x86_64-linux"
    for f in mixport mixport.desktop mixport.png mixport-mime.xml sample-events.csv README.md LICENSE; do
        [ -f "$unpacked/$f" ] || fail "the tarball has no $f"
    done
    printed=$("$unpacked/mixport" --version)
    [ "$printed" = "mixport $version" ] || fail "the tarball's mixport --version printed '$printed'"
    echo "$printed, all files there"
fi
echo "package smoke test passed: mixport $version installed, ran and was purged"
