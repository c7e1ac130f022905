#!/bin/sh
# Screenshots of every wizard step of the real app, under Xvfb, into assets/screenshots/ (and of
# "Did it land?": verify.png, fix.png, and fix-import.png, the Import confirmation of a correction).
#
# Needs: xvfb xauth libxkbcommon-x11-0 mesa-vulkan-drivers imagemagick xdotool (apt).
# The app walks itself to each step (MIXPORT_DEMO_STEP) on assets/sample-events.csv; the
# Import and Review steps talk to the fake Mixpanel server from tests/common (loopback only),
# started through an ignored test of tests/gui_wizard.rs. import-progress.png shows an import
# mid-way (MIXPORT_DEMO_STEP=import-running on a 50,000-row copy of the sample, against a fake
# server that answers after 3 s). profiles-map.png, profiles-import.png and profiles-review.png
# walk assets/sample-customers.csv as user profiles (the demo connection keeps the fake's project
# token). `tests/screenshots.sh profiles` takes only those three.
set -eu
ONLY=${1:-all}
cd "$(dirname "$0")/.."
OUT=assets/screenshots
mkdir -p "$OUT"
WORK=$(mktemp -d)
export XDG_RUNTIME_DIR="$WORK/xdg"; mkdir -p "$XDG_RUNTIME_DIR"; chmod 700 "$XDG_RUNTIME_DIR"

cargo build --quiet
cargo test --quiet --test gui_wizard --no-run

# The fake Mixpanel server: prints FAKE_MIXPANEL_URL=... and serves until the stop file appears.
MIXPORT_FAKE_STOP="$WORK/stop" cargo test --quiet --test gui_wizard -- --ignored --exact \
    serve_fake_mixpanel_for_screenshots --nocapture >"$WORK/server.log" 2>&1 &
SERVER=$!
i=0
until grep -q '^FAKE_MIXPANEL_URL=' "$WORK/server.log" 2>/dev/null; do
    i=$((i + 1)); [ "$i" -gt 600 ] && { echo "fake server did not start"; cat "$WORK/server.log"; exit 1; }
    sleep 0.1
done
URL=$(sed -n 's/^FAKE_MIXPANEL_URL=//p' "$WORK/server.log" | head -1)
USER_NAME=$(sed -n 's/^FAKE_MIXPANEL_USER=//p' "$WORK/server.log" | head -1)
SECRET=$(sed -n 's/^FAKE_MIXPANEL_SECRET=//p' "$WORK/server.log" | head -1)
PROJECT=$(sed -n 's/^FAKE_MIXPANEL_PROJECT=//p' "$WORK/server.log" | head -1)
TOKEN=$(sed -n 's/^FAKE_MIXPANEL_TOKEN=//p' "$WORK/server.log" | head -1)
echo "fake Mixpanel at $URL"

# A throwaway Secret Service (gnome-keyring in its own D-Bus session), when installed, so the
# app shows its normal keychain state instead of "no keychain".
export XDG_DATA_HOME="$WORK/data"; mkdir -p "$XDG_DATA_HOME"
WRAP=""
KEYRING=":"
if command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null; then
    WRAP="dbus-run-session --"
    KEYRING="echo -n screenshots | gnome-keyring-daemon --unlock --components=secrets >/dev/null"
fi

# shot NAME STEP [FILE]: the app walked to STEP (on FILE, default the events sample) as NAME.png.
shot() {
    name=$1 step=$2 file=${3:-}
    # fix-import walks the wizard twice (the import, then the correction's check).
    shot_wait=${MIXPORT_SHOT_WAIT:-7}; [ "$step" = fix-import ] && shot_wait=$((shot_wait + 6))
    MIXPORT_DEMO_STEP=$step MIXPORT_DEMO_FILE=$file MIXPORT_API_BASE=$URL \
    MIXPORT_CONFIG_DIR="$WORK/config-$name" MIXPORT_DATA_DIR="$WORK/data-$name" \
    MIXPORT_DEMO_USER=$USER_NAME MIXPORT_DEMO_SECRET=$SECRET MIXPORT_DEMO_PROJECT=$PROJECT \
    MIXPORT_DEMO_TOKEN=$TOKEN \
    xvfb-run -a -s "-screen 0 1024x700x24 -nolisten tcp" $WRAP sh -c "
        $KEYRING
        ./target/debug/mixport & APP=\$!
        sleep $shot_wait
        import -window root '$WORK/$name.png'
        kill \$APP" >"$WORK/app-$name.log" 2>&1 || { cat "$WORK/app-$name.log"; exit 1; }
    # Fewer colours keep each PNG well under 300 KB.
    convert "$WORK/$name.png" -strip -colors 128 "PNG8:$OUT/$name.png"
    echo "$OUT/$name.png: $(wc -c <"$OUT/$name.png") bytes"
}

if [ "$ONLY" != profiles ]; then
    for step in file map check connect import review verify fix fix-import; do
        shot "$step" "$step"
    done
fi
for step in map import review; do
    shot "profiles-$step" "$step" "$PWD/assets/sample-customers.csv"
done

touch "$WORK/stop"
wait "$SERVER" || true
if [ "$ONLY" = profiles ]; then
    rm -rf "$WORK"
    exit 0
fi

# The import while it runs: a slow fake server (every answer waits 3 s) and the sample's rows
# repeated to 50,000, so the progress bar, speed, time left and counters are photographed
# mid-way. The photo is taken once the journal holds a few acknowledged batches.
rm -f "$WORK/stop" "$WORK/server.log"
MIXPORT_FAKE_LATENCY_MS=3000 MIXPORT_FAKE_STOP="$WORK/stop" cargo test --quiet --test gui_wizard \
    -- --ignored --exact serve_fake_mixpanel_for_screenshots --nocapture >"$WORK/server.log" 2>&1 &
SERVER=$!
i=0
until grep -q '^FAKE_MIXPANEL_URL=' "$WORK/server.log" 2>/dev/null; do
    i=$((i + 1)); [ "$i" -gt 600 ] && { echo "fake server did not start"; cat "$WORK/server.log"; exit 1; }
    sleep 0.1
done
URL=$(sed -n 's/^FAKE_MIXPANEL_URL=//p' "$WORK/server.log" | head -1)
BIG="$WORK/sample-events-50k.csv"
head -1 assets/sample-events.csv >"$BIG"
for _ in $(seq 100); do tail -n +2 assets/sample-events.csv >>"$BIG"; done
step=import-progress
MIXPORT_DEMO_STEP=import-running MIXPORT_DEMO_FILE="$BIG" MIXPORT_API_BASE=$URL \
MIXPORT_CONFIG_DIR="$WORK/config-$step" MIXPORT_DATA_DIR="$WORK/data-$step" \
MIXPORT_DEMO_USER=$USER_NAME MIXPORT_DEMO_SECRET=$SECRET MIXPORT_DEMO_PROJECT=$PROJECT \
xvfb-run -a -s "-screen 0 1024x700x24 -nolisten tcp" $WRAP sh -c "
    $KEYRING
    ./target/debug/mixport & APP=\$!
    i=0
    # Journal: a header line, then one line per acknowledged batch.
    until [ \$(cat '$WORK/data-$step'/journals/*.journal 2>/dev/null | wc -l) -ge 4 ]; do
        i=\$((i + 1)); [ \$i -gt 1200 ] && { echo 'the import did not start'; kill \$APP; exit 1; }
        sleep 0.1
    done
    sleep 1
    import -window root '$WORK/$step.png'
    kill \$APP" >"$WORK/app-$step.log" 2>&1 || { cat "$WORK/app-$step.log"; exit 1; }
convert "$WORK/$step.png" -strip -colors 128 "PNG8:$OUT/$step.png"
echo "$OUT/$step.png: $(wc -c <"$OUT/$step.png") bytes"

touch "$WORK/stop"
wait "$SERVER" || true
rm -rf "$WORK"
